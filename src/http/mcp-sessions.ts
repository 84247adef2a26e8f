import { randomUUID } from 'node:crypto';
import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import type { Principal } from '../auth/principal.js';
import type { NexusConfig } from '../config/index.js';
import type { Runtime } from '../runtime/runtime.js';
import { BoundedEventStore } from '../transport/event-store.js';
import { jsonCandidate, preferJson } from './prefer-json.js';
import { jsonRpcErrorResponse } from './responses.js';

/**
 * How long a request POST waits for its answer before committing to an SSE stream. A quick
 * answer with nothing streamed before it goes out as plain JSON; a longer call gets the SSE
 * priming event (and with it resumability) after this delay.
 */
const JSON_HOLD_MS = 100;

interface StreamableSession {
  readonly transport: WebStandardStreamableHTTPServerTransport;
  readonly principalId: string;
  lastSeen: number;
}

/** Carries the authenticated principal from HTTP into MCP request handlers. */
export function authInfoFor(principal: Principal): AuthInfo {
  return { token: '', clientId: principal.id, scopes: [], extra: { principal } };
}

/** Reads back the principal put there by `authInfoFor`. */
export function principalFromAuthInfo(authInfo: AuthInfo | undefined): Principal | undefined {
  const principal = authInfo?.extra?.['principal'];
  return typeof principal === 'object' && principal !== null ? (principal as Principal) : undefined;
}

/**
 * Streamable HTTP sessions at /mcp: one SDK transport and protocol server per session, created
 * by an initialize POST, bound to the principal that created it (another principal presenting
 * the session id gets 404), closed on DELETE, idle timeout or shutdown.
 */
export class StreamableSessions {
  private readonly sessions = new Map<string, StreamableSession>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    private readonly runtime: Runtime,
    private readonly http: NexusConfig['http'],
  ) {
    this.sweeper = setInterval(() => void this.closeIdle(), Math.min(60_000, http.session_idle_secs * 1000)).unref();
  }

  get size(): number {
    return this.sessions.size;
  }

  async handle(request: Request, options: { principal: Principal; parsedBody: unknown }): Promise<Response> {
    const sessionId = request.headers.get('mcp-session-id');
    const authInfo = authInfoFor(options.principal);
    if (sessionId !== null) {
      const session = this.sessions.get(sessionId);
      if (!session || session.principalId !== options.principal.id) return jsonRpcErrorResponse(404, -32001, 'Session not found');
      session.lastSeen = Date.now();
      return this.respond(request, options.parsedBody, session.transport.handleRequest(request, { authInfo, parsedBody: options.parsedBody }));
    }
    if (request.method !== 'POST' || !isInitializeRequest(options.parsedBody)) {
      return jsonRpcErrorResponse(400, -32000, 'Bad Request: Mcp-Session-Id header is required (send initialize first)');
    }
    const transport = await this.open(options.principal);
    return this.respond(request, options.parsedBody, transport.handleRequest(request, { authInfo, parsedBody: options.parsedBody }));
  }

  /** Plain JSON instead of SSE when one request's answer needs no streaming (http.json_response). */
  private async respond(request: Request, body: unknown, pending: Promise<Response>): Promise<Response> {
    const candidate = this.http.json_response && request.method === 'POST' ? jsonCandidate(request, body) : undefined;
    const response = await pending;
    return candidate === undefined ? response : preferJson(response, { requestId: candidate.requestId, holdMs: JSON_HOLD_MS });
  }

  async closeAll(): Promise<void> {
    clearInterval(this.sweeper);
    await Promise.allSettled([...this.sessions.values()].map((session) => session.transport.close()));
    this.sessions.clear();
  }

  private async open(principal: Principal): Promise<WebStandardStreamableHTTPServerTransport> {
    const transport: WebStandardStreamableHTTPServerTransport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      eventStore: new BoundedEventStore(this.http.event_history),
      retryInterval: this.http.sse_retry_ms,
      maxRequestBodySize: this.http.max_body_bytes,
      onsessioninitialized: (id) => {
        this.sessions.set(id, { transport, principalId: principal.id, lastSeen: Date.now() });
      },
      onsessionclosed: (id) => {
        this.sessions.delete(id);
      },
    });
    transport.onclose = () => {
      if (transport.sessionId !== undefined) this.sessions.delete(transport.sessionId);
    };
    await this.runtime.connect(transport, { transport: 'streamable-http', principalFor: (extra) => principalFromAuthInfo(extra.authInfo) ?? principal });
    return transport;
  }

  private async closeIdle(): Promise<void> {
    const deadline = Date.now() - this.http.session_idle_secs * 1000;
    for (const session of [...this.sessions.values()]) {
      if (session.lastSeen < deadline) await session.transport.close().catch(() => undefined);
    }
  }
}
