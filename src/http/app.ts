import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import { Hono, type Context } from 'hono';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import type { Authenticator } from '../auth/authenticator.js';
import { metadataPaths, protectedResourceMetadata } from '../auth/protected-resource.js';
import { NexusError } from '../errors/index.js';
import type { Runtime } from '../runtime/runtime.js';
import { authMiddleware, authRequired, type AuthEnv } from './auth-middleware.js';
import { LegacySseSessions } from './legacy-sse.js';
import { StreamableSessions } from './mcp-sessions.js';
import { checkOriginAndHost, isLoopbackHost } from './origin-guard.js';
import { httpErrorResponse, jsonRpcErrorResponse } from './responses.js';

type Env = AuthEnv;

export interface HttpAppOptions {
  /** The address the server binds; decides Host checking and whether auth is mandatory. */
  bindHost: string;
  /** Authenticators tried in order; defaults to config key hashes, stored API keys, then OAuth. */
  authenticator?: Authenticator;
}

export interface HttpApp {
  readonly app: Hono<Env>;
  /** Stops every MCP session (streamable and legacy). */
  close(): Promise<void>;
  /** True while the app accepts traffic (false once shutdown began): `/ready`. */
  ready: boolean;
}

/**
 * The HTTP surface: MCP Streamable HTTP at /mcp, the legacy HTTP+SSE transport at /sse and
 * /messages, /health and /ready. Middleware order: DNS-rebinding guard → body limit →
 * authentication → routes. Errors leave through one mapper.
 */
export function createHttpApp(runtime: Runtime, options: HttpAppOptions): HttpApp {
  const { config } = runtime;
  const app = new Hono<Env>();
  const streamable = new StreamableSessions(runtime, config.http);
  const legacy = new LegacySseSessions(runtime);
  const authenticator = options.authenticator ?? runtime.auth.authenticator();
  const oauth = config.auth.oauth;
  const publicPaths = new Set(oauth ? metadataPaths(oauth.resource) : []);
  const state: HttpApp = {
    app,
    ready: true,
    async close() {
      state.ready = false;
      await Promise.all([streamable.closeAll(), legacy.closeAll()]);
    },
  };

  app.onError((error) => httpErrorResponse(error));
  app.notFound(() => httpErrorResponse(new NexusError('NOT_FOUND', 'No such route')));

  app.use('*', async (c, next) => {
    const verdict = checkOriginAndHost(c.req.raw.headers, { bindHost: options.bindHost, allowedHosts: config.http.allowed_hosts, allowedOrigins: config.http.allowed_origins });
    if (!verdict.ok) return httpErrorResponse(new NexusError('FORBIDDEN_ORIGIN', verdict.reason));
    const length = Number(c.req.header('content-length') ?? '0');
    if (length > config.http.max_body_bytes) {
      return httpErrorResponse(new NexusError('PAYLOAD_TOO_LARGE', `Request body of ${length} bytes exceeds the limit of ${config.http.max_body_bytes}`, { details: { limit: config.http.max_body_bytes } }));
    }
    await next();
    return undefined;
  });
  app.use('*', authMiddleware({ runtime, bindHost: options.bindHost, authenticator, publicPaths }));

  if (oauth) {
    // RFC 9728: where clients learn which authorization servers issue tokens for this resource.
    const metadata = protectedResourceMetadata(oauth, config.server_name);
    for (const path of publicPaths) app.get(path, (c) => c.json(metadata));
  }

  app.get('/health', (c) => c.json({ status: 'ok', service: 'nexus', version: runtime.version }));
  app.get('/ready', (c) => (state.ready ? c.json({ status: 'ready', sessions: runtime.sessions.size }) : c.json({ status: 'shutting-down' }, 503)));

  app.on(['POST', 'GET', 'DELETE'], '/mcp', async (c) => {
    if (!state.ready) return httpErrorResponse(new NexusError('SHUTTING_DOWN', 'Nexus is shutting down'));
    const parsed = c.req.method === 'POST' ? await readJsonBody(c, config.http.max_body_bytes) : { ok: true as const, value: undefined };
    if (!parsed.ok) return parsed.response;
    const principal = c.get('principal');
    if (c.req.header('mcp-session-id') === undefined && isInitializeRequest(parsed.value)) {
      runtime.auth.audit.record({
        event: 'auth',
        tenant: principal.tenant,
        principal: principal.id,
        tool: null,
        argsDigest: null,
        outcome: 'ok',
        errorCode: null,
        durationMs: null,
        traceId: null,
        remoteAddress: c.env?.incoming?.socket?.remoteAddress ?? null,
        detail: 'session_opened',
      });
    }
    return streamable.handle(c.req.raw, { principal, parsedBody: parsed.value });
  });

  if (config.http.legacy_sse) {
    app.get('/sse', async (c) => {
      await legacy.open(c.env.outgoing, c.get('principal'));
      return RESPONSE_ALREADY_SENT;
    });
    app.post('/messages', async (c) => {
      const parsed = await readJsonBody(c, config.http.max_body_bytes);
      if (!parsed.ok) return parsed.response;
      const refused = await legacy.post({ sessionId: c.req.query('sessionId'), principal: c.get('principal'), request: c.env.incoming, response: c.env.outgoing, body: parsed.value });
      return refused ?? RESPONSE_ALREADY_SENT;
    });
  }

  return state;
}

/** Reads a JSON body with a hard byte limit, also when no Content-Length was sent (chunked). */
async function readJsonBody(c: Context<Env>, limit: number): Promise<{ ok: true; value: unknown } | { ok: false; response: Response }> {
  // Read Node's request stream itself when there is one: going through c.req.raw.body makes the
  // adapter build a WHATWG Request and a web stream around it, a large share of a short call's cost.
  const body: AsyncIterable<Uint8Array> | null = c.env?.incoming ?? c.req.raw.body;
  if (body === null) return { ok: false, response: jsonRpcErrorResponse(400, -32700, 'Parse error: empty body') };
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.byteLength;
    if (size > limit) {
      return { ok: false, response: httpErrorResponse(new NexusError('PAYLOAD_TOO_LARGE', `Request body exceeds the limit of ${limit} bytes`, { details: { limit } })) };
    }
    chunks.push(chunk);
  }
  try {
    return { ok: true, value: JSON.parse(Buffer.concat(chunks).toString('utf8')) };
  } catch {
    return { ok: false, response: jsonRpcErrorResponse(400, -32700, 'Parse error: the body is not valid JSON') };
  }
}

/**
 * Refuses to expose Nexus beyond this machine without authentication configured (auth.enabled,
 * OAuth issuers or an API key in the store). Once bound off loopback, every request needs a
 * credential even if the last key is later revoked.
 */
export async function assertSafeBind(runtime: Runtime, host: string): Promise<void> {
  if (!isLoopbackHost(host) && !(await runtime.auth.configured())) {
    throw new NexusError('INSECURE_BIND', `Refusing to listen on ${host} without authentication: create an API key (nexus keys create), configure auth.oauth, or bind 127.0.0.1`, { details: { host } });
  }
}

export { authRequired };
