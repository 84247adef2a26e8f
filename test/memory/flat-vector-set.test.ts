import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { assembleDotKernel, renderDotKernelModule } from '../../scripts/gen-dot-kernel.mjs';
import { createKernelMemory, hasSimdKernel, queryLanesFor, vectorBytesFor, vectorKernel } from '../../src/memory/search/dot-kernel.js';
import { FlatVectorSet } from '../../src/memory/search/flat-vector-set.js';

/** A deterministic pseudo-random vector. */
function vector(seed: number, dimensions: number): Float32Array {
  let state = seed * 7919 + 1;
  return Float32Array.from({ length: dimensions }, () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state / 2147483648 - 0.5;
  });
}

function cosine(left: ArrayLike<number>, right: ArrayLike<number>): number {
  let dot = 0;
  let leftNorm = 0;
  let rightNorm = 0;
  for (let index = 0; index < left.length; index += 1) {
    dot += left[index]! * right[index]!;
    leftNorm += left[index]! ** 2;
    rightNorm += right[index]! ** 2;
  }
  return dot / Math.sqrt(leftNorm * rightNorm);
}

/** A kernel memory holding a query (int16) and `count` int8 vectors with scales, filled deterministically. */
function kernelFixture(count: number, vectorBytes: number) {
  const lanes = queryLanesFor(vectorBytes);
  const memory = createKernelMemory(Math.ceil((2 * lanes + count * (vectorBytes + 8) + 16) / 65_536) + 1);
  const layout = { query: 0, vectors: 2 * lanes, scales: 2 * lanes + count * vectorBytes, out: 2 * lanes + count * vectorBytes + count * 4 };
  const query = new Int16Array(memory.buffer, layout.query, lanes);
  const vectors = new Int8Array(memory.buffer, layout.vectors, count * vectorBytes);
  const scales = new Float32Array(memory.buffer, layout.scales, count);
  // Lanes past the vector's bytes stay zero, as the kernel requires.
  for (let j = 0; j < vectorBytes; j += 1) query[j] = Math.round(32_767 * Math.sin(j * 1.7));
  for (let index = 0; index < vectors.length; index += 1) vectors[index] = Math.round(127 * Math.cos(index * 0.37));
  for (let index = 0; index < count; index += 1) scales[index] = 0.001 + index / 1000;
  const run = (simd: boolean, n: number, queryScale: number): Float32Array => {
    const out = new Float32Array(memory.buffer, layout.out, count + 1);
    out.fill(-99);
    vectorKernel(memory, { simd }).dots(layout.query, layout.vectors, n, vectorBytes, layout.scales, layout.out, queryScale);
    expect(out[n]).toBe(-99);
    return out.slice(0, n);
  };
  return { memory, layout, query, vectors, scales, run };
}

describe('dot kernel', () => {
  it('has WebAssembly SIMD on this Node, pads vectors to 8 bytes and the query to 16 lanes', () => {
    expect(hasSimdKernel()).toBe(true);
    expect(vectorBytesFor(100)).toBe(104);
    expect(vectorBytesFor(16)).toBe(16);
    expect(vectorBytesFor(1)).toBe(8);
    expect(queryLanesFor(104)).toBe(112);
    expect(queryLanesFor(16)).toBe(16);
    expect(queryLanesFor(8)).toBe(16);
  });

  // 104 and 8 bytes are odd multiples of 8: each vector's last 16-byte step reads 8 bytes of the next.
  it.each([100, 5, 16])('computes sum(int8 x int16) x scale x query scale for %i dimensions, the same float32 in SIMD and JavaScript, for every count, writing nothing past it', (dimensions) => {
    const vectorBytes = vectorBytesFor(dimensions);
    const count = 11;
    const fixture = kernelFixture(count, vectorBytes);
    for (let n = 0; n <= count; n += 1) {
      const simd = fixture.run(true, n, 0.25);
      const plain = fixture.run(false, n, 0.25);
      expect(Array.from(simd)).toEqual(Array.from(plain));
      for (let index = 0; index < n; index += 1) {
        let sum = 0;
        for (let j = 0; j < vectorBytes; j += 1) sum += fixture.vectors[index * vectorBytes + j]! * fixture.query[j]!;
        expect(simd[index]).toBe(Math.fround(Math.fround(Math.fround(sum) * fixture.scales[index]!) * 0.25));
      }
    }
  });

  it('does not overflow up to the query magnitude FlatVectorSet allows (127 x the sum of |query| < 2^31)', () => {
    const dimensions = 1024;
    const vectorBytes = vectorBytesFor(dimensions);
    const fixture = kernelFixture(5, vectorBytes);
    // FlatVectorSet keeps the query's int16 magnitudes summing to at most 16,000,000.
    fixture.query.fill(16_000_000 / dimensions);
    fixture.vectors.fill(-127);
    fixture.scales.fill(1);
    const expected = Math.fround(-127 * 16_000_000);
    expect(Array.from(fixture.run(true, 5, 1))).toEqual(Array(5).fill(expected));
    expect(Array.from(fixture.run(false, 5, 1))).toEqual(Array(5).fill(expected));
  });

  it('lists the scores at or above a floor, in order, the same in SIMD and JavaScript, for every count', () => {
    const memory = createKernelMemory(1);
    const scores = new Float32Array(memory.buffer, 0, 11);
    scores.set([0.5, -1, 0.25, 0.5, 0.75, 0.1, 0.5, 0.9, -0.5, 0.5, 0.3]);
    const out = 64;
    for (const simd of [true, false]) {
      const { above } = vectorKernel(memory, { simd });
      for (let count = 0; count <= scores.length; count += 1) {
        const found = above(0, count, 0.5, out);
        const expected = Array.from(scores.subarray(0, count).entries()).filter(([, score]) => score >= 0.5).map(([index]) => index);
        expect(Array.from(new Int32Array(memory.buffer, out, found))).toEqual(expected);
      }
      expect(above(0, 11, 2, out)).toBe(0);
      expect(above(0, 11, -2, out)).toBe(11);
    }
  });

  it('finds the maximum of each block of scores, the last block taking the rest, the same in SIMD and JavaScript', () => {
    const memory = createKernelMemory(1);
    const scores = new Float32Array(memory.buffer, 0, 23);
    scores.set(Array.from({ length: 23 }, (_, index) => Math.fround(Math.sin(index * 2.3))));
    const out = 256;
    const expectedMaxima = (count: number, block: number): number[] => {
      const blocks = Math.floor(count / block);
      return Array.from({ length: blocks }, (_, index) => Math.max(...scores.subarray(index * block, index === blocks - 1 ? count : (index + 1) * block)));
    };
    for (const simd of [true, false]) {
      const { maxima } = vectorKernel(memory, { simd });
      for (const block of [4, 8, 12]) {
        for (let count = block; count <= scores.length; count += 1) {
          const blocks = maxima(0, count, block, out);
          expect(blocks).toBe(Math.floor(count / block));
          expect(Array.from(new Float32Array(memory.buffer, out, blocks))).toEqual(expectedMaxima(count, block));
        }
      }
      // The largest score in the tail, in the last lane of a block, in the first.
      for (const position of [22, 15, 8]) {
        const saved = scores[position]!;
        scores[position] = 5;
        expect(Array.from(new Float32Array(memory.buffer, out, maxima(0, 23, 8, out)))).toEqual(expectedMaxima(23, 8));
        scores[position] = saved;
      }
    }
  });

  it('rescores float32 rows against a float64 query to the same float64 bits in SIMD and JavaScript, whatever the dimensions', () => {
    for (const dimensions of [1, 3, 4, 7, 100]) {
      const rows = 9;
      const memory = createKernelMemory(1);
      const layout = { query: 0, exact: 1024, slots: 1024 + rows * dimensions * 4, out: 8192 };
      const query = new Float64Array(memory.buffer, layout.query, dimensions);
      query.set(vector(dimensions, dimensions));
      new Float32Array(memory.buffer, layout.exact, rows * dimensions).set(Array.from({ length: rows }, (_, row) => Array.from(vector(row + 50, dimensions))).flat());
      const slots = [8, 0, 3, 3, 5];
      new Int32Array(memory.buffer, layout.slots, slots.length).set(slots);
      const run = (simd: boolean): number[] => {
        const out = new Float64Array(memory.buffer, layout.out, slots.length + 1);
        out.fill(-99);
        vectorKernel(memory, { simd }).rescore(layout.exact, dimensions, layout.slots, slots.length, layout.query, layout.out);
        expect(out[slots.length]).toBe(-99);
        return Array.from(out.subarray(0, slots.length));
      };
      const simd = run(true);
      expect(simd).toEqual(run(false));
      // And they are the dot products (float64 rounding aside).
      const exact = new Float32Array(memory.buffer, layout.exact, rows * dimensions);
      slots.forEach((slot, index) => {
        let dot = 0;
        for (let j = 0; j < dimensions; j += 1) dot += exact[slot * dimensions + j]! * query[j]!;
        expect(simd[index]).toBeCloseTo(dot, 12);
      });
    }
  });

  it('holds the bytes assembled from dot-kernel.wat (regenerate with `node scripts/gen-dot-kernel.mjs`)', async () => {
    const generated = readFileSync(new URL('../../src/memory/search/dot-kernel-wasm.ts', import.meta.url), 'utf8');
    expect(generated).toBe(renderDotKernelModule(await assembleDotKernel()));
  });
});

describe('FlatVectorSet', () => {
  for (const simd of [true, false]) {
    it(`finds the exact nearest vectors by cosine (${simd ? 'SIMD' : 'JavaScript'} kernel), growing as it fills`, () => {
      const dimensions = 100;
      const set = new FlatVectorSet(dimensions, { simd });
      const vectors = Array.from({ length: 1500 }, (_, index) => vector(index, dimensions));
      vectors.forEach((value, index) => set.set(index + 1, value, `s${index % 3}`, index));
      expect(set.count).toBe(1500);
      const query = vector(99_999, dimensions);
      const expected = vectors.map((value, index) => ({ id: index + 1, similarity: cosine(value, query) })).sort((left, right) => right.similarity - left.similarity);
      const hits = set.search(query, 20);
      expect(hits.map((hit) => hit.id)).toEqual(expected.slice(0, 20).map((hit) => hit.id));
      hits.forEach((hit, index) => expect(hit.similarity).toBeCloseTo(expected[index]!.similarity, 5));
      // Filters: scope and an inclusive time range.
      const filtered = set.search(query, 5, { scope: 's1', from: 100, to: 1000 });
      const expectedFiltered = expected.filter((hit) => (hit.id - 1) % 3 === 1 && hit.id - 1 >= 100 && hit.id - 1 <= 1000).slice(0, 5);
      expect(filtered.map((hit) => hit.id)).toEqual(expectedFiltered.map((hit) => hit.id));
      expect(set.search(query, 5, { scope: 'unknown' })).toEqual([]);
    });
  }

  /** Brute-force exact top k (ties: lower id first). */
  function exactTop(vectors: readonly Float32Array[], query: ArrayLike<number>, k: number, keep: (index: number) => boolean = () => true): number[] {
    return vectors
      .map((value, index) => ({ id: index + 1, similarity: cosine(value, query), index }))
      .filter((hit) => keep(hit.index))
      .sort((left, right) => right.similarity - left.similarity || left.id - right.id)
      .slice(0, k)
      .map((hit) => hit.id);
  }

  for (const simd of [true, false]) {
    it(`stays exact where int8 cannot tell vectors apart: near-duplicates differing below its step (${simd ? 'SIMD' : 'JavaScript'} kernel)`, () => {
      const dimensions = 64;
      const set = new FlatVectorSet(dimensions, { simd });
      const base = vector(7, dimensions);
      // 400 near-copies of one vector (differences ~2e-4 after normalising: below int8's step of ~0.002,
      // far above float32's precision) and 600 others.
      const vectors = Array.from({ length: 1000 }, (_, index) => {
        if (index % 5 === 0 || index % 5 === 3) return vector(10_000 + index, dimensions);
        const noise = vector(20_000 + index, dimensions);
        return Float32Array.from(base, (component, j) => component + 1e-3 * noise[j]!);
      });
      vectors.forEach((value, index) => set.set(index + 1, value, index % 2 === 0 ? 'even' : 'odd', index));
      const other = vector(31_337, dimensions);
      const query = Float32Array.from(base, (component, j) => component + 0.6 * other[j]!);
      for (const k of [1, 10, 50]) expect(set.search(query, k).map((hit) => hit.id)).toEqual(exactTop(vectors, query, k));
      expect(set.search(query, 25, { scope: 'odd' }).map((hit) => hit.id)).toEqual(exactTop(vectors, query, 25, (index) => index % 2 === 1));
    });
  }

  for (const simd of [true, false]) {
    it(`breaks ties by lower id when many vectors score alike, with and without filters (${simd ? 'SIMD' : 'JavaScript'} kernel)`, () => {
      const dimensions = 32;
      const set = new FlatVectorSet(dimensions, { simd });
      const near = vector(5, dimensions);
      // 3,000 vectors: every 7th is the same vector (equal scores), so the best 50 are all ties
      // and the cut falls inside a run of equal scores.
      const vectors = Array.from({ length: 3000 }, (_, index) => (index % 7 === 0 ? near : vector(40_000 + index, dimensions)));
      // Inserted in reverse so slots do not follow ids.
      for (let index = vectors.length - 1; index >= 0; index -= 1) set.set(index + 1, vectors[index]!, index % 2 === 0 ? 'even' : 'odd', index);
      for (const k of [1, 50, 60]) expect(set.search(near, k).map((hit) => hit.id)).toEqual(exactTop(vectors, near, k));
      expect(set.search(near, 40, { scope: 'odd' }).map((hit) => hit.id)).toEqual(exactTop(vectors, near, 40, (index) => index % 2 === 1));
    });

    it(`ranks vectors whose int8 copies are identical by their exact scores, whatever their ids (${simd ? 'SIMD' : 'JavaScript'} kernel)`, () => {
      const set = new FlatVectorSet(2, { simd });
      // [1, e] with e < 2.4e-4 normalises to [1, e] in float32 and quantises to [127, 0]: 400 vectors with one
      // approximate score but distinct exact ones (larger e, closer to the query), e unrelated to
      // the id; 1,600 others point away from the query.
      const vectors = Array.from({ length: 2000 }, (_, index) => (index % 5 === 0 ? Float32Array.of(1, ((index * 7919) % 401) * 5e-7) : Float32Array.of(-1, (index % 13) - 6)));
      vectors.forEach((value, index) => set.set(index + 1, value, 's', index));
      const query = Float32Array.of(1, 0.5);
      for (const k of [10, 50]) expect(set.search(query, k).map((hit) => hit.id)).toEqual(exactTop(vectors, query, k));
    });
  }

  it('stays exact for long vectors (3,072 dimensions), whose int16 query is scaled down to keep the sums in range', () => {
    const dimensions = 3072;
    const set = new FlatVectorSet(dimensions);
    const vectors = Array.from({ length: 300 }, (_, index) => {
      // Flat vectors (every component alike) make the largest sums; half of them near the query.
      const value = vector(index, dimensions);
      return index % 2 === 0 ? Float32Array.from(value, (component) => 1 + 0.05 * component) : value;
    });
    vectors.forEach((value, index) => set.set(index + 1, value, 's', index));
    const query = new Float32Array(dimensions).fill(1);
    const hits = set.search(query, 30);
    expect(hits.map((hit) => hit.id)).toEqual(exactTop(vectors, query, 30));
    expect(hits[0]!.similarity).toBeGreaterThan(0.99);
  });

  it('replaces, deletes (moving the last vector into the hole) and ignores scale', () => {
    const set = new FlatVectorSet(3);
    set.set(1, [1, 0, 0], 'a', 1);
    set.set(2, [0, 10, 0], 'a', 2);
    set.set(3, [0, 0, 5], 'b', 3);
    expect(set.search([0, 1, 0], 1)).toEqual([{ id: 2, similarity: expect.closeTo(1, 6) }]);
    expect(set.delete(1)).toBe(true);
    expect(set.delete(1)).toBe(false);
    expect(set.has(3)).toBe(true);
    expect(set.search([0, 0, 1], 3).map((hit) => hit.id)).toEqual([3, 2]);
    set.set(2, [0, 0, 1], 'b', 2);
    expect(set.search([0, 0, 1], 3, { scope: 'b' }).map((hit) => hit.id)).toEqual([2, 3]);
    expect(set.count).toBe(2);
    expect(() => set.set(4, [1, 0], 'a', 1)).toThrow(RangeError);
    // Scores must stay finite: non-finite components (or ones whose squares overflow) are refused.
    expect(() => set.set(4, [Number.NaN, 0, 0], 'a', 1)).toThrow(RangeError);
    expect(() => set.set(4, [1, Number.POSITIVE_INFINITY, 0], 'a', 1)).toThrow(RangeError);
    expect(() => set.set(4, [1e200, 0, 0], 'a', 1)).toThrow(RangeError);
    expect(() => set.search([0, Number.NaN, 1], 3)).toThrow(RangeError);
    expect(set.has(4)).toBe(false);
    set.clear();
    expect(set.search([0, 0, 1], 3)).toEqual([]);
  });

  it('forgets a scope once no vector has it, and filters by the scopes still held', () => {
    const set = new FlatVectorSet(2);
    // Conversations come and go: each vector moves through 200 scopes, one at a time.
    for (let round = 0; round < 200; round += 1) {
      set.set(1, [1, 0], `conversation-${round}`, round);
      set.set(2, [0, 1], `conversation-${round}`, round);
    }
    expect(set.scopeCount).toBe(1);
    set.set(3, [1, 1], 'notes', 0);
    expect(set.search([1, 0], 5, { scope: 'conversation-199' }).map((hit) => hit.id)).toEqual([1, 2]);
    expect(set.search([1, 0], 5, { scope: 'conversation-0' })).toEqual([]);
    set.delete(1);
    set.delete(2);
    expect(set.scopeCount).toBe(1);
    expect(set.search([1, 0], 5, { scope: 'notes' }).map((hit) => hit.id)).toEqual([3]);
    // A forgotten scope's number is reused without mixing the two up.
    set.set(4, [1, 0], 'fresh', 0);
    expect(set.search([1, 0], 5, { scope: 'fresh' }).map((hit) => hit.id)).toEqual([4]);
    expect(set.search([1, 0], 5, { scope: 'notes' }).map((hit) => hit.id)).toEqual([3]);
  });
});
