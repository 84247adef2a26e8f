/** Scores indexed by slot: a kernel's output block, or a per-query accumulator. */
export type SlotScores = Float32Array | Float64Array;

export interface TopKOptions {
  /** The slots to look at (those a query touched); default: every slot of `scores`. */
  candidates?: ArrayLike<number>;
  /** Breaks ties: of two equal scores the slot with the lower value here ranks higher. */
  order?: Float64Array;
}

/**
 * Slots of the k highest scores that `accept` lets through, by a size-k min-heap (order of the
 * result unspecified). `accept` runs only for slots that would enter the heap, so a filter costs
 * little when most scores lose anyway.
 */
export function topK(scores: SlotScores, k: number, accept: (slot: number) => boolean, options: TopKOptions = {}): number[] {
  const { candidates, order } = options;
  // `worse(a, b)`: a ranks below b. The heap's root is its worst slot.
  const worse = (a: number, b: number): boolean => scores[a]! < scores[b]! || (order !== undefined && scores[a] === scores[b] && order[a]! > order[b]!);
  const heap: number[] = [];
  const offer = (slot: number): void => {
    if (!accept(slot)) return;
    if (heap.length < k) {
      heap.push(slot);
      siftUp(heap, worse);
    } else {
      heap[0] = slot;
      siftDown(heap, worse);
    }
  };
  // The scan itself stays inline and monomorphic per array type: most slots lose to the root at once.
  if (candidates !== undefined) {
    for (let index = 0; index < candidates.length; index += 1) {
      const slot = candidates[index]!;
      if (heap.length < k || beatsRoot(scores, slot, heap[0]!, worse)) offer(slot);
    }
  } else if (scores instanceof Float32Array) {
    for (let slot = 0; slot < scores.length; slot += 1) {
      if (heap.length < k || scores[slot]! >= scores[heap[0]!]!) {
        if (heap.length < k || beatsRoot(scores, slot, heap[0]!, worse)) offer(slot);
      }
    }
  } else {
    for (let slot = 0; slot < scores.length; slot += 1) {
      if (heap.length < k || beatsRoot(scores, slot, heap[0]!, worse)) offer(slot);
    }
  }
  return heap;
}

/** Whether `slot` outranks the heap's worst (`root`): a higher score, or an equal one that wins the tie. */
function beatsRoot(scores: SlotScores, slot: number, root: number, worse: (a: number, b: number) => boolean): boolean {
  const score = scores[slot]!;
  const rootScore = scores[root]!;
  return score > rootScore || (score === rootScore && worse(root, slot));
}

function siftUp(heap: number[], worse: (a: number, b: number) => boolean): void {
  let child = heap.length - 1;
  const slot = heap[child]!;
  while (child > 0) {
    const parent = (child - 1) >> 1;
    if (!worse(slot, heap[parent]!)) break;
    heap[child] = heap[parent]!;
    child = parent;
  }
  heap[child] = slot;
}

function siftDown(heap: number[], worse: (a: number, b: number) => boolean): void {
  const slot = heap[0]!;
  let parent = 0;
  for (;;) {
    const left = 2 * parent + 1;
    if (left >= heap.length) break;
    const right = left + 1;
    const smaller = right < heap.length && worse(heap[right]!, heap[left]!) ? right : left;
    if (!worse(heap[smaller]!, slot)) break;
    heap[parent] = heap[smaller]!;
    parent = smaller;
  }
  heap[parent] = slot;
}
