/** Scores indexed by slot: a kernel's output block, or a per-query accumulator. */
export type SlotScores = Float32Array | Float64Array;

export interface TopKOptions {
  /** The slots to look at (those a query touched); default: every slot of `scores`. */
  candidates?: ArrayLike<number>;
  /** Breaks ties: of two equal scores the slot with the lower value here ranks higher. */
  order?: Float64Array;
}

/**
 * Slots of the k highest scores that `accept` lets through (order of the result unspecified).
 * `accept` runs only for slots that would enter the top k, so a filter costs little when most
 * scores lose anyway.
 */
export function topK(scores: SlotScores, k: number, accept: (slot: number) => boolean, options: TopKOptions = {}): number[] {
  if (k < 1) return [];
  const heap = new SlotHeap(scores, k, accept, options.order);
  const { candidates } = options;
  // The scan compares each score with a local threshold (the k-th best so far) and calls into the
  // heap only for the few that reach it: on 5,000 scores for k = 50 that is ~4× faster than
  // consulting the heap's root for every slot.
  let threshold = Number.NEGATIVE_INFINITY;
  if (candidates === undefined) {
    for (let slot = 0; slot < scores.length; slot += 1) {
      if (scores[slot]! >= threshold) threshold = heap.offer(slot);
    }
  } else {
    for (let index = 0; index < candidates.length; index += 1) {
      const slot = candidates[index]!;
      if (scores[slot]! >= threshold) threshold = heap.offer(slot);
    }
  }
  return heap.toArray();
}

/** A size-k min-heap of slots: its root is the worst slot held. */
class SlotHeap {
  /** A plain array: a typed one this size costs more to allocate (its memory lives outside the JS heap). */
  readonly slots: number[];
  size = 0;

  constructor(
    private readonly scores: SlotScores,
    private readonly k: number,
    private readonly accept: (slot: number) => boolean,
    private readonly order: Float64Array | undefined,
  ) {
    this.slots = new Array<number>(k).fill(0);
  }

  /** Offers a slot; returns the score a slot must reach to be worth offering now. */
  offer(slot: number): number {
    const full = this.size === this.k;
    // An equal score enters only by winning the tie.
    if ((full && !this.worse(this.slots[0]!, slot)) || !this.accept(slot)) return this.threshold();
    if (full) {
      this.slots[0] = slot;
      this.siftDown();
    } else {
      this.slots[this.size] = slot;
      this.size += 1;
      this.siftUp();
    }
    return this.threshold();
  }

  /** The slots held (a plain loop: Array.from over a typed array goes through its iterator). */
  toArray(): number[] {
    const result = new Array<number>(this.size);
    for (let index = 0; index < this.size; index += 1) result[index] = this.slots[index]!;
    return result;
  }

  private threshold(): number {
    return this.size < this.k ? Number.NEGATIVE_INFINITY : this.scores[this.slots[0]!]!;
  }

  /** Whether slot `a` ranks below slot `b`. */
  private worse(a: number, b: number): boolean {
    const scoreA = this.scores[a]!;
    const scoreB = this.scores[b]!;
    return scoreA < scoreB || (scoreA === scoreB && this.order !== undefined && this.order[a]! > this.order[b]!);
  }

  private siftUp(): void {
    const { slots } = this;
    let child = this.size - 1;
    const slot = slots[child]!;
    while (child > 0) {
      const parent = (child - 1) >> 1;
      if (!this.worse(slot, slots[parent]!)) break;
      slots[child] = slots[parent]!;
      child = parent;
    }
    slots[child] = slot;
  }

  private siftDown(): void {
    const { slots, size } = this;
    const slot = slots[0]!;
    let parent = 0;
    for (;;) {
      const left = 2 * parent + 1;
      if (left >= size) break;
      const right = left + 1;
      const smaller = right < size && this.worse(slots[right]!, slots[left]!) ? right : left;
      if (!this.worse(slots[smaller]!, slot)) break;
      slots[parent] = slots[smaller]!;
      parent = smaller;
    }
    slots[parent] = slot;
  }
}
