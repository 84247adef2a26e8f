/**
 * Reciprocal rank fusion (Cormack, Clarke & Büttcher, SIGIR 2009): each list contributes
 * weight / (k + rank) for every item it ranks, so an item near the top of either list rises, and
 * one ranked well by both rises furthest. Only ranks are used, never raw scores, because BM25
 * scores and cosine distances are on unrelated scales.
 */

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
  // Plain loops and one record per item: a hybrid search fuses ~100 items per call.
  const fused = new Map<Id, FusedHit<Id> & { order: number; best: number }>();
  for (let listIndex = 0; listIndex < lists.length; listIndex += 1) {
    const list = lists[listIndex]!;
    const weight = weights[listIndex]!;
    for (let position = 0; position < list.length; position += 1) {
      const id = list[position]!.id;
      let hit = fused.get(id);
      if (!hit) {
        hit = { id, score: 0, ranks: new Array<number>(lists.length).fill(0), order: fused.size, best: Number.POSITIVE_INFINITY };
        fused.set(id, hit);
      }
      if (hit.ranks[listIndex] !== 0) continue;
      const rank = position + 1;
      hit.ranks[listIndex] = rank;
      hit.score += weight / (k + rank);
      hit.best = Math.min(hit.best, rank);
    }
  }
  return [...fused.values()]
    .sort((a, b) => b.score - a.score || a.best - b.best || a.order - b.order)
    .map(({ id, score, ranks }) => ({ id, score, ranks }));
}
