import { createHash, timingSafeEqual } from 'node:crypto';
import type { NexusConfig } from '../config/index.js';
import { DEFAULT_TENANT, type Principal } from './principal.js';

/** What an authenticator sees of an HTTP request. */
export interface AuthRequest {
  readonly headers: Headers;
  readonly remoteAddress: string | undefined;
}

/**
 * Turns a request's credentials into a principal. `undefined` means "no credential I
 * recognise"; throwing a NexusError means "a credential was presented and is bad".
 */
export interface Authenticator {
  authenticate(request: AuthRequest): Promise<Principal | undefined>;
}

function sha256(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/** The presented secret: `Authorization: Bearer <key>` or the configured API-key header. */
export function presentedKey(headers: Headers, apiKeyHeader: string): string | undefined {
  const authorization = headers.get('authorization');
  if (authorization?.toLowerCase().startsWith('bearer ')) return authorization.slice(7).trim() || undefined;
  return headers.get(apiKeyHeader) ?? undefined;
}

/**
 * The original's `auth.api_keys`: lowercase hex SHA-256 digests of the keys, compared in
 * constant time. Each key becomes its own principal (named by a digest prefix).
 */
export class ConfigKeyAuthenticator implements Authenticator {
  private readonly digests: Buffer[];

  constructor(private readonly auth: NexusConfig['auth']) {
    this.digests = auth.api_keys.map((hex) => Buffer.from(hex.toLowerCase(), 'hex'));
  }

  async authenticate(request: AuthRequest): Promise<Principal | undefined> {
    const key = presentedKey(request.headers, this.auth.api_key_header);
    if (key === undefined) return undefined;
    const digest = sha256(key);
    // Compare against every digest so timing does not reveal which one (or whether any) matched.
    let matched: Buffer | undefined;
    for (const candidate of this.digests) {
      if (timingSafeEqual(candidate, digest)) matched = candidate;
    }
    return matched === undefined ? undefined : { id: `key:${matched.toString('hex').slice(0, 12)}`, tenant: DEFAULT_TENANT, kind: 'api-key' };
  }
}

/** Tries authenticators in order; the first principal wins. */
export class ChainAuthenticator implements Authenticator {
  constructor(private readonly chain: readonly Authenticator[]) {}

  async authenticate(request: AuthRequest): Promise<Principal | undefined> {
    for (const authenticator of this.chain) {
      const principal = await authenticator.authenticate(request);
      if (principal) return principal;
    }
    return undefined;
  }
}
