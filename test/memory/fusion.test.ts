import { describe, expect, it } from 'vitest';
import { DEFAULT_RRF_K, fuse } from '../../src/memory/search/fusion.js';

const list = (...ids: string[]): Array<{ id: string }> => ids.map((id) => ({ id }));

describe('fuse (reciprocal rank fusion)', () => {
  it('scores each item as the sum of weight / (k + rank) over the lists that rank it', () => {
    const fused = fuse([list('a', 'b'), list('b', 'c')]);
    const k = DEFAULT_RRF_K;
    expect(fused.map((hit) => hit.id)).toEqual(['b', 'a', 'c']);
    expect(fused[0]).toEqual({ id: 'b', score: 1 / (k + 2) + 1 / (k + 1), ranks: [2, 1] });
    expect(fused[1]).toEqual({ id: 'a', score: 1 / (k + 1), ranks: [1, 0] });
    expect(fused[2]).toEqual({ id: 'c', score: 1 / (k + 2), ranks: [0, 2] });
  });

  it('finds the answer when each retriever alone puts a wrong item first', () => {
    // Full text is fooled by a keyword match, the embedder by a topical neighbour; both still rank
    // the relevant item second, and agreement wins.
    const fulltext = list('keyword-trap', 'relevant', 'f3', 'f4', 'f5');
    const semantic = list('topic-trap', 'relevant', 's3', 's4', 's5');
    expect(fulltext[0]?.id).not.toBe('relevant');
    expect(semantic[0]?.id).not.toBe('relevant');
    const fused = fuse([fulltext, semantic]);
    expect(fused[0]?.id).toBe('relevant');
    expect(fused[0]?.ranks).toEqual([2, 2]);
  });

  it('recovers an item that one retriever misses entirely when the other ranks it well', () => {
    // The message says "puppy", the query "pet": full text never sees it, the embedder does.
    const fulltext = list('pet-shop-ad', 'pet-allergy');
    const semantic = list('adopted-puppy', 'pet-allergy', 'pet-shop-ad');
    const fused = fuse([fulltext, semantic]);
    expect(fused.map((hit) => hit.id).slice(0, 3)).toContain('adopted-puppy');
    expect(fused.find((hit) => hit.id === 'adopted-puppy')?.ranks).toEqual([0, 1]);
  });

  it('weights lists: a trusted list dominates a weak one', () => {
    const strong = list('x', 'y');
    const weak = list('y', 'x');
    expect(fuse([strong, weak], { weights: [1, 0.3] }).map((hit) => hit.id)).toEqual(['x', 'y']);
    expect(fuse([strong, weak], { weights: [0.3, 1] }).map((hit) => hit.id)).toEqual(['y', 'x']);
    expect(fuse([strong, weak], { weights: [1, 0] }).map((hit) => hit.id)).toEqual(['x', 'y']);
  });

  it('a small k sharpens the preference for top ranks', () => {
    const lists = [list('a', 'b', 'c'), list('c', 'b', 'a')];
    // With k = 0, ranks 1 and 3 (1 + 1/3) beat rank 2 twice (1); with a large k, agreement on 2 wins slightly less clearly but b still loses.
    expect(fuse(lists, { k: 0 }).map((hit) => hit.id)).toEqual(['a', 'c', 'b']);
    const flat = fuse(lists, { k: 1000 });
    expect(flat[2]?.id).toBe('b');
  });

  it('counts a duplicate within one list only once, at its best position', () => {
    const fused = fuse([list('a', 'a', 'b')]);
    expect(fused).toEqual([
      { id: 'a', score: 1 / (DEFAULT_RRF_K + 1), ranks: [1] },
      { id: 'b', score: 1 / (DEFAULT_RRF_K + 3), ranks: [3] },
    ]);
  });

  it('breaks ties deterministically: best single rank, then first appearance', () => {
    expect(fuse([list('a', 'b'), list('b', 'a')]).map((hit) => hit.id)).toEqual(['a', 'b']);
    expect(fuse([list('p'), list('q')]).map((hit) => hit.id)).toEqual(['p', 'q']);
  });

  it('works with numeric ids and empty input', () => {
    expect(fuse([[{ id: 3 }, { id: 1 }], [{ id: 1 }]]).map((hit) => hit.id)).toEqual([1, 3]);
    expect(fuse([])).toEqual([]);
    expect(fuse([[], []])).toEqual([]);
  });

  it('rejects weights that do not fit the lists and invalid k', () => {
    expect(() => fuse([list('a')], { weights: [1, 2] })).toThrow(RangeError);
    expect(() => fuse([list('a')], { weights: [Number.NaN] })).toThrow(RangeError);
    expect(() => fuse([list('a')], { weights: [-1] })).toThrow(RangeError);
    expect(() => fuse([list('a')], { k: -1 })).toThrow(RangeError);
    expect(() => fuse([list('a')], { k: Number.POSITIVE_INFINITY })).toThrow(RangeError);
  });
});
