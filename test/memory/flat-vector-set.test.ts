import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { assembleDotKernel, renderDotKernelModule } from '../../scripts/gen-dot-kernel.mjs';
import { createKernelMemory, dotKernel, hasSimdKernel, strideFor } from '../../src/memory/search/dot-kernel.js';
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

describe('dot kernel', () => {
  it('has WebAssembly SIMD on this Node, and both kernels compute the same sums', () => {
    expect(hasSimdKernel()).toBe(true);
    const dimensions = 37;
    const stride = strideFor(dimensions);
    expect(stride).toBe(40);
    const count = 50;
    const memory = createKernelMemory(1);
    const floats = new Float32Array(memory.buffer);
    for (let index = 0; index < (count + 1) * stride; index += 1) floats[index] = index % stride < dimensions ? Math.sin(index) : 0;
    const out = (count + 1) * stride * 4;
    dotKernel(memory)(0, stride * 4, count, stride, out);
    const simd = floats.slice(out / 4, out / 4 + count);
    dotKernel(memory, { simd: false })(0, stride * 4, count, stride, out);
    const plain = floats.slice(out / 4, out / 4 + count);
    for (let index = 0; index < count; index += 1) expect(simd[index]).toBeCloseTo(plain[index]!, 4);
  });

  it('scores every count (whole passes of four and the rest) without writing past the last score', () => {
    const stride = strideFor(100);
    const memory = createKernelMemory(2);
    const floats = new Float32Array(memory.buffer);
    const maxCount = 11;
    for (let index = 0; index < (maxCount + 1) * stride; index += 1) floats[index] = Math.cos(index * 0.37);
    const out = (maxCount + 1) * stride * 4;
    const simd = dotKernel(memory);
    for (let count = 0; count <= maxCount; count += 1) {
      floats.fill(-99, out / 4, out / 4 + maxCount + 1);
      simd(0, stride * 4, count, stride, out);
      for (let index = 0; index < count; index += 1) {
        let expected = 0;
        for (let j = 0; j < stride; j += 1) expected += floats[j]! * floats[(index + 1) * stride + j]!;
        expect(floats[out / 4 + index]).toBeCloseTo(expected, 4);
      }
      expect(floats[out / 4 + count]).toBe(-99);
    }
  });

  it('gives equal vectors equal scores wherever they sit (in a pass of four or among the rest)', () => {
    const stride = strideFor(100);
    const count = 7;
    const memory = createKernelMemory(1);
    const floats = new Float32Array(memory.buffer);
    const same = vector(3, stride);
    floats.set(vector(4, stride), 0);
    for (let index = 1; index <= count; index += 1) floats.set(same, index * stride);
    const out = (count + 1) * stride * 4;
    dotKernel(memory)(0, stride * 4, count, stride, out);
    expect(new Set(floats.slice(out / 4, out / 4 + count)).size).toBe(1);
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
