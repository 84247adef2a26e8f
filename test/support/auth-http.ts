import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { LATEST_PROTOCOL_VERSION } from '@modelcontextprotocol/sdk/types.js';
import type { Clock } from '../../src/auth/clock.js';
import { parseConfig, type NexusConfigInput } from '../../src/config/index.js';
import { startHttpServer, type HttpServerHandle } from '../../src/http/server.js';
import { createSilentLogger } from '../../src/logging/index.js';
import { createRuntime, type CreateRuntimeOptions, type Runtime } from '../../src/runtime/runtime.js';
import { tempDir } from './runtime.js';

/** A runtime with an HTTP listener on 127.0.0.1 port 0, over a temp data folder. */
export interface AuthHarness {
  runtime: Runtime;
  http: HttpServerHandle;
  url: string;
  dataDir: string;
  /** Stops HTTP and the runtime; keeps the data folder when `keepData` (to restart on it). */
  close(options?: { keepData?: boolean }): Promise<void>;
}

export async function startAuthHarness(
  config: NexusConfigInput = {},
  options: { clock?: Clock; dataDir?: string; runtime?: Omit<CreateRuntimeOptions, 'logger' | 'clock'> } = {},
): Promise<AuthHarness> {
  const temp = options.dataDir === undefined ? tempDir('nexus-auth-') : { dir: options.dataDir, remove: () => undefined };
  const runtime = await createRuntime(parseConfig({ data_dir: temp.dir, ...config }), { ...options.runtime, logger: createSilentLogger(), ...(options.clock ? { clock: options.clock } : {}) });
  const http = await startHttpServer(runtime, { host: '127.0.0.1', port: 0 });
  return {
    runtime,
    http,
    url: http.url,
    dataDir: temp.dir,
    async close(closeOptions = {}) {
      await http.close();
      await runtime.close();
      if (!closeOptions.keepData) temp.remove();
    },
  };
}

/** An SDK client over Streamable HTTP sending the given headers with every request. */
export async function connectClient(url: string, headers: Record<string, string>): Promise<Client> {
  const transport = new StreamableHTTPClientTransport(new URL(`${url}/mcp`), { requestInit: { headers } });
  const client = new Client({ name: 'nexus-auth-test', version: '1.0.0' });
  await client.connect(transport);
  return client;
}

/** A raw initialize POST to /mcp (what a client sends first). */
export function initialize(url: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${url}/mcp`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: LATEST_PROTOCOL_VERSION, capabilities: {}, clientInfo: { name: 'raw', version: '1' } } }),
  });
}

/** The `{error: {code, message, details}}` body of a refused HTTP request. */
export async function errorBody(response: Response): Promise<{ code: string; message: string; details: Record<string, unknown> }> {
  const body = (await response.json()) as { error: { code: string; message: string; details: Record<string, unknown> } };
  return body.error;
}
