import { afterEach, describe, expect, it } from 'vitest';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Tool } from '../../src/tools/types.js';
import { parseSse } from '../support/http.js';
import { MCP_PROTOCOL, mcpCallTool, openMcpSession, startHttpRuntime, type HttpRuntime } from '../support/http-runtime.js';
import { deferred, testTool } from '../support/tools.js';

// SEP-1699 (SSE polling): a tool may close its POST response stream mid-call; the stream must
// have started with a priming event (id + retry) so the client can come back with Last-Event-ID
// and receive the result that was produced while it was away.

const RETRY_MS = 40;

let server: HttpRuntime | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** A tool that closes its stream, then finishes (once `release` resolves, when given). */
function pollingTool(release?: Promise<void>): Tool {
  return testTool('poll_me', async (ctx) => {
    ctx.client.closeStream?.();
    await release;
    return { text: 'finished after the stream closed' };
  });
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
    const release = deferred();
    server = await startHttpRuntime({ http: { sse_retry_ms: RETRY_MS } }, [pollingTool(release.promise)]);
    const { sessionId } = await openMcpSession(server.url);

    const call = await mcpCallTool(server.url, sessionId, 1, 'poll_me');
    expect(call.headers.get('content-type')).toContain('text/event-stream');
    // The tool closed the stream before producing its result: the body ends after the priming event.
    const events = parseSse(await call.text());
    expect(events).toHaveLength(1);
    const [priming] = events;
    expect(priming?.id).toBeTruthy();
    expect(priming?.retry).toBe(String(RETRY_MS));
    expect(priming?.data).toBe('');

    release.resolve();
    const resumed = await fetch(server.url, {
      method: 'GET',
      headers: { accept: 'text/event-stream', 'mcp-protocol-version': MCP_PROTOCOL, 'mcp-session-id': sessionId, 'last-event-id': priming?.id ?? '' },
    });
    expect(resumed.status).toBe(200);
    const result = (await readUntilResponse(resumed, 1)) as { content: Array<{ type: string; text: string }> };
    expect(result.content).toEqual([{ type: 'text', text: 'finished after the stream closed' }]);
  });

  it('lets the SDK client finish a call whose stream the server closed', async () => {
    server = await startHttpRuntime({ http: { sse_retry_ms: RETRY_MS } }, [pollingTool()]);
    // Count the client's resumption requests: the result must come through one of them.
    let resumptions = 0;
    const countingFetch: typeof fetch = (input, init) => {
      if (new Headers(init?.headers).has('last-event-id')) resumptions += 1;
      return fetch(input, init);
    };
    const client = new Client({ name: 'sse-test', version: '1' });
    await client.connect(new StreamableHTTPClientTransport(new URL(server.url), { fetch: countingFetch }));
    try {
      const result = await client.callTool({ name: 'poll_me', arguments: {} });
      expect(result.content).toEqual([{ type: 'text', text: 'finished after the stream closed' }]);
      expect(resumptions).toBeGreaterThanOrEqual(1);
    } finally {
      await client.close();
    }
  });
});
