import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { NexusConfigInput } from '../../src/config/index.js';
import { NEXUS_VERSION } from '../../src/runtime/version.js';
import { startTestRuntime, type TestRuntime } from '../support/runtime.js';

type Handler = (request: IncomingMessage, response: ServerResponse, body: string) => void;

interface LocalServer {
  port: number;
  base: string;
  hits: string[];
  /** Resolves when the server sees a client connection close (a body read that was abandoned). */
  closedConnections: number;
  close(): Promise<void>;
}

async function localServer(routes: Record<string, Handler>): Promise<LocalServer> {
  const hits: string[] = [];
  const state = { closedConnections: 0 };
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const url = new URL(request.url ?? '/', 'http://x');
      hits.push(url.pathname);
      const handler = routes[url.pathname];
      if (!handler) {
        response.writeHead(404, { 'content-type': 'text/plain' }).end('no such route');
        return;
      }
      handler(request, response, Buffer.concat(chunks).toString());
    });
  });
  server.on('connection', (socket) => socket.on('close', () => (state.closedConnections += 1)));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    port,
    base: `http://127.0.0.1:${port}`,
    hits,
    get closedConnections() {
      return state.closedConnections;
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

let harness: TestRuntime | undefined;
let target: LocalServer;
let other: LocalServer;

beforeEach(async () => {
  target = await localServer({
    '/json': (_request, response) => response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ hello: 'world', list: [1, 2] })),
    '/text': (_request, response) => response.writeHead(200, { 'content-type': 'text/plain' }).end('plain text'),
    '/echo': (request, response, body) =>
      response.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ method: request.method, headers: request.headers, body })),
    '/missing': (_request, response) => response.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"nope"}'),
    '/endless': (_request, response) => {
      // Never ends: the tool must stop reading at its cap instead of downloading everything.
      response.writeHead(200, { 'content-type': 'application/octet-stream' });
      const chunk = Buffer.alloc(64 * 1024, 'a');
      const pump = (): void => {
        while (response.write(chunk));
        response.once('drain', pump);
      };
      response.on('close', () => response.removeAllListeners('drain'));
      pump();
    },
    '/hang': () => undefined,
    '/to-json': (_request, response) => response.writeHead(302, { location: '/json' }).end(),
    '/to-localhost': (_request, response) => response.writeHead(302, { location: `http://localhost:${other.port}/secret` }).end(),
    '/to-metadata': (_request, response) => response.writeHead(301, { location: 'http://169.254.169.254/latest/meta-data/' }).end(),
    '/to-v6': (_request, response) => response.writeHead(307, { location: `http://[::1]:${other.port}/secret` }).end(),
    '/loop': (_request, response) => response.writeHead(302, { location: '/loop' }).end(),
  });
  other = await localServer({ '/secret': (_request, response) => response.end('internal secret') });
});

afterEach(async () => {
  await harness?.close();
  harness = undefined;
  await target.close();
  await other.close();
});

async function start(httpClient: NonNullable<NexusConfigInput['http_client']> = {}): Promise<TestRuntime> {
  harness = await startTestRuntime({ http_client: { allowed_hosts: [`127.0.0.1:${target.port}`], ...httpClient } });
  return harness;
}

async function request(args: Record<string, unknown>): Promise<CallToolResult> {
  if (!harness) throw new Error('no runtime');
  return (await harness.client.callTool({ name: 'http.request', arguments: args })) as CallToolResult;
}

interface HttpData {
  status: number;
  statusText: string;
  headers: Record<string, string>;
  body: unknown;
  size: number;
  truncated: boolean;
  url: string;
  redirects: number;
}

const data = (result: CallToolResult): HttpData => {
  expect(result.isError, JSON.stringify(result.structuredContent)).toBeFalsy();
  return result.structuredContent as unknown as HttpData;
};
const errorCode = (result: CallToolResult): string => {
  expect(result.isError).toBe(true);
  return (result.structuredContent as { code: string }).code;
};

describe('http.request', () => {
  it('reaches a loopback server named exactly in allowed_hosts and parses its JSON', async () => {
    await start();
    const result = data(await request({ url: `${target.base}/json` }));
    expect(result).toMatchObject({ status: 200, statusText: 'OK', body: { hello: 'world', list: [1, 2] }, truncated: false, url: `${target.base}/json`, redirects: 0 });
    expect(result.headers['content-type']).toBe('application/json');
    expect(result.size).toBe(Buffer.byteLength(JSON.stringify({ hello: 'world', list: [1, 2] })));
  });

  it('reaches it through an anchored allowed_urls pattern too, despite the default block list', async () => {
    await start({ allowed_hosts: [], allowed_urls: [`^http://127\\.0\\.0\\.1:${target.port}/`] });
    expect(data(await request({ url: `${target.base}/text` })).body).toBe('plain text');
    // A pattern that does not spell out the exact target admits nothing internal.
    await harness!.close();
    harness = await startTestRuntime({ http_client: { allowed_urls: ['^http://127\\.'], blocked_urls: [] } });
    expect(errorCode(await request({ url: `${target.base}/text` }))).toBe('SSRF_BLOCKED');
    expect(target.hits).toEqual(['/text']);
  });

  it('sends method, JSON body and the Nexus user agent; HTTP errors are results, not tool errors', async () => {
    await start();
    const echoed = data(await request({ url: `${target.base}/echo`, method: 'post', json: { a: 1 }, headers: { 'X-Test': 'yes' } }));
    expect(echoed.status).toBe(201);
    const body = echoed.body as { method: string; headers: Record<string, string>; body: string };
    expect(body.method).toBe('POST');
    expect(JSON.parse(body.body)).toEqual({ a: 1 });
    expect(body.headers['content-type']).toBe('application/json');
    expect(body.headers['user-agent']).toBe(`Nexus/${NEXUS_VERSION}`);
    expect(body.headers['x-test']).toBe('yes');
    const missing = data(await request({ url: `${target.base}/missing` }));
    expect(missing).toMatchObject({ status: 404, body: { error: 'nope' } });
  });

  it('honours http_client.user_agent', async () => {
    await start({ user_agent: 'Custom/1.0' });
    const echoed = data(await request({ url: `${target.base}/echo` }));
    expect((echoed.body as { headers: Record<string, string> }).headers['user-agent']).toBe('Custom/1.0');
  });

  it('stops reading an endless body at the cap and flags it truncated', async () => {
    await start({ max_response_bytes: 1024 * 1024 });
    const capped = data(await request({ url: `${target.base}/endless`, max_response_bytes: 100_000 }));
    expect(capped).toMatchObject({ status: 200, truncated: true, size: 100_000 });
    expect(capped.body).toBe('a'.repeat(100_000));
    // The per-call value cannot raise the configured ceiling.
    const ceiling = data(await request({ url: `${target.base}/endless`, max_response_bytes: 50 * 1024 * 1024 }));
    expect(ceiling).toMatchObject({ truncated: true, size: 1024 * 1024 });
  });

  it('times out a server that never answers', async () => {
    await start();
    expect(errorCode(await request({ url: `${target.base}/hang`, timeout_secs: 0.3 }))).toBe('TOOL_TIMEOUT');
  });

  it('follows redirects among allowed targets and reports the final URL', async () => {
    await start();
    const result = data(await request({ url: `${target.base}/to-json` }));
    expect(result).toMatchObject({ status: 200, body: { hello: 'world' }, url: `${target.base}/json`, redirects: 1 });
  });

  it('re-checks every redirect hop: an allowed host cannot bounce the request inside', async () => {
    await start();
    expect(errorCode(await request({ url: `${target.base}/to-localhost` }))).toBe('URL_NOT_ALLOWED');
    await harness!.close();
    // With a catch-all URL rule (which names no exact target) the address guard refuses each internal hop.
    harness = await startTestRuntime({ http_client: { allowed_urls: ['^http://'], allowed_hosts: [`127.0.0.1:${target.port}`], blocked_urls: [] } });
    for (const path of ['/to-localhost', '/to-metadata', '/to-v6']) {
      expect(errorCode(await request({ url: `${target.base}${path}` })), path).toBe('SSRF_BLOCKED');
    }
    expect(other.hits).toEqual([]);
    expect(errorCode(await request({ url: `${target.base}/loop` }))).toBe('HTTP_REQUEST_FAILED');
  });

  it('refuses internal targets in every spelling, with the address guard alone', async () => {
    harness = await startTestRuntime({ http_client: { blocked_urls: [] } });
    const port = other.port;
    for (const url of [
      `http://127.0.0.1:${port}/secret`,
      `http://[::1]:${port}/secret`,
      'http://169.254.169.254/latest/meta-data/',
      `http://0x7f000001:${port}/secret`,
      `http://2130706433:${port}/secret`,
      `http://017700000001:${port}/secret`,
      `http://127.1:${port}/secret`,
      `http://localhost:${port}/secret`,
      `http://LOCALHOST:${port}/secret`,
      `http://[::ffff:127.0.0.1]:${port}/secret`,
      `http://0.0.0.0:${port}/secret`,
      'http://[fd00:ec2::254]/latest/meta-data/',
      'http://100.64.0.1/',
      'http://10.0.0.1/',
      'http://192.168.0.1/',
    ]) {
      expect(errorCode(await request({ url })), url).toBe('SSRF_BLOCKED');
    }
    expect(other.hits).toEqual([]);
  });

  it('keeps the original block list by default and refuses non-http schemes', async () => {
    harness = await startTestRuntime({});
    expect(errorCode(await request({ url: `http://127.0.0.1:${other.port}/secret` }))).toBe('URL_NOT_ALLOWED');
    expect(errorCode(await request({ url: 'http://169.254.169.254/latest/meta-data/' }))).toBe('SSRF_BLOCKED');
    expect(errorCode(await request({ url: 'file:///etc/passwd' }))).toBe('URL_NOT_ALLOWED');
    expect(errorCode(await request({ url: 'not a url' }))).toBe('INVALID_ARGUMENTS');
    expect(other.hits).toEqual([]);
  });

  it('refuses a URL outside the allow-lists and one matching a block pattern', async () => {
    await start({ blocked_urls: ['/admin'], allowed_urls: ['^https://api\\.example\\.com/'] });
    expect(errorCode(await request({ url: `http://127.0.0.1:${other.port}/secret` }))).toBe('URL_NOT_ALLOWED');
    expect(errorCode(await request({ url: 'https://api.example.com/admin' }))).toBe('URL_NOT_ALLOWED');
  });

  it('rejects an invalid URL regex at start-up instead of skipping it', async () => {
    await expect(startTestRuntime({ http_client: { blocked_urls: ['(unclosed'] } })).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
  });
});
