import { createHash, randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { LATEST_PROTOCOL_VERSION, type Progress } from '@modelcontextprotocol/sdk/types.js';
import { parseConfig, type NexusConfigInput } from '../../src/config/index.js';
import { startHttpServer, type HttpServerHandle } from '../../src/http/server.js';
import { createSilentLogger } from '../../src/logging/index.js';
import { createRuntime, type Runtime } from '../../src/runtime/runtime.js';
import type { ToolCallRecord } from '../../src/tools/executor.js';
import { exitOf, runCli, spawnCli, StderrLines } from '../support/cli.js';
import { rawRequest, responseMessages, type RawResponse } from '../support/http.js';
import { tempDir } from '../support/runtime.js';
import { deferred, testTool } from '../support/tools.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface HttpHarness {
  runtime: Runtime;
  handle: HttpServerHandle;
  url: string;
}

/** A real runtime behind a real HTTP listener on 127.0.0.1, port 0. */
async function startHttp(config: NexusConfigInput = {}): Promise<HttpHarness> {
  const temp = tempDir('nexus-http-');
  const runtime = await createRuntime(parseConfig({ data_dir: temp.dir, ...config }), { logger: createSilentLogger() });
  const handle = await startHttpServer(runtime, { host: '127.0.0.1', port: 0 });
  cleanups.push(async () => {
    await handle.close();
    await runtime.close();
    temp.remove();
  });
  return { runtime, handle, url: handle.url };
}

async function connect(url: string, options: { headers?: Record<string, string>; fetch?: typeof fetch } = {}): Promise<Client> {
  const client = new Client({ name: 'e2e-http', version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(new URL(`${url}/mcp`), {
    requestInit: { headers: options.headers ?? {} },
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });
  await client.connect(transport);
  cleanups.push(() => client.close());
  return client;
}

const MCP_HEADERS = { 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream' };
const INITIALIZE = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: LATEST_PROTOCOL_VERSION, capabilities: {}, clientInfo: { name: 'raw', version: '1' } } };

function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<RawResponse> {
  return rawRequest(`${url}/mcp`, { method: 'POST', headers: { ...MCP_HEADERS, ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });
}

/** Opens a session with raw HTTP; returns its id. */
async function rawSession(url: string, headers: Record<string, string> = {}): Promise<string> {
  const response = await post(url, INITIALIZE, headers);
  expect(response.status).toBe(200);
  const sessionId = response.headers['mcp-session-id'];
  if (typeof sessionId !== 'string') throw new Error('no session id');
  const initialized = await post(url, { jsonrpc: '2.0', method: 'notifications/initialized' }, { ...headers, 'Mcp-Session-Id': sessionId, 'MCP-Protocol-Version': LATEST_PROTOCOL_VERSION });
  expect(initialized.status).toBe(202);
  return sessionId;
}

function listToolsIn(url: string, sessionId: string, headers: Record<string, string> = {}): Promise<RawResponse> {
  return post(url, { jsonrpc: '2.0', id: 2, method: 'tools/list' }, { ...headers, 'Mcp-Session-Id': sessionId, 'MCP-Protocol-Version': LATEST_PROTOCOL_VERSION });
}

function errorCode(response: RawResponse): unknown {
  return (response.json() as { error?: { code?: unknown } }).error?.code;
}

async function expectServing(url: string): Promise<void> {
  const client = await connect(url);
  expect((await client.callTool({ name: 'echo', arguments: { text: 'ok' } })).structuredContent).toEqual({ text: 'ok' });
}

describe('Streamable HTTP with the SDK client', () => {
  it('lists tools and calls echo', async () => {
    const { url } = await startHttp();
    const client = await connect(url);
    expect((await client.listTools()).tools.map((tool) => tool.name)).toContain('echo');
    const result = await client.callTool({ name: 'echo', arguments: { text: 'over http' } });
    expect(result.structuredContent).toEqual({ text: 'over http' });
  });

  it('streams progress over SSE in order', async () => {
    const { url, runtime } = await startHttp();
    runtime.tools.register(
      testTool('test.progress', async (context) => {
        for (const progress of [1, 2, 3]) await context.progress({ progress, total: 3 });
        return { data: { done: true } };
      }),
    );
    const client = await connect(url);
    const seen: Progress[] = [];
    const result = await client.callTool({ name: 'test.progress', arguments: {} }, undefined, { onprogress: (progress) => seen.push(progress) });
    expect(result.structuredContent).toEqual({ done: true });
    expect(seen.map((progress) => progress.progress)).toEqual([1, 2, 3]);
  });

  it('cancellation over HTTP aborts the running tool', async () => {
    const { url, runtime } = await startHttp();
    const started = deferred();
    const observed = deferred();
    const finished = deferred<ToolCallRecord>();
    runtime.executor.addHook({ after: (record) => finished.resolve(record) });
    runtime.tools.register(
      testTool('test.wait_for_abort', (context) => {
        started.resolve();
        return new Promise((_resolve, reject) => {
          context.signal.addEventListener('abort', () => {
            observed.resolve();
            reject(new Error('aborted'));
          });
        });
      }),
    );
    const client = await connect(url);
    const controller = new AbortController();
    const call = client.callTool({ name: 'test.wait_for_abort', arguments: {} }, undefined, { signal: controller.signal });
    await started.promise;
    controller.abort('stop');
    await expect(call).rejects.toThrow();
    await observed.promise;
    expect(await finished.promise).toMatchObject({ outcome: 'error', errorCode: 'CANCELLED' });
    expect((await client.callTool({ name: 'echo', arguments: { text: 'after' } })).structuredContent).toEqual({ text: 'after' });
  });

  it('shutdown lets an in-flight call deliver its result, then refuses new sessions', async () => {
    const { url, runtime, handle } = await startHttp();
    const started = deferred();
    const release = deferred();
    runtime.tools.register(
      testTool('test.hold', async () => {
        started.resolve();
        await release.promise;
        return { data: { finished: true } };
      }),
    );
    const client = await connect(url);
    const call = client.callTool({ name: 'test.hold', arguments: {} });
    await started.promise;
    const closing = handle.close();
    release.resolve();
    expect((await call).structuredContent).toEqual({ finished: true });
    await closing;
    await expect(rawRequest(`${url}/health`)).rejects.toThrow(/ECONNREFUSED/);
  });

  it('resumes with Last-Event-ID when the server closes a stream mid-call', async () => {
    const { url, runtime } = await startHttp({ http: { sse_retry_ms: 10 } });
    const release = deferred();
    runtime.tools.register(
      testTool('test.poll', async (context) => {
        await context.progress({ progress: 1 });
        context.client.closeStream?.(); // the client must reconnect and resume to get the rest
        await release.promise;
        await context.progress({ progress: 2 });
        return { data: { resumed: true } };
      }),
    );
    const resumptions: string[] = [];
    const recordingFetch: typeof fetch = (input, init) => {
      const lastEventId = new Headers(init?.headers).get('last-event-id');
      if (lastEventId !== null) resumptions.push(lastEventId);
      return fetch(input, init);
    };
    const client = await connect(url, { fetch: recordingFetch });
    const seen: number[] = [];
    const result = await client.callTool({ name: 'test.poll', arguments: {} }, undefined, {
      onprogress: (progress) => {
        seen.push(progress.progress);
        if (progress.progress === 1) release.resolve();
      },
    });
    expect(result.structuredContent).toEqual({ resumed: true });
    expect(seen).toEqual([1, 2]);
    expect(resumptions.length).toBeGreaterThan(0);
  });
});

describe('DNS-rebinding protection', () => {
  it('refuses a foreign Host header with 403', async () => {
    const { url, handle } = await startHttp();
    const health = await rawRequest(`${url}/health`, { headers: { Host: 'evil.example.com' } });
    expect(health.status).toBe(403);
    expect(errorCode(health)).toBe('FORBIDDEN_ORIGIN');
    const init = await post(url, INITIALIZE, { Host: `evil.example.com:${handle.port}` });
    expect(init.status).toBe(403);
    expect(init.headers['mcp-session-id']).toBeUndefined();
    expect((await rawRequest(`${url}/health`, { headers: { Host: `localhost:${handle.port}` } })).status).toBe(200);
  });

  it('refuses a foreign or opaque Origin with 403 and accepts a loopback one', async () => {
    const { url, handle } = await startHttp();
    const foreign = await post(url, INITIALIZE, { Origin: 'https://evil.example' });
    expect(foreign.status).toBe(403);
    expect(errorCode(foreign)).toBe('FORBIDDEN_ORIGIN');
    expect((await post(url, INITIALIZE, { Origin: 'null' })).status).toBe(403);
    expect((await post(url, INITIALIZE, { Origin: 'http://localhost.evil.example' })).status).toBe(403);
    expect((await post(url, INITIALIZE, { Origin: `http://localhost:${handle.port}` })).status).toBe(200);
    expect((await post(url, INITIALIZE, { Origin: `http://127.0.0.1:${handle.port}` })).status).toBe(200);
  });

  it('accepts an origin the operator allowed', async () => {
    const { url } = await startHttp({ http: { allowed_origins: ['https://app.example.com'] } });
    expect((await post(url, INITIALIZE, { Origin: 'https://app.example.com' })).status).toBe(200);
    expect((await post(url, INITIALIZE, { Origin: 'https://app.example.com.evil.example' })).status).toBe(403);
  });
});

describe('hostile and malformed requests', () => {
  it('refuses a body over http.max_body_bytes with 413, with or without Content-Length', async () => {
    const { url } = await startHttp({ http: { max_body_bytes: 2048 } });
    const big = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { padding: 'x'.repeat(4096) } });
    const declared = await post(url, big);
    expect(declared.status).toBe(413);
    expect(errorCode(declared)).toBe('PAYLOAD_TOO_LARGE');
    const chunked = await rawRequest(`${url}/mcp`, { method: 'POST', headers: MCP_HEADERS, body: big.match(/.{1,512}/g) ?? [] });
    expect(chunked.status).toBe(413);
    expect(errorCode(chunked)).toBe('PAYLOAD_TOO_LARGE');
    await expectServing(url);
  });

  it('answers malformed JSON with 400 and -32700, and keeps serving', async () => {
    const { url } = await startHttp();
    const response = await post(url, '{"jsonrpc": "2.0", "id": 1, "method": ');
    expect(response.status).toBe(400);
    expect(response.json()).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: -32700 } });
    await expectServing(url);
  });

  it('answers an unknown session id with 404', async () => {
    const { url } = await startHttp();
    const response = await listToolsIn(url, randomUUID());
    expect(response.status).toBe(404);
  });

  it('rejects an unsupported MCP-Protocol-Version header with 400', async () => {
    const { url } = await startHttp();
    const sessionId = await rawSession(url);
    const response = await post(url, { jsonrpc: '2.0', id: 2, method: 'tools/list' }, { 'Mcp-Session-Id': sessionId, 'MCP-Protocol-Version': '1999-01-01' });
    expect(response.status).toBe(400);
  });

  it('DELETE ends a session; its id is unknown afterwards', async () => {
    const { url } = await startHttp();
    const sessionId = await rawSession(url);
    const listed = await listToolsIn(url, sessionId);
    expect(listed.status).toBe(200);
    expect(responseMessages(listed)[0]).toMatchObject({ id: 2, result: { tools: expect.any(Array) } });
    const deleted = await rawRequest(`${url}/mcp`, { method: 'DELETE', headers: { 'Mcp-Session-Id': sessionId, 'MCP-Protocol-Version': LATEST_PROTOCOL_VERSION } });
    expect(deleted.status).toBe(200);
    expect((await listToolsIn(url, sessionId)).status).toBe(404);
  });
});

describe('authentication with config API keys', () => {
  const keys = { alpha: 'k-alpha-0123456789', beta: 'k-beta-9876543210' };
  const digest = (key: string): string => createHash('sha256').update(key).digest('hex');
  const auth = (extra: NexusConfigInput['auth'] = {}): NexusConfigInput => ({ auth: { enabled: true, api_keys: [digest(keys.alpha), digest(keys.beta)], ...extra } });

  it('401 with WWW-Authenticate without a key or with a wrong one', async () => {
    const { url } = await startHttp(auth());
    const attempts: Array<Record<string, string>> = [{}, { 'X-API-Key': 'wrong' }, { Authorization: 'Bearer wrong' }];
    for (const headers of attempts) {
      const response = await post(url, INITIALIZE, headers);
      expect(response.status).toBe(401);
      expect(response.headers['www-authenticate']).toMatch(/^Bearer/);
      expect(errorCode(response)).toBe('UNAUTHORIZED');
    }
    expect((await rawRequest(`${url}/ready`)).status).toBe(401);
  });

  it('accepts the key in X-API-Key or Authorization: Bearer', async () => {
    const { url } = await startHttp(auth());
    const viaHeader = await connect(url, { headers: { 'X-API-Key': keys.alpha } });
    expect((await viaHeader.callTool({ name: 'echo', arguments: { text: 'a' } })).structuredContent).toEqual({ text: 'a' });
    const viaBearer = await connect(url, { headers: { Authorization: `Bearer ${keys.beta}` } });
    expect((await viaBearer.callTool({ name: 'echo', arguments: { text: 'b' } })).structuredContent).toEqual({ text: 'b' });
  });

  it('/health stays open unless allow_health_unauthenticated is false', async () => {
    const open = await startHttp(auth());
    expect((await rawRequest(`${open.url}/health`)).status).toBe(200);
    const closed = await startHttp(auth({ allow_health_unauthenticated: false }));
    expect((await rawRequest(`${closed.url}/health`)).status).toBe(401);
  });

  it('binds a session to the principal that opened it', async () => {
    const { url } = await startHttp(auth());
    const alpha = { 'X-API-Key': keys.alpha };
    const sessionId = await rawSession(url, alpha);
    expect((await listToolsIn(url, sessionId, alpha)).status).toBe(200);
    expect((await listToolsIn(url, sessionId, { 'X-API-Key': keys.beta })).status).toBe(404);
  });
});

describe('binding beyond loopback', () => {
  it('startHttpServer refuses a non-loopback address without auth (INSECURE_BIND)', async () => {
    const temp = tempDir();
    cleanups.push(() => temp.remove());
    const runtime = await createRuntime(parseConfig({ data_dir: temp.dir }), { logger: createSilentLogger() });
    cleanups.push(() => runtime.close());
    for (const host of ['0.0.0.0', '::', '192.168.1.10']) {
      await expect(startHttpServer(runtime, { host, port: 0 })).rejects.toMatchObject({ code: 'INSECURE_BIND' });
    }
  });

  it('the CLI exits 2 with a clear message', async () => {
    const temp = tempDir();
    cleanups.push(() => temp.remove());
    const run = await runCli(['serve', '--host', '0.0.0.0', '--port', '0', '--data-dir', temp.dir], { cwd: temp.dir, env: { HOME: temp.dir } });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/INSECURE_BIND: Refusing to listen on 0\.0\.0\.0 without authentication/);
  });
});

describe('legacy HTTP+SSE, /health and /ready', () => {
  it('serves old clients on /sse + /messages', async () => {
    const { url } = await startHttp();
    const client = new Client({ name: 'e2e-legacy', version: '1.0.0' });
    await client.connect(new SSEClientTransport(new URL(`${url}/sse`)));
    cleanups.push(() => client.close());
    expect((await client.listTools()).tools.map((tool) => tool.name)).toContain('echo');
    expect((await client.callTool({ name: 'echo', arguments: { text: 'legacy' } })).structuredContent).toEqual({ text: 'legacy' });
  });

  it('/messages with an unknown session is 404', async () => {
    const { url } = await startHttp();
    const response = await rawRequest(`${url}/messages?sessionId=${randomUUID()}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }) });
    expect(response.status).toBe(404);
  });

  it('/health and /ready answer 200 with JSON', async () => {
    const { url, runtime } = await startHttp();
    const health = await rawRequest(`${url}/health`);
    expect(health.status).toBe(200);
    expect(health.json()).toMatchObject({ status: 'ok', version: runtime.version });
    const ready = await rawRequest(`${url}/ready`);
    expect(ready.status).toBe(200);
    expect(ready.json()).toMatchObject({ status: 'ready' });
    expect((await rawRequest(`${url}/nope`)).status).toBe(404);
  });
});

describe('the real CLI over HTTP', () => {
  it('nexus serve --port 0 logs its URL; an SDK client lists and calls; SIGTERM exits 0', async () => {
    const temp = tempDir();
    cleanups.push(() => temp.remove());
    const child = spawnCli(['serve', '--port', '0', '--data-dir', temp.dir], { cwd: temp.dir, env: { HOME: temp.dir } });
    cleanups.push(async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exitOf(child);
    });
    const stderr = new StderrLines(child);
    const listening = await stderr.waitFor((record) => typeof record['url'] === 'string');
    const mcpUrl = new URL(String(listening['url']));
    expect(mcpUrl.hostname).toBe('127.0.0.1');
    expect(mcpUrl.pathname).toBe('/mcp');
    const client = new Client({ name: 'e2e-spawned', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(mcpUrl));
    expect((await client.listTools()).tools.map((tool) => tool.name)).toContain('echo');
    expect((await client.callTool({ name: 'echo', arguments: { text: 'spawned' } })).structuredContent).toEqual({ text: 'spawned' });
    await client.close();
    child.kill('SIGTERM');
    expect(await exitOf(child)).toBe(0);
  });
});
