/**
 * Reciprocal rank fusion (Cormack, Clarke & Büttcher, SIGIR 2009): each list contributes
 * weight / (k + rank) for every item it ranks, so an item near the top of either list rises, and
 * one ranked well by both rises furthest. Only ranks are used, never raw scores, because BM25
 * scores and cosine distances are on unrelated scales.
 */

import { positions, sortByScore } from './rank-order.js';

export interface FuseOptions {
  /** Damping constant: larger k flattens the difference between ranks 1 and 10. Default 60. */
  k?: number;
  /** Weight of each list (default 1 each), e.g. to trust full text more than a weak embedder. */
  weights?: number[];
}

export interface FusedHit<Id> {
  id: Id;
  score: number;
  /** 1-based rank of the item in each input list, 0 where the list does not have it. */
  ranks: number[];
}

export const DEFAULT_RRF_K = 60;

/**
 * Fuses ranked lists (best first) into one, best first. Duplicates within a list count at their
 * first position. Ties are broken by the best single rank, then by first appearance, so the
 * result is deterministic.
 */
export function fuse<Id extends string | number>(lists: ReadonlyArray<ReadonlyArray<{ id: Id }>>, options: FuseOptions = {}): Array<FusedHit<Id>> {
  const k = options.k ?? DEFAULT_RRF_K;
  if (!(k >= 0) || !Number.isFinite(k)) throw new RangeError(`fusion k must be a finite number ≥ 0, got ${k}`);
  const weights = options.weights ?? lists.map(() => 1);
  if (weights.length !== lists.length || weights.some((weight) => !Number.isFinite(weight) || weight < 0)) {
    throw new RangeError('fusion needs one finite, non-negative weight per list');
  }
  // Parallel arrays, one slot per distinct item in order of first appearance, and objects only
  // for the result: a hybrid search fuses ~100 items per call. Plain arrays, not typed ones: a
  // typed array this size costs more to allocate (its memory lives outside the JS heap).
  const width = lists.length;
  let total = 0;
  for (const list of lists) total += list.length;
  const slotOf = new Map<Id, number>();
  const ids: Id[] = [];
  const scores = new Array<number>(total).fill(0);
  const best = new Array<number>(total).fill(Number.POSITIVE_INFINITY);
  const ranks = new Array<number>(total * width).fill(0);
  for (let listIndex = 0; listIndex < width; listIndex += 1) {
    const list = lists[listIndex]!;
    const weight = weights[listIndex]!;
    for (let position = 0; position < list.length; position += 1) {
      const id = list[position]!.id;
      let slot = slotOf.get(id);
      if (slot === undefined) {
        slot = ids.length;
        slotOf.set(id, slot);
        ids.push(id);
      } else if (ranks[slot * width + listIndex] !== 0) {
        continue;
      }
      const rank = position + 1;
      ranks[slot * width + listIndex] = rank;
      scores[slot]! += weight / (k + rank);
      best[slot] = Math.min(best[slot]!, rank);
    }
  }
  // Stable: items equal on score and best rank stay in order of first appearance.
  const order = sortByScore(positions(ids.length), scores, best);
  return order.map((slot) => {
    const itemRanks = new Array<number>(width);
    for (let listIndex = 0; listIndex < width; listIndex += 1) itemRanks[listIndex] = ranks[slot * width + listIndex]!;
    return { id: ids[slot]!, score: scores[slot]!, ranks: itemRanks };
  });
}
