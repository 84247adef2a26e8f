import type { VectorQuery } from '../vector-index.js';
import { createKernelMemory, dotKernel, strideFor, WASM_PAGE_BYTES, type DotKernel, type WasmMemory } from './dot-kernel.js';
import { Labels } from './labels.js';
import { topK } from './top-k.js';

/** Only vectors stored with this scope, within the inclusive timestamp range: the query's own filters. */
export type FlatVectorFilter = Pick<VectorQuery, 'scope' | 'from' | 'to'>;

export interface FlatVectorHit {
  readonly id: number;
  /** Cosine similarity in [-1, 1]. */
  readonly similarity: number;
}

const BYTES = 4;
const INITIAL_CAPACITY = 256;

/**
 * Exact cosine nearest-neighbour search over vectors held in one flat block of memory: every
 * search scores every vector (SIMD dot products, see dot-kernel.ts) and keeps the best k. Exact,
 * like the sqlite-vec scan it stands in for, and 10–20× faster at the sizes memory holds (no
 * SQL row machinery, no per-chunk top-k merge). Vectors are normalised when stored, so a dot
 * product is the cosine. Each vector has an id (unique in the set), a scope and a timestamp for
 * filtering.
 *
 * Layout in the kernel's memory: [query: stride][vectors: capacity × stride][scores: capacity].
 */
export class FlatVectorSet {
  readonly dimensions: number;
  private readonly stride: number;
  private readonly memory: WasmMemory;
  private readonly kernel: DotKernel;
  private capacity = 0;
  private size = 0;
  private ids = new Float64Array(0);
  private scopes = new Int32Array(0);
  private times = new Float64Array(0);
  private readonly slots = new Map<number, number>();
  private readonly scopeLabels = new Labels();

  constructor(dimensions: number, options: { simd?: boolean } = {}) {
    if (!Number.isInteger(dimensions) || dimensions < 1) throw new RangeError(`dimensions must be a positive integer, got ${dimensions}`);
    this.dimensions = dimensions;
    this.stride = strideFor(dimensions);
    this.memory = createKernelMemory(1);
    this.kernel = dotKernel(this.memory, options);
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
    this.writeNormalised(this.vectorOffset(slot), vector);
  }

  /** Removes the vector of `id`; false when there was none. */
  delete(id: number): boolean {
    const slot = this.slots.get(id);
    if (slot === undefined) return false;
    this.slots.delete(id);
    this.scopeLabels.release(this.scopes[slot]!);
    const last = this.size - 1;
    if (slot !== last) {
      // The last vector moves into the hole, so the block stays dense.
      const floats = new Float32Array(this.memory.buffer);
      const from = this.vectorOffset(last) / BYTES;
      floats.copyWithin(this.vectorOffset(slot) / BYTES, from, from + this.stride);
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
    this.writeNormalised(0, query);
    const scoresOffset = this.scoresOffset();
    this.kernel(0, this.vectorOffset(0), this.size, this.stride, scoresOffset);
    const scores = new Float32Array(this.memory.buffer, scoresOffset, this.size);
    const accept = scope === undefined && filter.from === undefined && filter.to === undefined ? () => true : (slot: number) => this.passes(slot, scope, filter);
    const best = topK(scores, k, accept, { order: this.ids });
    return best.map((slot) => ({ id: this.ids[slot]!, similarity: scores[slot]! })).sort((left, right) => right.similarity - left.similarity || left.id - right.id);
  }

  private passes(slot: number, scope: number | undefined, filter: FlatVectorFilter): boolean {
    const time = this.times[slot]!;
    return (scope === undefined || this.scopes[slot] === scope) && (filter.from === undefined || time >= filter.from) && (filter.to === undefined || time <= filter.to);
  }

  /** Writes `vector`, L2-normalised and zero-padded to the stride, at a byte offset. */
  private writeNormalised(offset: number, vector: ArrayLike<number>): void {
    let norm = 0;
    for (let j = 0; j < this.dimensions; j += 1) norm += vector[j]! * vector[j]!;
    const scale = norm > 0 ? 1 / Math.sqrt(norm) : 0;
    const target = new Float32Array(this.memory.buffer, offset, this.stride);
    for (let j = 0; j < this.dimensions; j += 1) target[j] = vector[j]! * scale;
    target.fill(0, this.dimensions);
  }

  private vectorOffset(slot: number): number {
    return (1 + slot) * this.stride * BYTES;
  }

  private scoresOffset(): number {
    return this.vectorOffset(this.capacity);
  }

  /** Room for `capacity` vectors: grows the memory (vectors stay in place) and the metadata arrays. */
  private reserve(capacity: number): void {
    const needed = this.vectorOffset(capacity) + capacity * BYTES;
    const missing = needed - this.memory.buffer.byteLength;
    if (missing > 0) this.memory.grow(Math.ceil(missing / WASM_PAGE_BYTES));
    this.ids = grown(this.ids, new Float64Array(capacity));
    this.scopes = grown(this.scopes, new Int32Array(capacity));
    this.times = grown(this.times, new Float64Array(capacity));
    this.capacity = capacity;
  }
}

function grown<T extends Float64Array | Int32Array>(old: T, next: T): T {
  next.set(old);
  return next;
}
