import { describe, expect, it } from 'vitest';
import { positions, sortByScore } from '../../src/memory/search/rank-order.js';

/** The order sortByScore must give, by the built-in (stable) sort. */
function expected(scores: number[], tieBreak: number[]): number[] {
  return positions(scores.length).sort((left, right) => scores[right]! - scores[left]! || tieBreak[left]! - tieBreak[right]!);
}

describe('sortByScore', () => {
  it('orders by score descending, then by the tie-break ascending', () => {
    const scores = [0.5, 0.9, 0.5, 0.1, 0.9];
    const tieBreak = [7, 3, 2, 1, 1];
    expect(sortByScore(positions(5), scores, tieBreak)).toEqual([4, 1, 2, 0, 3]);
  });

  it('keeps positions equal on both keys in their order (stable)', () => {
    expect(sortByScore([3, 0, 2, 1], [1, 1, 1, 1], [0, 0, 0, 0])).toEqual([3, 0, 2, 1]);
  });

  it('sorts only the positions it is given, wherever they point', () => {
    const scores = [0, 0.3, 0, 0.8, 0.5];
    expect(sortByScore([1, 3, 4], scores, [0, 0, 0, 0, 0])).toEqual([3, 4, 1]);
  });

  // Short lists take the insertion sort, long ones the built-in sort: both must agree with it.
  it.each([2, 50, 128, 129, 1000])('agrees with the built-in sort on %i items with many ties', (count) => {
    let seed = count;
    const random = (): number => {
      seed = (seed * 1_103_515_245 + 12_345) >>> 0;
      return seed / 2 ** 32;
    };
    const scores = Array.from({ length: count }, () => Math.floor(random() * 10) / 10);
    const tieBreak = Array.from({ length: count }, () => Math.floor(random() * 5));
    expect(sortByScore(positions(count), scores, tieBreak)).toEqual(expected(scores, tieBreak));
  });
});
