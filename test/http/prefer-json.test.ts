import { afterEach, describe, expect, it } from 'vitest';
import { preferJson } from '../../src/http/prefer-json.js';
import type { Tool } from '../../src/tools/types.js';
import { sseMessages } from '../support/http.js';
import { mcpCallTool, openMcpSession, startHttpRuntime, type HttpRuntime } from '../support/http-runtime.js';
import { deferred, testTool } from '../support/tools.js';

// Streamable HTTP lets the server answer a request POST with JSON or with an SSE stream. Nexus
// answers with plain JSON when the result is ready without anything streamed before it, and
// keeps the SSE stream whenever the call streams (log, progress, server requests) or runs long.

let server: HttpRuntime | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** Tools that stream before answering, or answer only when the test resolves `release`. */
function streamingTools(release: Promise<void>): Tool[] {
  return [
    testTool('test.logs', async (ctx) => {
      await ctx.log('info', 'working');
      return { text: 'logged' };
    }),
    testTool('test.held', async () => {
      await release;
      return { text: 'released' };
    }),
  ];
}

describe('Streamable HTTP: plain JSON where no streaming is needed', () => {
  it('answers initialize and a quick tool call with application/json', async () => {
    server = await startHttpRuntime();
    const { sessionId, initialize } = await openMcpSession(server.url);
    expect(initialize.headers.get('content-type')).toBe('application/json');
    expect(((await initialize.json()) as { result: { serverInfo: { name: string } } }).result.serverInfo.name).toBe('nexus');

    const call = await mcpCallTool(server.url, sessionId, 1, 'echo', { text: 'plain' });
    expect(call.headers.get('content-type')).toBe('application/json');
    expect(call.headers.get('mcp-session-id')).toBe(sessionId);
    const message = (await call.json()) as { id: number; result: { content: unknown } };
    expect(message.id).toBe(1);
    expect(message.result.content).toEqual([{ type: 'text', text: 'plain' }]);
  });

  it('streams when the call sends a message before its result', async () => {
    server = await startHttpRuntime({}, streamingTools(deferred().promise));
    const { sessionId } = await openMcpSession(server.url);
    const call = await mcpCallTool(server.url, sessionId, 2, 'test.logs');
    expect(call.headers.get('content-type')).toBe('text/event-stream');
    const messages = sseMessages(await call.text());
    expect(messages.map((message) => message['method'] ?? message['id'])).toEqual(['notifications/message', 2]);
  });

  it('commits to SSE with the priming event when the answer takes longer than the hold', async () => {
    const release = deferred();
    server = await startHttpRuntime({}, streamingTools(release.promise));
    const { sessionId } = await openMcpSession(server.url);
    // Headers arrive while the tool is still blocked: the server stopped waiting and started the stream.
    const call = await mcpCallTool(server.url, sessionId, 3, 'test.held');
    expect(call.headers.get('content-type')).toBe('text/event-stream');
    release.resolve();
    const body = await call.text();
    expect(body.startsWith('id: ')).toBe(true);
    expect(sseMessages(body).map((message) => message['id'])).toEqual([3]);
  });

  it('always streams with http.json_response false', async () => {
    server = await startHttpRuntime({ http: { json_response: false } });
    const { sessionId, initialize } = await openMcpSession(server.url);
    expect(initialize.headers.get('content-type')).toBe('text/event-stream');
    const call = await mcpCallTool(server.url, sessionId, 4, 'echo', { text: 'streamed' });
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
