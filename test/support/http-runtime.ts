import { parseConfig, type NexusConfigInput } from '../../src/config/index.js';
import { startHttpServer, type HttpServerHandle } from '../../src/http/server.js';
import { createSilentLogger } from '../../src/logging/index.js';
import { createRuntime, type Runtime } from '../../src/runtime/runtime.js';
import type { Tool } from '../../src/tools/types.js';
import { tempDir } from './runtime.js';

/** The protocol revision the raw-HTTP tests speak (priming events need 2025-11-25 or later). */
export const MCP_PROTOCOL = '2025-11-25';

export interface HttpRuntime {
  runtime: Runtime;
  http: HttpServerHandle;
  /** The Streamable HTTP endpoint, http://127.0.0.1:PORT/mcp */
  url: string;
  close(): Promise<void>;
}

/** A real runtime (temp data dir) with extra tools, served over HTTP on 127.0.0.1, port 0. */
export async function startHttpRuntime(config: NexusConfigInput = {}, tools: Tool[] = []): Promise<HttpRuntime> {
  const temp = tempDir();
  const runtime = await createRuntime(parseConfig({ data_dir: temp.dir, ...config }), { logger: createSilentLogger() });
  for (const tool of tools) runtime.tools.register(tool);
  const http = await startHttpServer(runtime, { host: '127.0.0.1', port: 0 });
  return {
    runtime,
    http,
    url: `${http.url}/mcp`,
    async close() {
      await http.close();
      await runtime.close();
      temp.remove();
    },
  };
}

/** POSTs one JSON-RPC message to /mcp the way a 2025-11-25 client does. */
export function mcpPost(url: string, message: unknown, sessionId?: string): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-protocol-version': MCP_PROTOCOL,
      ...(sessionId === undefined ? {} : { 'mcp-session-id': sessionId }),
    },
    body: JSON.stringify(message),
  });
}

/** initialize + notifications/initialized over raw HTTP; returns the session id and the initialize response. */
export async function openMcpSession(url: string): Promise<{ sessionId: string; initialize: Response }> {
  const initialize = await mcpPost(url, { jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: MCP_PROTOCOL, capabilities: {}, clientInfo: { name: 'raw-http-test', version: '1' } } });
  const sessionId = initialize.headers.get('mcp-session-id');
  if (sessionId === null) throw new Error(`initialize returned no session id (HTTP ${initialize.status})`);
  const initialized = await mcpPost(url, { jsonrpc: '2.0', method: 'notifications/initialized' }, sessionId);
  if (initialized.status !== 202) throw new Error(`notifications/initialized answered HTTP ${initialized.status}`);
  return { sessionId, initialize };
}

export function mcpCallTool(url: string, sessionId: string, id: number, name: string, args: Record<string, unknown> = {}): Promise<Response> {
  return mcpPost(url, { jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args } }, sessionId);
}
