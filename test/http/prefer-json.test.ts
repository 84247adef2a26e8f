import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig, type NexusConfigInput } from '../../src/config/index.js';
import { preferJson } from '../../src/http/prefer-json.js';
import { startHttpServer, type HttpServerHandle } from '../../src/http/server.js';
import { createSilentLogger } from '../../src/logging/index.js';
import { createRuntime, type Runtime } from '../../src/runtime/runtime.js';
import type { Tool } from '../../src/tools/types.js';
import { sseMessages } from '../support/http.js';
import { tempDir } from '../support/runtime.js';

// Streamable HTTP lets the server answer a request POST with JSON or with an SSE stream. Nexus
// answers with plain JSON when the result is ready without anything streamed before it, and
// keeps the SSE stream whenever the call streams (log, progress, server requests) or runs long.

const PROTOCOL = '2025-11-25';
const ANNOTATIONS = { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false };
const NO_ARGS = { type: 'object', properties: {}, additionalProperties: false } as const;

interface Harness {
  runtime: Runtime;
  http: HttpServerHandle;
  url: string;
  release(): void;
  close(): Promise<void>;
}

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

async function start(config: NexusConfigInput = {}): Promise<Harness> {
  const temp = tempDir();
  const runtime = await createRuntime(parseConfig({ data_dir: temp.dir, ...config }), { logger: createSilentLogger() });
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  const tools: Tool[] = [
    {
      name: 'test.logs',
      title: 'Logs',
      description: 'Sends a log message, then answers',
      inputSchema: NO_ARGS,
      annotations: ANNOTATIONS,
      async execute(_input, ctx) {
        await ctx.log('info', 'working');
        return { text: 'logged' };
      },
    },
    {
      name: 'test.held',
      title: 'Held',
      description: 'Answers once the test releases it',
      inputSchema: NO_ARGS,
      annotations: ANNOTATIONS,
      async execute() {
        await released;
        return { text: 'released' };
      },
    },
  ];
  for (const tool of tools) runtime.tools.register(tool);
  const http = await startHttpServer(runtime, { host: '127.0.0.1', port: 0 });
  return {
    runtime,
    http,
    url: `${http.url}/mcp`,
    release,
    async close() {
      release();
      await http.close();
      await runtime.close();
      temp.remove();
    },
  };
}

function post(url: string, body: unknown, sessionId?: string): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-protocol-version': PROTOCOL,
      ...(sessionId === undefined ? {} : { 'mcp-session-id': sessionId }),
    },
    body: JSON.stringify(body),
  });
}

async function openSession(url: string): Promise<{ sessionId: string; initialize: Response }> {
  const initialize = await post(url, { jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: PROTOCOL, capabilities: {}, clientInfo: { name: 'json-test', version: '1' } } });
  const sessionId = initialize.headers.get('mcp-session-id') ?? '';
  expect(sessionId).not.toBe('');
  expect((await post(url, { jsonrpc: '2.0', method: 'notifications/initialized' }, sessionId)).status).toBe(202);
  return { sessionId, initialize };
}

function callTool(url: string, sessionId: string, id: number, name: string, args: Record<string, unknown> = {}): Promise<Response> {
  return post(url, { jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args } }, sessionId);
}

describe('Streamable HTTP: plain JSON where no streaming is needed', () => {
  it('answers initialize and a quick tool call with application/json', async () => {
    harness = await start();
    const { sessionId, initialize } = await openSession(harness.url);
    expect(initialize.headers.get('content-type')).toBe('application/json');
    expect(((await initialize.json()) as { result: { serverInfo: { name: string } } }).result.serverInfo.name).toBe('nexus');

    const call = await callTool(harness.url, sessionId, 1, 'echo', { text: 'plain' });
    expect(call.headers.get('content-type')).toBe('application/json');
    expect(call.headers.get('mcp-session-id')).toBe(sessionId);
    const message = (await call.json()) as { id: number; result: { content: unknown } };
    expect(message.id).toBe(1);
    expect(message.result.content).toEqual([{ type: 'text', text: 'plain' }]);
  });

  it('streams when the call sends a message before its result', async () => {
    harness = await start();
    const { sessionId } = await openSession(harness.url);
    const call = await callTool(harness.url, sessionId, 2, 'test.logs');
    expect(call.headers.get('content-type')).toBe('text/event-stream');
    const messages = sseMessages(await call.text());
    expect(messages.map((message) => message['method'] ?? message['id'])).toEqual(['notifications/message', 2]);
  });

  it('commits to SSE with the priming event when the answer takes longer than the hold', async () => {
    harness = await start();
    const { sessionId } = await openSession(harness.url);
    // Headers arrive while the tool is still blocked: the server stopped waiting and started the stream.
    const call = await callTool(harness.url, sessionId, 3, 'test.held');
    expect(call.headers.get('content-type')).toBe('text/event-stream');
    harness.release();
    const body = await call.text();
    expect(body.startsWith('id: ')).toBe(true);
    expect(sseMessages(body).map((message) => message['id'])).toEqual([3]);
  });

  it('always streams with http.json_response false', async () => {
    harness = await start({ http: { json_response: false } });
    const { sessionId, initialize } = await openSession(harness.url);
    expect(initialize.headers.get('content-type')).toBe('text/event-stream');
    const call = await callTool(harness.url, sessionId, 4, 'echo', { text: 'streamed' });
    expect(call.headers.get('content-type')).toBe('text/event-stream');
    expect(sseMessages(await call.text()).map((message) => message['id'])).toEqual([4]);
  });
});

describe('preferJson on a transport stream', () => {
  const encoder = new TextEncoder();

  function sseResponse(chunks: string[]): Response {
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        for (const chunk of chunks) controller.enqueue(encoder.encode(chunk));
        controller.close();
      },
    });
    return new Response(body, { status: 200, headers: { 'content-type': 'text/event-stream', 'mcp-session-id': 's1' } });
  }

  it('finds the response when events are split across chunks', async () => {
    const response = await preferJson(sseResponse(['id: p\nretry: 5\ndata: \n\n', 'event: message\nid: 2\nda', 'ta: {"jsonrpc":"2.0","id":7,"result":{"ok":true}}\n\n']), { requestId: 7, holdMs: 1000 });
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(response.headers.get('mcp-session-id')).toBe('s1');
    expect(await response.json()).toEqual({ jsonrpc: '2.0', id: 7, result: { ok: true } });
  });

  it('passes the stream on byte for byte when a notification comes first', async () => {
    const chunks = ['id: p\ndata: \n\n', 'event: message\ndata: {"jsonrpc":"2.0","method":"notifications/progress","params":{}}\n\n', 'event: message\ndata: {"jsonrpc":"2.0","id":7,"result":{}}\n\n'];
    const response = await preferJson(sseResponse(chunks), { requestId: 7, holdMs: 1000 });
    expect(response.headers.get('content-type')).toBe('text/event-stream');
    expect(await response.text()).toBe(chunks.join(''));
  });

  it("does not take another request's response for its own", async () => {
    const chunks = ['event: message\ndata: {"jsonrpc":"2.0","id":8,"result":{}}\n\n'];
    const response = await preferJson(sseResponse(chunks), { requestId: 7, holdMs: 1000 });
    expect(response.headers.get('content-type')).toBe('text/event-stream');
    expect(await response.text()).toBe(chunks.join(''));
  });
});
