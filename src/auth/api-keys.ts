import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { NexusError } from '../errors/index.js';
import { presentedKey, type Authenticator, type AuthRequest } from './authenticator.js';
import { systemClock, type Clock } from './clock.js';
import { parseTimeExpression } from './durations.js';
import type { Principal } from './principal.js';

/**
 * API keys look like `nxk_<16 hex id>_<43 base64url secret>`. The id is public (listed, used for
 * lookup and revocation); only the secret's HMAC under a per-key random salt is stored, so a copy
 * of the database does not let anyone call Nexus. With 256 random bits per secret, a slow KDF would
 * add nothing but latency on every request.
 */
const KEY_PATTERN = /^nxk_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;
export const API_KEY_PREFIX = 'nxk_';

/** What the store keeps about a key: never the secret. */
export interface ApiKeyRecord {
  readonly id: string;
  readonly tenant: string;
  readonly name: string | null;
  /** Tool globs the key may call; null means every tool the tenant may use. */
  readonly scopes: readonly string[] | null;
  readonly createdAt: number;
  readonly expiresAt: number | null;
  readonly revokedAt: number | null;
}

export interface StoredApiKey extends ApiKeyRecord {
  readonly salt: Buffer;
  readonly hash: Buffer;
}

/** Persistence of API keys (SQLite by default). */
export interface ApiKeyStore {
  insert(key: StoredApiKey): Promise<void>;
  get(id: string): Promise<StoredApiKey | undefined>;
  list(filter?: { tenant?: string | undefined }): Promise<ApiKeyRecord[]>;
  /** Marks a key revoked; false when no such key exists. */
  revoke(id: string, at: number): Promise<boolean>;
  /** True while at least one key is not revoked: from then on HTTP requires credentials. */
  hasUsableKeys(): Promise<boolean>;
  deleteTenant(tenant: string): Promise<number>;
}

export interface CreatedApiKey {
  /** The full key, shown once. */
  readonly key: string;
  readonly record: ApiKeyRecord;
}

function hmac(salt: Buffer, secret: string): Buffer {
  return createHmac('sha256', salt).update(secret, 'utf8').digest();
}

/** Splits a presented key into id and secret; undefined when it is not shaped like a Nexus key. */
export function parseApiKey(key: string): { id: string; secret: string } | undefined {
  const match = KEY_PATTERN.exec(key);
  return match?.[1] !== undefined && match[2] !== undefined ? { id: match[1], secret: match[2] } : undefined;
}

/** `30d`, `12h`, `90m`, `2w` or an ISO date/time → epoch ms, which must lie in the future. */
export function parseExpiry(text: string, now: number): number {
  const at = parseTimeExpression(text, now, 1);
  if (!Number.isFinite(at)) throw new NexusError('USAGE_ERROR', `Invalid expiry "${text}": use a duration like 30d, 12h, 90m, 2w or an ISO date`);
  if (at <= now) throw new NexusError('USAGE_ERROR', `Expiry "${text}" is not in the future`);
  return at;
}

/** Issues, lists and revokes API keys. */
export class ApiKeyService {
  constructor(
    private readonly store: ApiKeyStore,
    private readonly clock: Clock = systemClock,
  ) {}

  async create(options: { tenant: string; name?: string | undefined; scopes?: readonly string[] | undefined; expiresAt?: number | undefined }): Promise<CreatedApiKey> {
    const id = randomBytes(8).toString('hex');
    const secret = randomBytes(32).toString('base64url');
    const salt = randomBytes(16);
    const record: ApiKeyRecord = {
      id,
      tenant: options.tenant,
      name: options.name ?? null,
      scopes: options.scopes === undefined ? null : [...options.scopes],
      createdAt: this.clock.now(),
      expiresAt: options.expiresAt ?? null,
      revokedAt: null,
    };
    await this.store.insert({ ...record, salt, hash: hmac(salt, secret) });
    return { key: `${API_KEY_PREFIX}${id}_${secret}`, record };
  }

  list(filter?: { tenant?: string | undefined }): Promise<ApiKeyRecord[]> {
    return this.store.list(filter);
  }

  async revoke(id: string): Promise<void> {
    if (!(await this.store.revoke(id, this.clock.now()))) throw new NexusError('API_KEY_NOT_FOUND', `No API key with id "${id}"`, { details: { id } });
  }

  /**
   * The key's record when the presented key is genuine, usable and unexpired. Anything else is
   * UNAUTHORIZED; revoked and expired are named only once the secret has been verified, so the
   * answer tells nothing to someone who merely knows an id.
   */
  async verify(presented: string): Promise<ApiKeyRecord> {
    const parsed = parseApiKey(presented);
    if (parsed === undefined) throw invalidKey();
    const stored = await this.store.get(parsed.id);
    // Unknown ids still pay for one HMAC so timing does not tell them from wrong secrets.
    const expected = stored?.hash ?? Buffer.alloc(32);
    const actual = hmac(stored?.salt ?? DUMMY_SALT, parsed.secret);
    if (!timingSafeEqual(expected, actual) || stored === undefined) throw invalidKey();
    if (stored.revokedAt !== null) throw new NexusError('UNAUTHORIZED', 'This API key has been revoked', { details: { keyId: stored.id, reason: 'revoked' } });
    if (stored.expiresAt !== null && stored.expiresAt <= this.clock.now()) {
      throw new NexusError('UNAUTHORIZED', 'This API key has expired', { details: { keyId: stored.id, reason: 'expired' } });
    }
    return stored;
  }
}

const DUMMY_SALT = randomBytes(16);

function invalidKey(): NexusError {
  return new NexusError('UNAUTHORIZED', 'Invalid API key', { details: { reason: 'invalid' } });
}

/** The principal an API key acts as. */
export function apiKeyPrincipal(record: ApiKeyRecord): Principal {
  return { id: `key:${record.id}`, tenant: record.tenant, kind: 'api-key', toolScopes: record.scopes ?? undefined };
}

/**
 * Authenticates `nxk_…` keys from `Authorization: Bearer` or the API-key header. Other credentials
 * are left to the next authenticator; a Nexus-shaped key that fails is refused outright.
 */
export class ApiKeyAuthenticator implements Authenticator {
  constructor(
    private readonly keys: ApiKeyService,
    private readonly apiKeyHeader: string,
  ) {}

  async authenticate(request: AuthRequest): Promise<Principal | undefined> {
    const key = presentedKey(request.headers, this.apiKeyHeader);
    if (key === undefined || !key.startsWith(API_KEY_PREFIX)) return undefined;
    return apiKeyPrincipal(await this.keys.verify(key));
  }
}
