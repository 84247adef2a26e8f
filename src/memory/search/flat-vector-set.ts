import type { VectorQuery } from '../vector-index.js';
import { createKernelMemory, queryLanesFor, vectorBytesFor, vectorKernel, WASM_PAGE_BYTES, type VectorKernel, type WasmMemory } from './dot-kernel.js';
import { Labels } from './labels.js';
import { positions, sortByScore } from './rank-order.js';
import { topK } from './top-k.js';

/** Only vectors stored with this scope, within the inclusive timestamp range: the query's own filters. */
export type FlatVectorFilter = Pick<VectorQuery, 'scope' | 'from' | 'to'>;

export interface FlatVectorHit {
  readonly id: number;
  /** Cosine similarity in [-1, 1]. */
  readonly similarity: number;
}

const FLOAT_BYTES = 4;
const INITIAL_CAPACITY = 256;
/** Largest magnitude of a stored int8 component. */
const INT8_MAX = 127;
/** Largest magnitude of a query int16 component. */
const INT16_MAX = 32_767;
/**
 * Bound on the sum of the query's int16 magnitudes: each of the kernel's int32 lanes adds
 * products of at most 127 × |query[j]|, so keeping 127 × this under 2^31 rules out overflow.
 */
const QUERY_L1_LIMIT = 16_000_000;
/**
 * Candidates beyond k rescored from float32 in the first round. On GloVe vectors (5,000 × 100) the
 * int8 error bound leaves a handful of vectors near the k-th score to check: a few extra here, and
 * the second round rescores only what the bound cannot rule out (~k + 14 vectors in all).
 */
const EXTRA_CANDIDATES = 8;
/** Blocks per wanted candidate when the first round bounds the cut with block maxima (see bestApproximate). */
const BLOCKS_PER_CANDIDATE = 4;
/** Float32 rounding in the approximate scores, on top of the quantisation bound. */
const ROUNDING_SLACK = 1e-5;

/**
 * Exact cosine nearest-neighbour search over vectors held in flat blocks of memory: every search
 * scores every vector and keeps the best k. Exact, like the sqlite-vec scan it stands in for, and
 * 10-20x faster at the sizes memory holds (no SQL row machinery, no per-chunk top-k merge).
 * Vectors are normalised when stored, so a dot product is the cosine. Each vector has an id
 * (unique in the set), a scope and a timestamp for filtering.
 *
 * Two copies of each vector: float32 (for exact scores) and int8 with a float32 scale, which the
 * SIMD kernel scans (dot-kernel.ts: a quarter of the bytes, which is what a scan costs once the
 * vectors have left the CPU caches). A search scores everything in int8, rescores the best
 * k + 8 candidates in float32, then rescores every other vector the int8 error bound cannot rule
 * out of the top k; so the answer is the exact one.
 *
 * Layout in the kernel's memory: [query: int16 x queryLanes][vectors: capacity x vectorBytes
 * int8][scales: capacity float32][scores: capacity float32][indices: capacity int32]. The float32
 * copies live in a second memory (see exactMemory), rescored by the kernel's `rescore`.
 */
export class FlatVectorSet {
  readonly dimensions: number;
  private readonly vectorBytes: number;
  /** int16 lanes of the query (queryLanesFor): zero past the dimensions. */
  private readonly queryLanes: number;
  private readonly memory: WasmMemory;
  private readonly kernel: VectorKernel;
  private capacity = 0;
  private size = 0;
  private ids = new Float64Array(0);
  private scopes = new Int32Array(0);
  private times = new Float64Array(0);
  /**
   * The normalised float32 vectors live in a memory of their own, read by the kernel's `rescore`:
   * [query: float64 x dimensions][rows: capacity x dimensions float32][slots: capacity int32]
   * [similarities: capacity float64]. The rows never move when it grows (only the scratch does).
   */
  private readonly exactMemory: WasmMemory;
  private readonly exactKernel: VectorKernel;
  /**
   * Typed views of both memories' current layout, made again by reserve() (the only place either
   * memory grows or the offsets move): a search reads through them instead of asking each memory
   * for its buffer and building views on every call.
   */
  private views!: KernelViews;
  /** Scratch for cut(): a search allocates no typed array (one this size costs ~1 µs, its memory outside the JS heap). */
  private cutScores = new Float32Array(0);
  /** The largest component magnitude of any vector stored since the last clear (bounds the int8 error). */
  private largestComponent = 0;
  private readonly slots = new Map<number, number>();
  private readonly scopeLabels = new Labels();

  constructor(dimensions: number, options: { simd?: boolean } = {}) {
    if (!Number.isInteger(dimensions) || dimensions < 1) throw new RangeError(`dimensions must be a positive integer, got ${dimensions}`);
    this.dimensions = dimensions;
    this.vectorBytes = vectorBytesFor(dimensions);
    this.queryLanes = queryLanesFor(this.vectorBytes);
    this.memory = createKernelMemory(1);
    this.kernel = vectorKernel(this.memory, options);
    this.exactMemory = createKernelMemory(1);
    this.exactKernel = vectorKernel(this.exactMemory, options);
    this.reserve(INITIAL_CAPACITY);
  }

  get count(): number {
    return this.size;
  }

  has(id: number): boolean {
    return this.slots.has(id);
  }

  /** Distinct scopes of the vectors held. */
  get scopeCount(): number {
    return this.scopeLabels.size;
  }

  /** Adds or replaces the vector of `id`. */
  set(id: number, vector: ArrayLike<number>, scope: string, timestamp: number): void {
    if (vector.length !== this.dimensions) throw new RangeError(`expected ${this.dimensions} dimensions, got ${vector.length}`);
    // Normalised first: a refused vector changes nothing.
    const normalised = normalise(vector);
    let slot = this.slots.get(id);
    const scopeId = this.scopeLabels.use(scope);
    if (slot === undefined) {
      if (this.size === this.capacity) this.reserve(this.capacity * 2);
      slot = this.size;
      this.size += 1;
      this.slots.set(id, slot);
      this.ids[slot] = id;
    } else {
      this.scopeLabels.release(this.scopes[slot]!);
    }
    this.scopes[slot] = scopeId;
    this.times[slot] = timestamp;
    this.store(slot, normalised);
  }

  /** Removes the vector of `id`; false when there was none. */
  delete(id: number): boolean {
    const slot = this.slots.get(id);
    if (slot === undefined) return false;
    this.slots.delete(id);
    this.scopeLabels.release(this.scopes[slot]!);
    const last = this.size - 1;
    if (slot !== last) {
      // The last vector moves into the hole, so the blocks stay dense.
      const bytes = new Uint8Array(this.memory.buffer);
      bytes.copyWithin(this.vectorOffset(slot), this.vectorOffset(last), this.vectorOffset(last) + this.vectorBytes);
      const { scales } = this.views;
      scales[slot] = scales[last]!;
      new Uint8Array(this.exactMemory.buffer).copyWithin(this.rowOffset(slot), this.rowOffset(last), this.rowOffset(last + 1));
      const movedId = this.ids[last]!;
      this.ids[slot] = movedId;
      this.scopes[slot] = this.scopes[last]!;
      this.times[slot] = this.times[last]!;
      this.slots.set(movedId, slot);
    }
    this.size = last;
    return true;
  }

  clear(): void {
    this.slots.clear();
    this.scopeLabels.clear();
    this.size = 0;
    this.largestComponent = 0;
  }

  /** The `k` vectors most similar to `query` that pass the filter, most similar first (ties: lower id first). */
  search(query: ArrayLike<number>, k: number, filter: FlatVectorFilter = {}): FlatVectorHit[] {
    if (query.length !== this.dimensions) throw new RangeError(`expected ${this.dimensions} dimensions, got ${query.length}`);
    if (k < 1 || this.size === 0) return [];
    let scope: number | undefined;
    if (filter.scope !== undefined) {
      scope = this.scopeLabels.get(filter.scope);
      if (scope === undefined) return [];
    }
    // Straight into the exact memory, where rescore reads the query.
    const normalised = normalise(query, this.views.exactQuery);
    const { scale: queryScale, errorBound } = this.writeQuery(normalised);
    const { scores: approximate, indices } = this.views;
    const { ids } = this;
    const scoresOffset = this.scoresOffset();
    this.kernel.dots(0, this.vectorOffset(0), this.size, this.vectorBytes, this.scalesOffset(), scoresOffset, queryScale);
    const accept = scope === undefined && filter.from === undefined && filter.to === undefined ? undefined : (slot: number) => this.passes(slot, scope, filter);

    const wanted = k + EXTRA_CANDIDATES;
    const first = this.bestApproximate(wanted, accept);
    const rescored: Rescored = { ids: [], similarities: [] };
    this.rescore(first.slots, rescored);
    const order = sortByScore(positions(rescored.ids.length), rescored.similarities, rescored.ids);
    if (first.slots.length === wanted) {
      // A vector left out scores at most its approximate score + errorBound exactly; it can beat
      // the k-th exact score only if its approximate score reaches that score − errorBound.
      const floor = rescored.similarities[order[k - 1]!]! - errorBound;
      const { cutScore, cutId } = first;
      if (cutScore >= floor) {
        const found = this.kernel.above(scoresOffset, this.size, floor, this.indicesOffset());
        const more: number[] = [];
        for (let index = 0; index < found; index += 1) {
          const slot = indices[index]!;
          // Taken slots rank at or above the cut (approximate score, then lower id).
          const score = approximate[slot]!;
          if ((score < cutScore || (score === cutScore && ids[slot]! > cutId)) && (accept === undefined || accept(slot))) more.push(slot);
        }
        if (more.length > 0) {
          for (let position = rescored.ids.length; position < rescored.ids.length + more.length; position += 1) order.push(position);
          this.rescore(more, rescored);
          sortByScore(order, rescored.similarities, rescored.ids);
        }
      }
    }
    const hits = new Array<FlatVectorHit>(Math.min(k, order.length));
    for (let rank = 0; rank < hits.length; rank += 1) hits[rank] = { id: rescored.ids[order[rank]!]!, similarity: rescored.similarities[order[rank]!]! };
    return hits;
  }

  /**
   * The `wanted` best approximate scores that `accept` lets through (ties: lower id first), in no
   * order, with the cut: the lowest score taken and, among the slots taken with that score, the
   * highest id. A heap over every score costs ~40 µs at 5,000 vectors (hundreds of insertions), so
   * large sets take a shortcut: the kernel cuts the scores into at least `wanted` blocks and finds
   * each block's maximum; the `wanted`-th largest maximum t bounds the `wanted`-th largest score
   * from below (`wanted` blocks each hold a score ≥ t), so `above(t)` lists every slot that can
   * make the cut — about `wanted` + 10 of them — and the cut is selected among those. With filters
   * the shortcut holds when enough of the listed slots pass; otherwise the heap scans everything.
   */
  private bestApproximate(wanted: number, accept: ((slot: number) => boolean) | undefined): FirstRound {
    const { size } = this;
    const { scores, indices, maxima } = this.views;
    // Blocks of a multiple of 4 scores (the kernel compares four at once), about 4 per wanted slot.
    const blockSize = 4 * Math.floor(size / (4 * BLOCKS_PER_CANDIDATE * wanted));
    if (blockSize > 0) {
      const blocks = this.kernel.maxima(this.scoresOffset(), size, blockSize, this.indicesOffset());
      // Read before `above` writes its indices over the maxima.
      const bound = kthLargest(maxima, wanted, blocks);
      const found = this.kernel.above(this.scoresOffset(), size, bound, this.indicesOffset());
      const passing: number[] = [];
      for (let index = 0; index < found; index += 1) {
        const slot = indices[index]!;
        if (accept === undefined || accept(slot)) passing.push(slot);
      }
      if (passing.length >= wanted) return this.cut(passing, wanted);
    }
    return this.cut(topK(scores.subarray(0, size), wanted, accept ?? acceptAll, { order: this.ids }), wanted);
  }

  /** The best `wanted` of `slots` (all of them when there are no more) and their cut. */
  private cut(slots: number[], wanted: number): FirstRound {
    const { scores: approximate } = this.views;
    const { ids } = this;
    if (slots.length === 0) return { slots, cutScore: Number.NEGATIVE_INFINITY, cutId: Number.POSITIVE_INFINITY };
    if (this.cutScores.length < slots.length) this.cutScores = new Float32Array(Math.max(slots.length, 2 * this.cutScores.length));
    const scores = this.cutScores;
    for (let index = 0; index < slots.length; index += 1) scores[index] = approximate[slots[index]!]!;
    const cutScore = kthLargest(scores, Math.min(wanted, slots.length), slots.length);
    // Everything above the cut score, then the ties by lower id until `wanted`.
    const taken: number[] = [];
    const ties: number[] = [];
    for (const slot of slots) {
      const score = approximate[slot]!;
      if (score > cutScore) taken.push(slot);
      else if (score === cutScore) ties.push(slot);
    }
    ties.sort((left, right) => ids[left]! - ids[right]!);
    ties.length = Math.min(ties.length, wanted - taken.length);
    return { slots: [...taken, ...ties], cutScore, cutId: ids[ties.at(-1)!]! };
  }

  /** Appends the ids of `slots` and their exact cosine similarities (the kernel's `rescore`, against the query the search wrote) to `into`. */
  private rescore(slots: readonly number[], into: Rescored): void {
    const { slots: slotArea, similarities } = this.views;
    const { ids } = this;
    for (let index = 0; index < slots.length; index += 1) slotArea[index] = slots[index]!;
    this.exactKernel.rescore(this.rowOffset(0), this.dimensions, this.slotsOffset(), slots.length, 0, this.similaritiesOffset());
    for (let index = 0; index < slots.length; index += 1) {
      into.ids.push(ids[slots[index]!]!);
      into.similarities.push(similarities[index]!);
    }
  }

  private passes(slot: number, scope: number | undefined, filter: FlatVectorFilter): boolean {
    const time = this.times[slot]!;
    return (scope === undefined || this.scopes[slot] === scope) && (filter.from === undefined || time >= filter.from) && (filter.to === undefined || time <= filter.to);
  }

  /** Stores a normalised vector at `slot`: as float32, and as int8 with its scale. */
  private store(slot: number, normalised: Float64Array): void {
    const { dimensions } = this;
    const exact = new Float32Array(this.exactMemory.buffer, this.rowOffset(slot), dimensions);
    exact.set(normalised);
    let largest = 0;
    for (let j = 0; j < dimensions; j += 1) largest = Math.max(largest, Math.abs(exact[j]!));
    // int8 = round(component / step), step = largest / 127: the largest component maps to ±127.
    const step = largest / INT8_MAX;
    const int8 = new Int8Array(this.memory.buffer, this.vectorOffset(slot), this.vectorBytes);
    for (let j = 0; j < dimensions; j += 1) int8[j] = step === 0 ? 0 : Math.round(exact[j]! / step);
    int8.fill(0, dimensions);
    this.views.scales[slot] = step;
    this.largestComponent = Math.max(this.largestComponent, largest);
  }

  /**
   * Writes the normalised query as int16 and returns its scale (int16 → float) and the bound on
   * |approximate − exact| score for this query over any stored vector.
   */
  private writeQuery(query: Float64Array): { scale: number; errorBound: number } {
    let largest = 0;
    let l1 = 0;
    for (const component of query) {
      largest = Math.max(largest, Math.abs(component));
      l1 += Math.abs(component);
    }
    const int16 = this.views.query;
    int16.fill(0);
    if (largest === 0) return { scale: 0, errorBound: ROUNDING_SLACK };
    const factor = Math.min(INT16_MAX / largest, (QUERY_L1_LIMIT - this.dimensions) / l1);
    for (let j = 0; j < this.dimensions; j += 1) int16[j] = Math.round(query[j]! * factor);
    // |v·q − v'·q'| ≤ |v − v'|∞ ‖q‖₁ + ‖v'‖₁ |q − q'|∞ with |v − v'|∞ ≤ step/2 (step ≤ largest/127),
    // ‖v'‖₁ ≤ √d + d·step/2 and |q − q'|∞ ≤ 1/(2·factor).
    const halfStep = this.largestComponent / INT8_MAX / 2;
    const errorBound = halfStep * l1 + (Math.sqrt(this.dimensions) + this.dimensions * halfStep) / (2 * factor) + ROUNDING_SLACK;
    return { scale: 1 / factor, errorBound };
  }

  private vectorOffset(slot: number): number {
    return 2 * this.queryLanes + slot * this.vectorBytes;
  }

  private scalesOffset(): number {
    return this.vectorOffset(this.capacity);
  }

  private scoresOffset(): number {
    return this.scalesOffset() + this.capacity * FLOAT_BYTES;
  }

  private indicesOffset(): number {
    return this.scoresOffset() + this.capacity * FLOAT_BYTES;
  }

  /** Where row `slot` of the float32 vectors starts in the exact memory (after the float64 query). */
  private rowOffset(slot: number): number {
    return align16(this.dimensions * 8) + slot * this.dimensions * FLOAT_BYTES;
  }

  private slotsOffset(): number {
    return align16(this.rowOffset(this.capacity));
  }

  private similaritiesOffset(): number {
    return this.slotsOffset() + this.capacity * FLOAT_BYTES;
  }

  /** Room for `capacity` vectors: grows the memory (vectors stay in place, the scales move up) and the other arrays. */
  private reserve(capacity: number): void {
    const oldScales = this.scalesOffset();
    const oldCapacity = this.capacity;
    const needed = this.vectorOffset(capacity) + 3 * capacity * FLOAT_BYTES;
    const missing = needed - this.memory.buffer.byteLength;
    if (missing > 0) this.memory.grow(Math.ceil(missing / WASM_PAGE_BYTES));
    this.capacity = capacity;
    new Uint8Array(this.memory.buffer).copyWithin(this.scalesOffset(), oldScales, oldScales + oldCapacity * FLOAT_BYTES);
    this.ids = grown(this.ids, new Float64Array(capacity));
    this.scopes = grown(this.scopes, new Int32Array(capacity));
    this.times = grown(this.times, new Float64Array(capacity));
    // The rows stay where they are; the scratch after them just moves up.
    const exactMissing = this.similaritiesOffset() + capacity * 8 - this.exactMemory.buffer.byteLength;
    if (exactMissing > 0) this.exactMemory.grow(Math.ceil(exactMissing / WASM_PAGE_BYTES));
    const { buffer } = this.memory;
    const exact = this.exactMemory.buffer;
    this.views = {
      query: new Int16Array(buffer, 0, this.queryLanes),
      scales: new Float32Array(buffer, this.scalesOffset(), capacity),
      scores: new Float32Array(buffer, this.scoresOffset(), capacity),
      indices: new Int32Array(buffer, this.indicesOffset(), capacity),
      maxima: new Float32Array(buffer, this.indicesOffset(), capacity),
      exactQuery: new Float64Array(exact, 0, this.dimensions),
      slots: new Int32Array(exact, this.slotsOffset(), capacity),
      similarities: new Float64Array(exact, this.similaritiesOffset(), capacity),
    };
  }
}

/**
 * The k-th largest of the first `length` of `values` (1 ≤ k ≤ length), by quickselect; reorders
 * them. Every score is finite (normalise refuses anything else), so comparisons are a total order.
 */
function kthLargest(values: Float32Array, k: number, length: number): number {
  let low = 0;
  let high = length - 1;
  const target = k - 1;
  while (low < high) {
    // Hoare partition around the middle value, largest first.
    const pivot = values[(low + high) >>> 1]!;
    let left = low;
    let right = high;
    while (left <= right) {
      while (values[left]! > pivot) left += 1;
      while (values[right]! < pivot) right -= 1;
      if (left <= right) {
        const swap = values[left]!;
        values[left] = values[right]!;
        values[right] = swap;
        left += 1;
        right -= 1;
      }
    }
    if (target <= right) high = right;
    else if (target >= left) low = left;
    else return values[target]!;
  }
  return values[target]!;
}

/**
 * Views of the kernel memories (layouts in FlatVectorSet's and exactMemory's comments): the int16
 * query, the scales, the approximate scores, the indices `above` writes (where `maxima` writes its
 * float32 maxima first), and in the exact memory the float64 query, the slots to rescore and their
 * similarities.
 */
interface KernelViews {
  readonly query: Int16Array;
  readonly scales: Float32Array;
  readonly scores: Float32Array;
  readonly indices: Int32Array;
  readonly maxima: Float32Array;
  readonly exactQuery: Float64Array;
  readonly slots: Int32Array;
  readonly similarities: Float64Array;
}

/** The vectors rescored so far: their ids and exact similarities, position by position. */
interface Rescored {
  ids: number[];
  similarities: number[];
}

/** The first round's candidates and the cut that the second round compares with. */
interface FirstRound {
  slots: number[];
  cutScore: number;
  cutId: number;
}

/**
 * `vector` scaled to length 1 (all zeros stays all zeros), in float64, written to `into`;
 * non-finite components are refused before anything is written.
 */
function normalise(vector: ArrayLike<number>, into: Float64Array<ArrayBufferLike> = new Float64Array(vector.length)): Float64Array<ArrayBufferLike> {
  let norm = 0;
  for (let j = 0; j < vector.length; j += 1) norm += vector[j]! * vector[j]!;
  if (!Number.isFinite(norm)) throw new RangeError('vector components must be finite numbers, not too large to square');
  const scale = norm > 0 ? 1 / Math.sqrt(norm) : 0;
  for (let j = 0; j < vector.length; j += 1) into[j] = vector[j]! * scale;
  return into;
}

function acceptAll(): boolean {
  return true;
}

function align16(bytes: number): number {
  return Math.ceil(bytes / 16) * 16;
}

function grown<T extends Float64Array | Int32Array>(old: T, next: T): T {
  next.set(old);
  return next;
}
