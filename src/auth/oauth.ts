import type * as JoseModule from 'jose';
import type { JWTPayload, JWTVerifyGetKey } from 'jose';

type Jose = typeof JoseModule;
let josePromise: Promise<Jose> | undefined;
/** jose takes ~100 ms to import; only deployments that configure OAuth issuers pay for it. */
function loadJose(): Promise<Jose> {
  josePromise ??= import('jose');
  return josePromise;
}
import type { NexusConfig } from '../config/index.js';
import { tenantIdSchema } from '../config/schema.js';
import { NexusError } from '../errors/index.js';
import type { Authenticator, AuthRequest } from './authenticator.js';
import { systemClock, type Clock } from './clock.js';
import type { Principal } from './principal.js';
import { validateToolScopes } from './scopes.js';

type OAuthConfig = NonNullable<NexusConfig['auth']['oauth']>;
type IssuerConfig = OAuthConfig['issuers'][number];

/** OAuth scopes of this form limit the tools a token may call: `tools:memory.*`. */
export const TOOL_SCOPE_PREFIX = 'tools:';

const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
const FETCH_TIMEOUT_MS = 5000;

export interface OAuthAuthenticatorOptions {
  clock?: Clock;
  /** Whether a tenant named by a token exists; tokens for unknown tenants are refused. */
  tenantExists?: (tenant: string) => Promise<boolean>;
}

/** Bearer from the Authorization header only: a JWT in X-API-Key is not an OAuth token. */
function bearerToken(headers: Headers): string | undefined {
  const authorization = headers.get('authorization');
  return authorization?.toLowerCase().startsWith('bearer ') ? authorization.slice(7).trim() || undefined : undefined;
}

function invalidToken(message: string, cause?: unknown): NexusError {
  return new NexusError('UNAUTHORIZED', message, { details: { reason: 'invalid_token' }, cause });
}

/** A person-readable reason for a jose failure, without echoing the token. */
function describeJoseError(error: unknown, joseErrors: Jose['errors']): string {
  if (error instanceof joseErrors.JWTExpired) return 'The access token has expired';
  if (error instanceof joseErrors.JWTClaimValidationFailed) return `The access token's "${error.claim}" claim is not acceptable (${error.reason})`;
  if (error instanceof joseErrors.JWKSNoMatchingKey) return 'The access token was signed with a key the issuer does not publish (unknown kid)';
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) return 'The access token signature is invalid';
  if (error instanceof joseErrors.JOSEAlgNotAllowed) return 'The access token uses a signing algorithm that is not accepted';
  if (error instanceof joseErrors.JWKSTimeout) return "Timed out fetching the issuer's signing keys";
  if (error instanceof joseErrors.JOSEError) return `The access token is malformed (${error.code})`;
  return `Could not verify the access token: ${error instanceof Error ? error.message : String(error)}`;
}

/** Scopes from a `scope` string ("a b c") or an array claim ("scp"). */
function scopesOf(payload: JWTPayload, claim: string): string[] {
  const value = payload[claim];
  if (typeof value === 'string') return value.split(' ').filter((scope) => scope.length > 0);
  if (Array.isArray(value)) return value.filter((scope): scope is string => typeof scope === 'string');
  return [];
}

/**
 * OAuth 2.1 resource server (MCP authorization): accepts JWT access tokens from configured
 * issuers. Checks signature (keys from the issuer's JWKS, fetched and cached by jose, refetched
 * for an unknown `kid` at most every 30 s), `iss`, `aud` (this server's resource URI unless the
 * issuer overrides it), `exp` (required) and `nbf`. The token is never forwarded anywhere.
 */
export class OAuthAuthenticator implements Authenticator {
  private readonly keySets = new Map<string, Promise<JWTVerifyGetKey>>();
  private readonly clock: Clock;

  constructor(
    private readonly oauth: OAuthConfig,
    private readonly options: OAuthAuthenticatorOptions = {},
  ) {
    this.clock = options.clock ?? systemClock;
  }

  async authenticate(request: AuthRequest): Promise<Principal | undefined> {
    const token = bearerToken(request.headers);
    if (token === undefined || !JWT_SHAPE.test(token)) return undefined;
    const jose = await loadJose();
    let unverified: JWTPayload;
    try {
      unverified = jose.decodeJwt(token);
    } catch (error) {
      throw invalidToken('The access token is not a valid JWT', error);
    }
    const issuer = this.oauth.issuers.find((candidate) => candidate.issuer === unverified.iss);
    if (issuer === undefined) throw invalidToken('The access token was issued by an untrusted issuer');
    let payload: JWTPayload;
    try {
      const verified = await jose.jwtVerify(token, await this.keySet(issuer), {
        issuer: issuer.issuer,
        audience: issuer.audience ?? this.oauth.resource,
        requiredClaims: ['exp'],
        clockTolerance: this.oauth.clock_tolerance_secs,
        currentDate: new Date(this.clock.now()),
        ...(issuer.algorithms ? { algorithms: issuer.algorithms } : {}),
      });
      payload = verified.payload;
    } catch (error) {
      if (NexusError.is(error)) throw error;
      throw invalidToken(describeJoseError(error, jose.errors), error);
    }
    return this.principalFor(issuer, payload);
  }

  private async principalFor(issuer: IssuerConfig, payload: JWTPayload): Promise<Principal> {
    const subject = payload.sub ?? (typeof payload['client_id'] === 'string' ? payload['client_id'] : undefined);
    if (subject === undefined) throw invalidToken('The access token has neither "sub" nor "client_id"');
    const scopes = scopesOf(payload, issuer.scopes_claim);
    const missing = this.oauth.required_scopes.filter((scope) => !scopes.includes(scope));
    if (missing.length > 0) {
      throw new NexusError('FORBIDDEN', `The access token lacks the required scope(s): ${missing.join(' ')}`, {
        details: { reason: 'insufficient_scope', requiredScopes: this.oauth.required_scopes },
      });
    }
    const toolScopes = scopes.filter((scope) => scope.startsWith(TOOL_SCOPE_PREFIX)).map((scope) => scope.slice(TOOL_SCOPE_PREFIX.length));
    try {
      validateToolScopes(toolScopes);
    } catch (error) {
      // Dropping a malformed entry could widen what the token may do; refuse the token instead.
      throw invalidToken(`The access token carries a malformed tool scope: ${error instanceof Error ? error.message : String(error)}`, error);
    }
    const tenant = await this.tenantOf(issuer, payload);
    return { id: `oauth:${subject}@${issuer.issuer}`, tenant, kind: 'oauth', toolScopes: toolScopes.length > 0 ? toolScopes : undefined };
  }

  private async tenantOf(issuer: IssuerConfig, payload: JWTPayload): Promise<string> {
    if (issuer.tenant_claim === undefined) return issuer.tenant;
    const value = payload[issuer.tenant_claim];
    if (typeof value !== 'string' || !tenantIdSchema.safeParse(value).success) {
      throw invalidToken(`The access token has no valid "${issuer.tenant_claim}" (tenant) claim`);
    }
    if (this.options.tenantExists && !(await this.options.tenantExists(value))) {
      throw new NexusError('FORBIDDEN', 'The access token names a tenant that does not exist on this server', { details: { reason: 'unknown_tenant' } });
    }
    return value;
  }

  /** The issuer's key set, built once (jose caches and refreshes the keys themselves). */
  private keySet(issuer: IssuerConfig): Promise<JWTVerifyGetKey> {
    let pending = this.keySets.get(issuer.issuer);
    if (pending === undefined) {
      pending = (async () => {
        const jwksUri = issuer.jwks_uri ?? (await discoverJwksUri(issuer.issuer));
        const { createRemoteJWKSet } = await loadJose();
        return createRemoteJWKSet(new URL(jwksUri), { timeoutDuration: FETCH_TIMEOUT_MS, cooldownDuration: 30_000, cacheMaxAge: this.oauth.jwks_cache_secs * 1000 });
      })();
      // A failed discovery is retried on the next request rather than cached forever.
      pending.catch(() => this.keySets.delete(issuer.issuer));
      this.keySets.set(issuer.issuer, pending);
    }
    return pending;
  }
}

/**
 * `jwks_uri` from the issuer's RFC 8414 authorization-server metadata, falling back to OpenID
 * Connect discovery. The metadata's `issuer` must equal the configured one (RFC 8414 §3.3).
 */
export async function discoverJwksUri(issuer: string): Promise<string> {
  const url = new URL(issuer);
  const path = url.pathname === '/' ? '' : url.pathname.replace(/\/$/, '');
  const candidates = [`${url.origin}/.well-known/oauth-authorization-server${path}`, `${url.origin}${path}/.well-known/openid-configuration`];
  for (const candidate of candidates) {
    let metadata: unknown;
    try {
      const response = await fetch(candidate, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS), redirect: 'error', headers: { accept: 'application/json' } });
      if (!response.ok) continue;
      metadata = await response.json();
    } catch {
      continue;
    }
    if (typeof metadata !== 'object' || metadata === null) continue;
    const record = metadata as Record<string, unknown>;
    if (record['issuer'] === issuer && typeof record['jwks_uri'] === 'string') return record['jwks_uri'];
  }
  throw invalidToken(`Could not discover the signing keys of issuer ${issuer} (set jwks_uri in auth.oauth.issuers)`);
}
