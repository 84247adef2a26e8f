import type { IncomingMessage, ServerResponse } from 'node:http';
import type { SSEServerTransport } from '@modelcontextprotocol/sdk/server/sse.js';
import type { Principal } from '../auth/principal.js';
import type { Runtime } from '../runtime/runtime.js';
import { jsonRpcErrorResponse } from './responses.js';

interface LegacySession {
  readonly transport: SSEServerTransport;
  readonly principalId: string;
}

/**
 * The deprecated HTTP+SSE transport (protocol 2024-11-05): GET /sse opens the event stream and
 * announces `/messages?sessionId=…`; clients POST their messages there. Kept for old clients.
 */
export class LegacySseSessions {
  private readonly sessions = new Map<string, LegacySession>();

  constructor(private readonly runtime: Runtime) {}

  async open(response: ServerResponse, principal: Principal): Promise<void> {
    // Imported on first use: it pulls in raw-body and iconv-lite (~0.5 MB), which only old clients need.
    const { SSEServerTransport } = await import('@modelcontextprotocol/sdk/server/sse.js');
    const transport = new SSEServerTransport('/messages', response);
    this.sessions.set(transport.sessionId, { transport, principalId: principal.id });
    transport.onclose = () => this.sessions.delete(transport.sessionId);
    await this.runtime.connect(transport, { transport: 'legacy-sse', principalFor: () => principal });
  }

  /** Returns a Response when the message cannot be delivered; undefined when the transport answered. */
  async post(options: { sessionId: string | undefined; principal: Principal; request: IncomingMessage; response: ServerResponse; body: unknown }): Promise<Response | undefined> {
    const session = options.sessionId === undefined ? undefined : this.sessions.get(options.sessionId);
    if (!session || session.principalId !== options.principal.id) return jsonRpcErrorResponse(404, -32001, 'Session not found');
    await session.transport.handlePostMessage(options.request, options.response, options.body);
    return undefined;
  }

  async closeAll(): Promise<void> {
    await Promise.allSettled([...this.sessions.values()].map((session) => session.transport.close()));
    this.sessions.clear();
  }
}
