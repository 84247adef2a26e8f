import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { KvPut, KvStore } from '../../src/memory/kv-store.js';

/** A store under test and how to dispose of it. */
export interface StoreFixture<T> {
  store: T;
  close(): void;
}

const T0 = 1_700_000_000_000;

function put(overrides: Partial<KvPut> & { key: string }): KvPut {
  return {
    tenant: 'default',
    namespace: 'default',
    valueJson: JSON.stringify(`value of ${overrides.key}`),
    tags: [],
    expiresAt: null,
    indexText: null,
    now: T0,
    ...overrides,
  };
}

/**
 * The behaviour every KvStore must have. A new backend (PostgreSQL…) is done when this suite
 * passes against it.
 */
export function kvStoreContract(name: string, create: () => StoreFixture<KvStore>): void {
  describe(`KvStore contract: ${name}`, () => {
    let fixture: StoreFixture<KvStore>;
    let store: KvStore;
    beforeEach(() => {
      fixture = create();
      store = fixture.store;
    });
    afterEach(() => fixture.close());

    it('stores and reads back any JSON, keeping created_at on replace', async () => {
      const first = await store.put(put({ key: 'k', valueJson: JSON.stringify({ a: [1, 'two', null, true] }), now: T0 }));
      expect(first.created).toBe(true);
      const second = await store.put(put({ key: 'k', valueJson: '42', tags: ['x'], now: T0 + 5 }));
      expect(second.created).toBe(false);
      expect(second.item.id).toBe(first.item.id);
      const item = await store.get('default', 'default', 'k', T0 + 6);
      expect(item).toMatchObject({ key: 'k', value: 42, tags: ['x'], createdAt: T0, updatedAt: T0 + 5, expiresAt: null });
    });

    it('keeps tenants and namespaces apart', async () => {
      await store.put(put({ key: 'k', valueJson: '"a"' }));
      await store.put(put({ key: 'k', namespace: 'other', valueJson: '"b"' }));
      await store.put(put({ key: 'k', tenant: 'acme', valueJson: '"c"' }));
      expect((await store.get('default', 'default', 'k', T0))?.value).toBe('a');
      expect((await store.get('default', 'other', 'k', T0))?.value).toBe('b');
      expect((await store.get('acme', 'default', 'k', T0))?.value).toBe('c');
      expect(await store.get('acme', 'other', 'k', T0)).toBeUndefined();
      expect((await store.list({ tenant: 'acme', namespace: 'default', limit: 10, now: T0 })).items.map((item) => item.value)).toEqual(['c']);
    });

    it('reads items by id exactly as get does, whatever JSON they hold, only in their tenant', async () => {
      const values = [{ nested: { list: [1, -2.5, 1e300, null, true], text: 'é "quoted" \\ \n\t ✓ 😀' } }, 'plain', 2 ** 53 + 2, -0.125, null, false, [], {}];
      const ids: number[] = [];
      for (const [index, value] of values.entries()) ids.push((await store.put(put({ key: `k${index}`, valueJson: JSON.stringify(value), tags: index % 2 === 0 ? ['even', 'x'] : [] }))).item.id);
      const other = await store.put(put({ key: 'k0', tenant: 'acme', valueJson: '"theirs"' }));
      const found = await store.getByIds('default', [...ids, other.item.id, 999_999], T0);
      const byId = new Map(found.map((item) => [item.id, item]));
      expect(found).toHaveLength(values.length);
      for (const [index, id] of ids.entries()) expect(byId.get(id)).toEqual(await store.get('default', 'default', `k${index}`, T0));
      expect(byId.get(ids[0]!)?.value).toEqual(values[0]);
      expect(await store.getByIds('acme', ids, T0)).toEqual([]);
      expect(await store.getByIds('default', [], T0)).toEqual([]);
    });

    it('hides expired items from every read before and after sweeping', async () => {
      await store.put(put({ key: 'short', expiresAt: T0 + 1000, indexText: 'ephemeral note' }));
      await store.put(put({ key: 'long', indexText: 'ephemeral forever' }));
      const live = await store.get('default', 'default', 'short', T0 + 999);
      expect(live?.expiresAt).toBe(T0 + 1000);
      const later = T0 + 1000;
      expect(await store.get('default', 'default', 'short', later)).toBeUndefined();
      expect((await store.list({ tenant: 'default', namespace: 'default', limit: 10, now: later })).items.map((item) => item.key)).toEqual(['long']);
      expect((await store.searchText({ tenant: 'default', query: 'ephemeral', limit: 10, now: later })).map((hit) => hit.id)).toEqual([(await store.get('default', 'default', 'long', later))?.id]);
      expect(await store.getByIds('default', [live?.id ?? -1], later)).toEqual([]);
      expect(await store.sweepExpired(later, 100)).toBe(1);
      expect(await store.sweepExpired(later, 100)).toBe(0);
    });

    it('treats a write over an expired item as a new item', async () => {
      await store.put(put({ key: 'k', expiresAt: T0 + 10 }));
      const again = await store.put(put({ key: 'k', now: T0 + 20 }));
      expect(again.created).toBe(true);
      expect(again.item.createdAt).toBe(T0 + 20);
    });

    it('reports whether delete removed a live item', async () => {
      await store.put(put({ key: 'k' }));
      await store.put(put({ key: 'gone', expiresAt: T0 + 1 }));
      expect(await store.delete('default', 'default', 'k', T0)).toBe(true);
      expect(await store.delete('default', 'default', 'k', T0)).toBe(false);
      expect(await store.delete('default', 'default', 'gone', T0 + 5)).toBe(false);
      expect(await store.get('default', 'default', 'k', T0)).toBeUndefined();
    });

    it('lists by exact, case-sensitive prefix where % and _ are plain characters', async () => {
      for (const key of ['50%_off', '50%x', '500', 'user:1', 'user:2', 'User:3', 'user_4', 'usera']) await store.put(put({ key }));
      const keys = async (prefix: string): Promise<string[]> => (await store.list({ tenant: 'default', namespace: 'default', prefix, limit: 100, now: T0 })).items.map((item) => item.key);
      expect(await keys('50%')).toEqual(['50%_off', '50%x']);
      expect(await keys('50%_')).toEqual(['50%_off']);
      expect(await keys('user:')).toEqual(['user:1', 'user:2']);
      expect(await keys('user_')).toEqual(['user_4']);
      expect(await keys('')).toHaveLength(8);
    });

    it('orders keys by code point and pages with a cursor', async () => {
      const all = ['a', 'b', 'c', 'd', 'e', '\u{1F600}', '\uFFFD'];
      for (const key of [...all].reverse()) await store.put(put({ key }));
      const seen: string[] = [];
      let afterKey: string | undefined;
      for (;;) {
        const page = await store.list({ tenant: 'default', namespace: 'default', afterKey, limit: 3, now: T0 });
        seen.push(...page.items.map((item) => item.key));
        if (!page.hasMore) break;
        afterKey = page.items.at(-1)?.key;
      }
      expect(seen).toEqual(['a', 'b', 'c', 'd', 'e', '\uFFFD', '\u{1F600}']);
    });

    it('filters by tags (every tag required)', async () => {
      await store.put(put({ key: 'both', tags: ['red', 'big'] }));
      await store.put(put({ key: 'red', tags: ['red'] }));
      await store.put(put({ key: 'none' }));
      const keys = async (tags: string[]): Promise<string[]> => (await store.list({ tenant: 'default', namespace: 'default', tags, limit: 10, now: T0 })).items.map((item) => item.key);
      expect(await keys(['red'])).toEqual(['both', 'red']);
      expect(await keys(['red', 'big'])).toEqual(['both']);
      expect(await keys(['blue'])).toEqual([]);
    });

    it('finds items by words of their index text, stemmed, best match first, within filters', async () => {
      const a = await store.put(put({ key: 'a', indexText: 'The user enjoys painting landscapes and painting portraits', tags: ['hobby'] }));
      const b = await store.put(put({ key: 'b', indexText: 'A painted fence by the road' }));
      await store.put(put({ key: 'c', indexText: 'Quarterly tax report' }));
      await store.put(put({ key: 'd', namespace: 'work', indexText: 'painting the office' }));
      await store.put(put({ key: 'e', tenant: 'acme', indexText: 'painting elsewhere' }));
      const hits = await store.searchText({ tenant: 'default', query: 'paintings', namespace: 'default', limit: 10, now: T0 });
      // "paintings", "painting" and "painted" share the stem "paint"; two occurrences rank first.
      expect(hits.map((hit) => hit.id)).toEqual([a.item.id, b.item.id]);
      expect(hits[0]?.score).toBeGreaterThan(hits[1]?.score ?? Infinity);
      const paint = await store.searchText({ tenant: 'default', query: 'paint fence', namespace: 'default', limit: 10, now: T0 });
      expect(paint.map((hit) => hit.id)).toEqual([b.item.id, a.item.id]);
      expect((await store.searchText({ tenant: 'default', query: 'painting', tags: ['hobby'], limit: 10, now: T0 })).map((hit) => hit.id)).toEqual([a.item.id]);
      expect(await store.searchText({ tenant: 'default', query: 'the and of', namespace: 'nowhere', limit: 10, now: T0 })).toEqual([]);
    });

    it('never reads user text as query syntax', async () => {
      await store.put(put({ key: 'a', indexText: 'near the column: star * power' }));
      for (const query of ['"', 'NEAR(a b)', 'index_text: star', 'star*', 'a AND OR NOT', '^power', '(', "it's", '']) {
        await expect(store.searchText({ tenant: 'default', query, limit: 10, now: T0 })).resolves.toBeInstanceOf(Array);
      }
      expect(await store.searchText({ tenant: 'default', query: 'column: star*', limit: 10, now: T0 })).toHaveLength(1);
    });

    it('measures and deletes one tenant\'s items', async () => {
      await store.put(put({ key: 'a', valueJson: '"héllo"' }));
      await store.put(put({ key: 'b', valueJson: '[1,2]', expiresAt: T0 + 10 }));
      await store.put(put({ key: 'c', tenant: 'acme', valueJson: '"x"' }));
      expect(await store.usage('default', T0)).toEqual({ items: 2, bytes: Buffer.byteLength('"héllo"') + 5 });
      expect(await store.usage('default', T0 + 10)).toEqual({ items: 1, bytes: Buffer.byteLength('"héllo"') });
      expect(await store.deleteTenant('default')).toBe(2);
      expect(await store.usage('default', T0)).toEqual({ items: 0, bytes: 0 });
      expect((await store.get('acme', 'default', 'c', T0))?.value).toBe('x');
    });

    it('hands out index texts in id order for backfill', async () => {
      const first = await store.put(put({ key: 'x', indexText: 'one' }));
      await store.put(put({ key: 'y' }));
      const third = await store.put(put({ key: 'z', namespace: 'ns', indexText: 'three' }));
      const rows = await store.indexTexts(0, 10, T0);
      expect(rows).toEqual([
        { id: first.item.id, tenant: 'default', scope: 'default', text: 'one', timestamp: T0 },
        { id: third.item.id, tenant: 'default', scope: 'ns', text: 'three', timestamp: T0 },
      ]);
      expect(await store.indexTexts(first.item.id, 10, T0)).toHaveLength(1);
    });
  });
}
