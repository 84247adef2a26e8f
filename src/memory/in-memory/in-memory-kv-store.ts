import { parseStored } from '../json-value.js';
import { compareCodePoints } from '../key-order.js';
import type { KvItem, KvListQuery, KvPut, KvStore, KvTextQuery } from '../kv-store.js';
import type { IndexTextRow, StorageUsage, TextHit } from '../store-types.js';
import { rankTexts } from './text-rank.js';

interface Stored {
  readonly id: number;
  readonly tenant: string;
  readonly namespace: string;
  readonly key: string;
  readonly valueJson: string;
  readonly tags: readonly string[];
  readonly indexText: string | null;
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly expiresAt: number | null;
}

/** KvStore twin in a Map: for tests and embedding Nexus without a file. Same contract as SQLite. */
export class InMemoryKvStore implements KvStore {
  private readonly items = new Map<string, Stored>();
  private nextId = 1;

  async put(item: KvPut): Promise<{ item: KvItem; created: boolean }> {
    const slot = slotOf(item.tenant, item.namespace, item.key);
    const existing = this.items.get(slot);
    const live = existing !== undefined && isLive(existing, item.now);
    const stored: Stored = {
      id: live ? existing.id : this.nextId++,
      tenant: item.tenant,
      namespace: item.namespace,
      key: item.key,
      valueJson: item.valueJson,
      tags: [...item.tags],
      indexText: item.indexText,
      createdAt: live ? existing.createdAt : item.now,
      updatedAt: item.now,
      expiresAt: item.expiresAt,
    };
    this.items.set(slot, stored);
    return { item: toItem(stored), created: !live };
  }

  async get(tenant: string, namespace: string, key: string, now: number): Promise<KvItem | undefined> {
    const stored = this.items.get(slotOf(tenant, namespace, key));
    return stored !== undefined && isLive(stored, now) ? toItem(stored) : undefined;
  }

  async getByIds(tenant: string, ids: readonly number[], now: number): Promise<KvItem[]> {
    const wanted = new Set(ids);
    return this.live(tenant, now)
      .filter((stored) => wanted.has(stored.id))
      .map(toItem);
  }

  async delete(tenant: string, namespace: string, key: string, now: number): Promise<boolean> {
    const slot = slotOf(tenant, namespace, key);
    const stored = this.items.get(slot);
    this.items.delete(slot);
    return stored !== undefined && isLive(stored, now);
  }

  async list(query: KvListQuery): Promise<{ items: KvItem[]; hasMore: boolean }> {
    const matching = this.live(query.tenant, query.now)
      .filter((stored) => stored.namespace === query.namespace)
      .filter((stored) => query.prefix === undefined || stored.key.startsWith(query.prefix))
      .filter((stored) => query.afterKey === undefined || compareCodePoints(stored.key, query.afterKey) > 0)
      .filter((stored) => hasTags(stored, query.tags))
      .sort((left, right) => compareCodePoints(left.key, right.key));
    return { items: matching.slice(0, query.limit).map(toItem), hasMore: matching.length > query.limit };
  }

  async searchText(query: KvTextQuery): Promise<TextHit[]> {
    const documents = this.live(query.tenant, query.now)
      .filter((stored) => query.namespace === undefined || stored.namespace === query.namespace)
      .filter((stored) => hasTags(stored, query.tags))
      .flatMap((stored) => (stored.indexText === null ? [] : [{ id: stored.id, text: stored.indexText }]));
    return rankTexts(query.query, documents, query.limit);
  }

  async sweepExpired(now: number, limit: number): Promise<number> {
    const expired = [...this.items.entries()].filter(([, stored]) => !isLive(stored, now)).slice(0, limit);
    for (const [slot] of expired) this.items.delete(slot);
    return expired.length;
  }

  async indexTexts(afterId: number, limit: number, now: number): Promise<IndexTextRow[]> {
    return [...this.items.values()]
      .filter((stored) => stored.id > afterId && stored.indexText !== null && isLive(stored, now))
      .sort((left, right) => left.id - right.id)
      .slice(0, limit)
      .map((stored) => ({ id: stored.id, tenant: stored.tenant, scope: stored.namespace, text: stored.indexText ?? '', timestamp: stored.updatedAt }));
  }

  async usage(tenant: string, now: number): Promise<StorageUsage> {
    const live = this.live(tenant, now);
    return { items: live.length, bytes: live.reduce((sum, stored) => sum + Buffer.byteLength(stored.valueJson), 0) };
  }

  async deleteTenant(tenant: string): Promise<number> {
    const doomed = [...this.items.entries()].filter(([, stored]) => stored.tenant === tenant);
    for (const [slot] of doomed) this.items.delete(slot);
    return doomed.length;
  }

  private live(tenant: string, now: number): Stored[] {
    return [...this.items.values()].filter((stored) => stored.tenant === tenant && isLive(stored, now));
  }
}

function slotOf(tenant: string, namespace: string, key: string): string {
  return JSON.stringify([tenant, namespace, key]);
}

function isLive(stored: Stored, now: number): boolean {
  return stored.expiresAt === null || stored.expiresAt > now;
}

function hasTags(stored: Stored, tags: readonly string[] | undefined): boolean {
  return (tags ?? []).every((tag) => stored.tags.includes(tag));
}

function toItem(stored: Stored): KvItem {
  return {
    id: stored.id,
    tenant: stored.tenant,
    namespace: stored.namespace,
    key: stored.key,
    // Parsed per read, so callers never share (or mutate) the stored value.
    value: parseStored(stored.valueJson),
    tags: [...stored.tags],
    createdAt: stored.createdAt,
    updatedAt: stored.updatedAt,
    expiresAt: stored.expiresAt,
  };
}
