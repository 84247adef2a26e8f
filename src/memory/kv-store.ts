import type { JsonValue } from './json-value.js';
import type { IndexTextRow, StorageUsage, TextHit } from './store-types.js';

/** One stored key-value item. Times are milliseconds since the epoch. */
export interface KvItem {
  /** Backend-assigned identity, used to link search indexes to the item. */
  readonly id: number;
  readonly tenant: string;
  readonly namespace: string;
  readonly key: string;
  readonly value: JsonValue;
  readonly tags: readonly string[];
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly expiresAt: number | null;
}

export interface KvPut {
  readonly tenant: string;
  readonly namespace: string;
  readonly key: string;
  /** The value serialised by serializeStorable (already validated and size-checked). */
  readonly valueJson: string;
  readonly tags: readonly string[];
  readonly expiresAt: number | null;
  /** What full-text search and the embedder see; null when the value carries no text. */
  readonly indexText: string | null;
  readonly now: number;
}

export interface KvListQuery {
  readonly tenant: string;
  readonly namespace: string;
  /** Exact, case-sensitive key prefix (no wildcards). */
  readonly prefix?: string | undefined;
  /** Items must carry every one of these tags. */
  readonly tags?: readonly string[] | undefined;
  /** Keys strictly after this one (the cursor). */
  readonly afterKey?: string | undefined;
  readonly limit: number;
  readonly now: number;
}

export interface KvTextQuery {
  readonly tenant: string;
  /** Free text from the user; never interpreted as query syntax. */
  readonly query: string;
  readonly namespace?: string | undefined;
  readonly tags?: readonly string[] | undefined;
  readonly limit: number;
  readonly now: number;
}

/**
 * Key-value memory, scoped by tenant and namespace. Expired items are invisible to every read
 * (whether or not they were swept yet). Implementations: SQLite (src/memory/sqlite) and an
 * in-memory twin; test/storage/kv-store.contract.ts states the behaviour both must have.
 */
export interface KvStore {
  /** Inserts or replaces; `created` is false when a live item was replaced (created_at kept). */
  put(item: KvPut, options?: { signal?: AbortSignal | undefined }): Promise<{ item: KvItem; created: boolean }>;
  get(tenant: string, namespace: string, key: string, now: number): Promise<KvItem | undefined>;
  /** Live items among these ids, in no particular order (search hydration). */
  getByIds(tenant: string, ids: readonly number[], now: number): Promise<KvItem[]>;
  /** True when a live item existed and was removed. */
  delete(tenant: string, namespace: string, key: string, now: number, options?: { signal?: AbortSignal | undefined }): Promise<boolean>;
  /** Live items ordered by key (code point order), at most `limit`, and whether more follow. */
  list(query: KvListQuery): Promise<{ items: KvItem[]; hasMore: boolean }>;
  /** Full-text matches over index texts, best first. */
  searchText(query: KvTextQuery): Promise<TextHit[]>;
  /** Deletes up to `limit` expired items; returns how many. */
  sweepExpired(now: number, limit: number): Promise<number>;
  /** Live items with index text and id > afterId, by id (embedding backfill). */
  indexTexts(afterId: number, limit: number, now: number): Promise<IndexTextRow[]>;
  /** What a tenant stores: live items and their value bytes (quotas). */
  usage(tenant: string, now: number): Promise<StorageUsage>;
  /** Deletes every item of a tenant; returns how many. */
  deleteTenant(tenant: string, options?: { signal?: AbortSignal | undefined }): Promise<number>;
}
