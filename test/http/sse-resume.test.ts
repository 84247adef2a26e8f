import { afterEach, describe, expect, it } from 'vitest';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { parseConfig } from '../../src/config/index.js';
import { startHttpServer, type HttpServerHandle } from '../../src/http/server.js';
import { createSilentLogger } from '../../src/logging/index.js';
import { createRuntime, type Runtime } from '../../src/runtime/runtime.js';
import type { Tool } from '../../src/tools/types.js';
import { parseSse } from '../support/http.js';
import { tempDir } from '../support/runtime.js';

// SEP-1699 (SSE polling): a tool may close its POST response stream mid-call; the stream must
// have started with a priming event (id + retry) so the client can come back with Last-Event-ID
// and receive the result that was produced while it was away.

const PROTOCOL = '2025-11-25';
const RETRY_MS = 40;

interface Harness {
  runtime: Runtime;
  http: HttpServerHandle;
  release(): void;
  close(): Promise<void>;
}

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

/** A runtime with a tool that closes its stream, then finishes once the test releases it. */
async function start(options: { waitForRelease: boolean }): Promise<Harness> {
  const temp = tempDir();
  const runtime = await createRuntime(parseConfig({ data_dir: temp.dir, http: { sse_retry_ms: RETRY_MS } }), { logger: createSilentLogger() });
  let release!: () => void;
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  const pollingTool: Tool = {
    name: 'poll_me',
    title: 'Poll me',
    description: 'Closes its response stream, then returns',
    inputSchema: { type: 'object', properties: {}, additionalProperties: false },
    annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    async execute(_input, ctx) {
      ctx.client.closeStream?.();
      if (options.waitForRelease) await released;
      return { text: 'finished after the stream closed' };
    },
  };
  runtime.tools.register(pollingTool);
  const http = await startHttpServer(runtime, { host: '127.0.0.1', port: 0 });
  return {
    runtime,
    http,
    release,
    async close() {
      release();
      await http.close();
      await runtime.close();
      temp.remove();
    },
  };
}

function headers(sessionId?: string): Record<string, string> {
  return {
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
    'mcp-protocol-version': PROTOCOL,
    ...(sessionId === undefined ? {} : { 'mcp-session-id': sessionId }),
  };
}

async function openSession(url: string): Promise<string> {
  const response = await fetch(url, {
    method: 'POST',
    headers: headers(),
    body: JSON.stringify({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: PROTOCOL, capabilities: {}, clientInfo: { name: 'sse-test', version: '1' } } }),
  });
  const sessionId = response.headers.get('mcp-session-id');
  await response.text();
  expect(sessionId).toBeTruthy();
  const initialized = await fetch(url, { method: 'POST', headers: headers(sessionId ?? ''), body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }) });
  expect(initialized.status).toBe(202);
  return sessionId ?? '';
}

/** Reads an SSE body until an event carries the JSON-RPC response with `id`. */
async function readUntilResponse(response: Response, id: number): Promise<unknown> {
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`stream ended without the response to ${id}: ${buffer}`);
      buffer += value;
      for (const event of parseSse(buffer)) {
        if (event.data === '') continue;
        const message = JSON.parse(event.data) as { id?: number; result?: unknown };
        if (message.id === id) return message.result;
      }
    }
  } finally {
    await reader.cancel();
  }
}

describe('SSE polling and resumption (SEP-1699)', () => {
  it('primes the POST stream with an id and retry, closes it mid-call and replays the result after Last-Event-ID', async () => {
    harness = await start({ waitForRelease: true });
    const url = `${harness.http.url}/mcp`;
    const sessionId = await openSession(url);

    const call = await fetch(url, { method: 'POST', headers: headers(sessionId), body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'poll_me', arguments: {} } }) });
    expect(call.headers.get('content-type')).toContain('text/event-stream');
    // The tool closed the stream before producing its result: the body ends after the priming event.
    const events = parseSse(await call.text());
    expect(events).toHaveLength(1);
    const [priming] = events;
    expect(priming?.id).toBeTruthy();
    expect(priming?.retry).toBe(String(RETRY_MS));
    expect(priming?.data).toBe('');

    harness.release();
    const resumed = await fetch(url, { method: 'GET', headers: { ...headers(sessionId), accept: 'text/event-stream', 'last-event-id': priming?.id ?? '' } });
    expect(resumed.status).toBe(200);
    const result = (await readUntilResponse(resumed, 1)) as { content: Array<{ type: string; text: string }> };
    expect(result.content).toEqual([{ type: 'text', text: 'finished after the stream closed' }]);
  });

  it('lets the SDK client finish a call whose stream the server closed', async () => {
    harness = await start({ waitForRelease: false });
    // Count the client's resumption requests: the result must come through one of them.
    let resumptions = 0;
    const countingFetch: typeof fetch = (input, init) => {
      if (new Headers(init?.headers).has('last-event-id')) resumptions += 1;
      return fetch(input, init);
    };
    const client = new Client({ name: 'sse-test', version: '1' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${harness.http.url}/mcp`), { fetch: countingFetch }));
    try {
      const result = await client.callTool({ name: 'poll_me', arguments: {} });
      expect(result.content).toEqual([{ type: 'text', text: 'finished after the stream closed' }]);
      expect(resumptions).toBeGreaterThanOrEqual(1);
    } finally {
      await client.close();
    }
  });
});
