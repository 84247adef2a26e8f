import { NexusError } from '../../errors/index.js';
import { stem } from '../text/stem.js';
import { tokenize } from '../text/tokenize.js';
import { GLOVE_TABLE_VERSION, loadGloveTable, type GloveTable } from './glove-cache.js';
import type { Embedder } from './types.js';

/** Bump when the way a text becomes a vector changes; with the table version it forms the id. */
const ALGORITHM_VERSION = 1;
export const GLOVE_EMBEDDER_ID = `glove-wink-100d-sif@${GLOVE_TABLE_VERSION}.${ALGORITHM_VERSION}`;
const DIMENSIONS = 100;
/** Relative trust in hybrid fusion (full text = 1); see docs/memory.md for how it was chosen. */
const GLOVE_FUSION_WEIGHT = 0.4;
/** Words the table lacks: a light stem is tried before the word is dropped. */
const MIN_STEM_LENGTH = 3;

export interface GloveEmbedderOptions {
  /** Where the compact table is cached (`<dataDir>/embeddings/`). */
  dataDir: string;
}

/**
 * The offline default embedder: a smooth-inverse-frequency weighted average of GloVe word vectors
 * with the common component removed (Arora et al., "A Simple but Tough-to-Beat Baseline for
 * Sentence Embeddings", 2017). No network, no model download: the word vectors come from an npm
 * package and are compacted into the data dir on first use. It captures topic and word-level
 * similarity ("dog" ≈ "puppy"), not word order or negation.
 */
export class GloveEmbedder implements Embedder {
  readonly id = GLOVE_EMBEDDER_ID;
  readonly dimensions = DIMENSIONS;
  /** Averaged word vectors find topic, not specifics: in hybrid search they refine full text rather than equal it. */
  readonly fusionWeight = GLOVE_FUSION_WEIGHT;
  readonly #dataDir: string;
  /** Aborts a table build still running at close(); one build is shared by every caller. */
  readonly #closing = new AbortController();
  #table: Promise<GloveTable> | undefined;
  /** The table once loaded: embedding then skips the wait (its promise and abort listener) per call. */
  #loaded: GloveTable | undefined;

  constructor(options: GloveEmbedderOptions) {
    this.#dataDir = options.dataDir;
  }

  /**
   * Loads (building on first use) the word table; embed() calls it, callers may call it early to
   * warm up. A caller's signal stops its own wait, not the shared build.
   */
  async load(options: { signal?: AbortSignal } = {}): Promise<GloveTable> {
    this.#table ??= loadGloveTable(this.#dataDir, { signal: this.#closing.signal }).then(
      (table) => (this.#loaded = table),
      (error: unknown) => {
        // A failed build must not poison later attempts.
        this.#table = undefined;
        throw error;
      },
    );
    return options.signal === undefined ? this.#table : untilAborted(this.#table, options.signal);
  }

  /**
   * Embeds `texts`. The signal is read only while the table is loading (once it is loaded, an
   * embedding is a few microseconds of synchronous work with nothing to wait for), so a caller
   * that makes its signal on demand makes none.
   */
  async embed(texts: readonly string[], options: { signal?: AbortSignal | undefined } = {}): Promise<Float32Array[]> {
    let table = this.#loaded;
    if (table === undefined) {
      table = await this.load(options);
      if (options.signal?.aborted) throw cancelled();
    }
    return texts.map((text) => embedText(table, text));
  }

  /** Stops a table build in progress (its partial file is never written). */
  async close(): Promise<void> {
    this.#closing.abort();
    await this.#table?.catch(() => undefined);
  }
}

function cancelled(): NexusError {
  return new NexusError('CANCELLED', 'Embedding was cancelled');
}

/** The promise's outcome, or CANCELLED as soon as the signal aborts (the work itself goes on). */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(cancelled());
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(cancelled());
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** One text → one L2-normalised vector (all zeros when no word of the text is known). */
export function embedText(table: GloveTable, text: string): Float32Array {
  const d = table.dimensions;
  // A plain array: a typed one this size costs more to allocate (its memory lives outside the JS heap).
  const sum = new Array<number>(d).fill(0);
  for (const token of tokenize(text)) {
    const slot = lookup(table, token);
    if (slot === undefined) continue;
    const factor = table.weights[slot]! * table.scales[slot]!;
    const base = slot * d;
    for (let j = 0; j < d; j += 1) sum[j]! += factor * table.vectors[base + j]!;
  }
  let projection = 0;
  for (let j = 0; j < d; j += 1) projection += sum[j]! * table.component[j]!;
  let norm = 0;
  for (let j = 0; j < d; j += 1) {
    sum[j]! -= projection * table.component[j]!;
    norm += sum[j]! * sum[j]!;
  }
  const result = new Float32Array(d);
  if (norm === 0) return result;
  const inverse = 1 / Math.sqrt(norm);
  for (let j = 0; j < d; j += 1) result[j] = sum[j]! * inverse;
  return result;
}

function lookup(table: GloveTable, token: string): number | undefined {
  const direct = table.index.get(token);
  if (direct !== undefined || token.length <= MIN_STEM_LENGTH) return direct;
  return table.index.get(stem(token));
}
