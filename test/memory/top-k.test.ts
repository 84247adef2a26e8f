import { describe, expect, it } from 'vitest';
import { topK } from '../../src/memory/search/top-k.js';

/** The expected answer by sorting: highest score first, ties to the lower order value. */
function bySorting(scores: ArrayLike<number>, slots: readonly number[], k: number, accept: (slot: number) => boolean, order?: Float64Array): number[] {
  return slots
    .filter(accept)
    .sort((a, b) => scores[b]! - scores[a]! || (order === undefined ? 0 : order[a]! - order[b]!))
    .slice(0, k);
}

function seeded(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2_147_483_648;
    return state / 2_147_483_648;
  };
}

describe('topK', () => {
  it('matches a full sort on random scores with many ties, for full scans and candidate lists, with and without a filter', () => {
    const random = seeded(7);
    for (let round = 0; round < 200; round += 1) {
      const size = 1 + Math.floor(random() * 400);
      // Few distinct values, so ties are common and the order decides them.
      const values = Array.from({ length: size }, () => Math.floor(random() * 20) / 4);
      const scores = round % 2 === 0 ? Float32Array.from(values) : Float64Array.from(values);
      const order = Float64Array.from({ length: size }, () => random() * 1e6);
      const k = 1 + Math.floor(random() * 60);
      const accept = round % 3 === 0 ? (slot: number) => slot % 3 !== 0 : () => true;
      const all = Array.from({ length: size }, (_, slot) => slot);
      const candidates = all.filter(() => random() < 0.5);
      const rank = (slots: number[]): number[] => slots.sort((a, b) => scores[b]! - scores[a]! || order[a]! - order[b]!);
      expect(rank(topK(scores, k, accept, { order }))).toEqual(bySorting(scores, all, k, accept, order));
      expect(rank(topK(scores, k, accept, { order, candidates: Int32Array.from(candidates) }))).toEqual(bySorting(scores, candidates, k, accept, order));
    }
  });

  it('asks the filter only about slots that would enter the top k', () => {
    const scores = Float32Array.from({ length: 1000 }, (_, slot) => slot);
    const asked: number[] = [];
    const best = topK(scores, 5, (slot) => (asked.push(slot), true));
    expect(best.sort((a, b) => b - a)).toEqual([999, 998, 997, 996, 995]);
    // Rising scores: every slot beats the one before, so each is asked about once, none twice.
    expect(new Set(asked).size).toBe(asked.length);
    const falling = Float32Array.from({ length: 1000 }, (_, slot) => 1000 - slot);
    const askedFalling: number[] = [];
    topK(falling, 5, (slot) => (askedFalling.push(slot), true));
    expect(askedFalling).toEqual([0, 1, 2, 3, 4]);
  });

  it('returns fewer than k when fewer pass, and nothing for k = 0', () => {
    const scores = Float64Array.from([3, 1, 2]);
    expect(topK(scores, 10, (slot) => slot !== 1).sort()).toEqual([0, 2]);
    expect(topK(scores, 0, () => true)).toEqual([]);
  });
});
