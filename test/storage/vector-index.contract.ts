import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { VectorIndex, VectorRecord } from '../../src/memory/vector-index.js';
import type { StoreFixture } from './kv-store.contract.js';

function unit(values: number[]): Float32Array {
  const norm = Math.hypot(...values) || 1;
  return Float32Array.from(values.map((value) => value / norm));
}

function record(overrides: Partial<VectorRecord> & { refId: number; vector: Float32Array }): VectorRecord {
  return { kind: 'kv', tenant: 'default', scope: 'default', timestamp: 1000, embedder: 'e1', textHash: `h${overrides.refId}`, ...overrides };
}

/** The behaviour every VectorIndex must have. */
export function vectorIndexContract(name: string, create: () => StoreFixture<VectorIndex>): void {
  describe(`VectorIndex contract: ${name}`, () => {
    let fixture: StoreFixture<VectorIndex>;
    let index: VectorIndex;
    beforeEach(() => {
      fixture = create();
      index = fixture.store;
    });
    afterEach(() => fixture.close());

    const query = { tenant: 'default', embedder: 'e1', k: 10, kinds: ['kv', 'message'] as const };

    it('returns the nearest vectors first with cosine distances', async () => {
      await index.upsert([record({ refId: 1, vector: unit([1, 0, 0]) }), record({ refId: 2, vector: unit([1, 1, 0]) }), record({ refId: 3, vector: unit([0, 0, 1]) })]);
      const hits = await index.search({ ...query, vector: unit([1, 0.1, 0]) });
      expect(hits.map((hit) => hit.refId)).toEqual([1, 2, 3]);
      expect(hits[0]?.distance).toBeCloseTo(1 - 1 / Math.hypot(1, 0.1), 4);
      expect(hits[2]?.distance).toBeCloseTo(1, 4);
      expect(await index.search({ ...query, k: 1, vector: unit([0, 0, 1]) })).toEqual([{ kind: 'kv', refId: 3, distance: expect.closeTo(0, 4) }]);
    });

    it('filters by tenant, embedder, kind, scope and time', async () => {
      const v = unit([1, 0, 0]);
      await index.upsert([
        record({ refId: 1, vector: v }),
        record({ refId: 2, vector: v, tenant: 'acme' }),
        record({ refId: 3, vector: v, embedder: 'e2' }),
        record({ refId: 4, vector: v, kind: 'message', scope: 'conv', timestamp: 5000 }),
        record({ refId: 5, vector: v, scope: 'ns2', timestamp: 9000 }),
      ]);
      const ids = async (extra: object): Promise<number[]> => (await index.search({ ...query, vector: v, ...extra })).map((hit) => hit.refId).sort();
      expect(await ids({})).toEqual([1, 4, 5]);
      expect(await ids({ tenant: 'acme' })).toEqual([2]);
      expect(await ids({ embedder: 'e2' })).toEqual([3]);
      expect(await ids({ kinds: ['message'] })).toEqual([4]);
      expect(await ids({ kinds: ['kv'], scope: 'ns2' })).toEqual([5]);
      expect(await ids({ from: 2000, to: 6000 })).toEqual([4]);
      expect(await ids({ kinds: [] })).toEqual([]);
    });

    it('keeps one vector per item, replacing on upsert, and reports who made it', async () => {
      await index.upsert([record({ refId: 1, vector: unit([1, 0]) }), record({ refId: 1, kind: 'message', vector: unit([0, 1]) })]);
      await index.upsert([record({ refId: 1, vector: unit([0, 1]), textHash: 'new', embedder: 'e2' })]);
      expect(await index.lookup('kv', [1, 2])).toEqual(new Map([[1, { embedder: 'e2', textHash: 'new' }]]));
      expect(await index.lookup('message', [1])).toEqual(new Map([[1, { embedder: 'e1', textHash: 'h1' }]]));
      expect(await index.counts()).toEqual([
        { embedder: 'e1', dimensions: 2, count: 1 },
        { embedder: 'e2', dimensions: 2, count: 1 },
      ]);
      expect(await index.search({ ...query, vector: unit([1, 0]) })).toEqual([{ kind: 'message', refId: 1, distance: expect.closeTo(1, 4) }]);
    });

    it('deletes one tenant\'s vectors', async () => {
      await index.upsert([record({ refId: 1, vector: unit([1, 0]) }), record({ refId: 2, tenant: 'acme', vector: unit([1, 0]) })]);
      expect(await index.deleteTenant('default')).toBe(1);
      expect(await index.search({ ...query, vector: unit([1, 0]) })).toEqual([]);
      expect((await index.search({ ...query, tenant: 'acme', vector: unit([1, 0]) })).map((hit) => hit.refId)).toEqual([2]);
    });

    it('never compares vectors of different dimensions and removes other embedders on reindex', async () => {
      await index.upsert([record({ refId: 1, vector: unit([1, 0, 0]) }), record({ refId: 2, vector: unit([1, 0, 0, 0]), embedder: 'e4' })]);
      expect((await index.search({ ...query, vector: unit([1, 0, 0, 0]) })).map((hit) => hit.refId)).toEqual([]);
      expect((await index.search({ ...query, embedder: 'e4', vector: unit([1, 0, 0, 0]) })).map((hit) => hit.refId)).toEqual([2]);
      expect(await index.counts('acme')).toEqual([]);
      expect(await index.removeOtherEmbedders('e4')).toBe(1);
      expect(await index.counts()).toEqual([{ embedder: 'e4', dimensions: 4, count: 1 }]);
      expect(await index.search({ ...query, vector: unit([1, 0, 0]) })).toEqual([]);
    });
  });
}
