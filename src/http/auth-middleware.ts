import type { HttpBindings } from '@hono/node-server';
import type { Context, MiddlewareHandler } from 'hono';
import { presentedKey, type Authenticator } from '../auth/authenticator.js';
import type { Principal } from '../auth/principal.js';
import { bearerChallenge } from '../auth/protected-resource.js';
import type { BucketSpec } from '../auth/rate-limit.js';
import { NexusError } from '../errors/index.js';
import type { Runtime } from '../runtime/runtime.js';
import { isLoopbackHost } from './origin-guard.js';
import { httpErrorResponse } from './responses.js';

export type AuthEnv = { Bindings: HttpBindings; Variables: { principal: Principal } };

/** Whether HTTP requests must carry a credential: always off loopback, and once auth is configured. */
export async function authRequired(runtime: Runtime, bindHost: string): Promise<boolean> {
  return !isLoopbackHost(bindHost) || (await runtime.auth.configured());
}

export interface AuthMiddlewareOptions {
  runtime: Runtime;
  bindHost: string;
  authenticator: Authenticator;
  /** Paths served to anyone without authentication or rate limiting (protected-resource metadata). */
  publicPaths: ReadonlySet<string>;
}

/**
 * Authenticates every request, then applies the per-caller and per-tenant request buckets. The
 * limiter is keyed by the authenticated principal, or for anonymous loopback callers by the
 * socket's address — never by a header the client controls (X-Forwarded-For). Refusals are
 * audited and carry the challenge the MCP authorization spec requires.
 */
export function authMiddleware(options: AuthMiddlewareOptions): MiddlewareHandler<AuthEnv> {
  const { runtime, authenticator } = options;
  const { config } = runtime;
  const auth = runtime.auth;
  return async (c, next) => {
    const path = c.req.path;
    const openHealth = path === '/health' && config.auth.allow_health_unauthenticated;
    if (options.publicPaths.has(path) || openHealth) {
      c.set('principal', auth.localPrincipal);
      await next();
      return undefined;
    }
    const remoteAddress = c.env?.incoming?.socket?.remoteAddress;
    const headers = c.req.raw.headers;
    const presented = presentedKey(headers, config.auth.api_key_header) !== undefined;
    let principal: Principal | undefined;
    try {
      principal = await authenticator.authenticate({ headers, remoteAddress });
    } catch (error) {
      if (!NexusError.is(error) || (error.code !== 'UNAUTHORIZED' && error.code !== 'FORBIDDEN')) throw error;
      return refuse(c, { runtime, error, presented, remoteAddress });
    }
    if (principal === undefined && (await authRequired(runtime, options.bindHost))) {
      const error = presented
        ? new NexusError('UNAUTHORIZED', 'Invalid credential: the key or token is not recognised', { details: { reason: 'invalid_token' } })
        : new NexusError('UNAUTHORIZED', `Authentication required: send Authorization: Bearer <key or token> or the ${config.auth.api_key_header} header`, { details: { reason: 'missing' } });
      return refuse(c, { runtime, error, presented, remoteAddress });
    }
    const caller = principal ?? auth.localPrincipal;
    if (auth.policy.rateLimitEnabled) {
      const callerKey = principal === undefined ? `addr:${remoteAddress ?? 'unknown'}` : principal.id;
      const limited = await takeOrRefuse(c, runtime, auth.policy.requestBuckets(caller.tenant, callerKey), { principal: caller, remoteAddress });
      if (limited) return limited;
    }
    c.set('principal', caller);
    await next();
    return undefined;
  };
}

/** 429 with Retry-After when a bucket is empty, else undefined (the tokens are taken). */
async function takeOrRefuse(c: Context<AuthEnv>, runtime: Runtime, buckets: BucketSpec[], who: { principal: Principal | undefined; remoteAddress: string | undefined }): Promise<Response | undefined> {
  const decision = await runtime.auth.rateLimiter.take(buckets);
  if (decision.allowed) return undefined;
  const retryAfterSecs = Math.max(1, Math.ceil(decision.retryAfterMs / 1000));
  const scope = decision.key.slice(0, decision.key.indexOf(':'));
  runtime.auth.audit.record({
    event: 'auth',
    tenant: who.principal?.tenant ?? null,
    principal: who.principal?.id ?? null,
    tool: null,
    argsDigest: null,
    outcome: 'denied',
    errorCode: 'RATE_LIMITED',
    durationMs: null,
    traceId: null,
    remoteAddress: who.remoteAddress ?? null,
    detail: `${c.req.method} ${c.req.path} limit=${scope}`,
  });
  const error = new NexusError('RATE_LIMITED', `Too many requests; retry in ${retryAfterSecs} s`, { details: { limit: scope, retryAfterMs: decision.retryAfterMs } });
  return httpErrorResponse(error, { 'Retry-After': String(retryAfterSecs) });
}

/**
 * Answers a failed authentication: 401 with `WWW-Authenticate: Bearer resource_metadata=…`
 * (error="invalid_token" when a credential was presented) or 403 insufficient_scope. Repeated
 * failures from one address draw on that address's bucket, so guessing is rate limited too.
 */
async function refuse(
  c: Context<AuthEnv>,
  options: { runtime: Runtime; error: NexusError; presented: boolean; remoteAddress: string | undefined },
): Promise<Response> {
  const { runtime, error, presented, remoteAddress } = options;
  const auth = runtime.auth;
  if (auth.policy.rateLimitEnabled) {
    const callerKey = `addr:${remoteAddress ?? 'unknown'}`;
    const limited = await takeOrRefuse(c, runtime, auth.policy.requestBuckets(auth.localPrincipal.tenant, callerKey).slice(0, 1), { principal: undefined, remoteAddress });
    if (limited) return limited;
  }
  const reason = typeof error.details['reason'] === 'string' ? error.details['reason'] : undefined;
  const keyId = typeof error.details['keyId'] === 'string' ? error.details['keyId'] : undefined;
  auth.audit.record({
    event: 'auth',
    tenant: null,
    principal: keyId === undefined ? null : `key:${keyId}`,
    tool: null,
    argsDigest: null,
    outcome: 'denied',
    errorCode: error.code,
    durationMs: null,
    traceId: null,
    remoteAddress: remoteAddress ?? null,
    detail: `${c.req.method} ${c.req.path}${reason === undefined ? '' : ` reason=${reason}`}`,
  });
  const oauth = runtime.config.auth.oauth;
  if (error.code === 'FORBIDDEN') {
    const insufficient = reason === 'insufficient_scope';
    return httpErrorResponse(error, insufficient ? { 'WWW-Authenticate': bearerChallenge({ oauth, error: 'insufficient_scope', description: error.message }) } : {});
  }
  return httpErrorResponse(error, { 'WWW-Authenticate': bearerChallenge({ oauth, error: presented ? 'invalid_token' : undefined, description: error.message }) });
}
