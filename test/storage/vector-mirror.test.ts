import { afterEach, describe, expect, it } from 'vitest';
import { SqliteKvStore } from '../../src/memory/sqlite/sqlite-kv-store.js';
import { SqliteVectorIndex } from '../../src/memory/sqlite/sqlite-vector-index.js';
import { JOURNAL_KEEP } from '../../src/memory/sqlite/change-journal.js';
import type { VectorRecord } from '../../src/memory/vector-index.js';
import { twoMemoryConnections } from '../support/memory-database.js';

function record(refId: number, vector: number[]): VectorRecord {
  return { kind: 'kv', refId, tenant: 'default', scope: 'default', timestamp: 1000, embedder: 'e1', textHash: `h${refId}`, vector: Float32Array.from(vector) };
}

const query = { tenant: 'default', embedder: 'e1', k: 10, kinds: ['kv'] as const };

// Searches scan an in-process copy of the vectors; these tests change the database behind a copy's
// back (another connection, as another process would; triggers) and check that it catches up.
describe('vector search copies stay current', () => {
  const cleanups: Array<() => void> = [];
  afterEach(() => {
    for (const cleanup of cleanups.splice(0).reverse()) cleanup();
  });

  const twoConnections = () => twoMemoryConnections(cleanups);

  it('sees vectors another connection adds, replaces and deletes, and deletions by triggers', async () => {
    const [first, second] = twoConnections();
    const reader = new SqliteVectorIndex(first);
    const writer = new SqliteVectorIndex(second);
    await writer.upsert([record(11, [1, 0, 0]), record(12, [0, 1, 0])]);
    expect((await reader.search({ ...query, vector: Float32Array.from([1, 0, 0]) })).map((hit) => hit.refId)).toEqual([11, 12]);

    await writer.upsert([record(12, [1, 0.1, 0]), record(13, [0, 0, 1])]);
    expect((await reader.search({ ...query, vector: Float32Array.from([1, 0, 0]) })).map((hit) => hit.refId)).toEqual([11, 12, 13]);

    // Deleting an item deletes its embedding by trigger, in whichever process deletes it.
    const kv = new SqliteKvStore(second);
    const { item } = await kv.put({ tenant: 'default', namespace: 'default', key: 'k', valueJson: '"x"', tags: [], expiresAt: null, indexText: 'x', now: 1 });
    await writer.upsert([record(item.id, [0, -1, 0])]);
    expect((await reader.search({ ...query, vector: Float32Array.from([0, -1, 0]) }))[0]?.refId).toBe(item.id);
    await kv.delete('default', 'default', 'k', 2);
    expect((await reader.search({ ...query, vector: Float32Array.from([0, -1, 0]) })).map((hit) => hit.refId)).not.toContain(item.id);

    expect(await writer.deleteTenant('default')).toBe(3);
    expect(await reader.search({ ...query, vector: Float32Array.from([1, 0, 0]) })).toEqual([]);
  });

  it('reloads a copy that fell behind the trimmed part of the journal', async () => {
    const [first, second] = twoConnections();
    const reader = new SqliteVectorIndex(first);
    const writer = new SqliteVectorIndex(second);
    await writer.upsert([record(1, [1, 0])]);
    expect((await reader.search({ ...query, vector: Float32Array.from([1, 0]) })).map((hit) => hit.refId)).toEqual([1]);
    // Enough changes that the entries the reader needs are trimmed away.
    const batch = Array.from({ length: 500 }, (_, index) => record(100 + index, [0, 1]));
    for (let round = 0; round * 1000 <= JOURNAL_KEEP; round += 1) await writer.upsert(batch);
    await writer.upsert([record(1, [-1, 0])]);
    const oldest = second.read((db) => db.prepare('SELECT min(seq) AS seq FROM vector_journal').get()) as { seq: number };
    expect(oldest.seq).toBeGreaterThan(2);
    const hits = await reader.search({ ...query, k: 1000, vector: Float32Array.from([1, 0]) });
    expect(hits).toHaveLength(501);
    expect(hits.at(-1)).toEqual({ kind: 'kv', refId: 1, distance: expect.closeTo(2, 5) });
  });
});
