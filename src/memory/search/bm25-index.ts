import type { VectorQuery } from '../vector-index.js';
import { Labels } from './labels.js';
import { sortByScore } from './rank-order.js';
import { topK } from './top-k.js';

/** FTS5's bm25() constants and floor for the IDF of a term most rows contain. */
const K1 = 1.2;
const B = 0.75;
const MIN_IDF = 1e-6;
/** Columns a document may have: their occurrence counts share one 32-bit posting word. */
export const MAX_COLUMNS = 2;
const COUNT_BITS = 16;
const COUNT_MASK = (1 << COUNT_BITS) - 1;
const INITIAL_SLOTS = 256;
/** Dead slots tolerated before the postings are rebuilt without them (and at least as many as live ones). */
const MIN_DEAD_TO_COMPACT = 1024;
/** A slot's label number when its document has none. */
const NO_LABEL = -1;

export interface Bm25Document {
  /** The analysed tokens (stems) of each column, in column order. */
  readonly columns: ReadonlyArray<readonly string[]>;
  readonly tenant: string;
  /** Namespace of an item, conversation id of a message: what a search may be limited to. */
  readonly scope: string;
  /** Update time of an item, timestamp of a message (ms). */
  readonly time: number;
  /** When the record stops being returned (epoch ms); null: never. */
  readonly expiresAt: number | null;
  /**
   * A short text kept with the document and returned by `labelOf` (a message's author), so a
   * caller that needs only that need not read the row. Interned: few distinct labels cost little.
   */
  readonly label?: string | undefined;
}

/** The query's own filters (tenant, scope, inclusive time range), plus: only documents not expired at `liveAt` (ms). */
export type Bm25Filter = Pick<VectorQuery, 'tenant' | 'scope' | 'from' | 'to'> & { readonly liveAt?: number | undefined };

export interface Bm25Hit {
  readonly id: number;
  /** BM25, higher is better (FTS5's bm25() with the sign flipped). */
  readonly score: number;
}

/** One term's postings: [slot, packed column counts] pairs in one growable block. */
interface Postings {
  words: Int32Array;
  length: number;
}

/**
 * An in-memory inverted index that ranks exactly as SQLite FTS5's bm25(table, w1, w2) does: a
 * term's frequency is the weighted sum of its occurrences per column, the length normalisation
 * uses the whole document, the IDF counts documents containing the term in any column, and the
 * collection statistics cover every document (all tenants, expired ones too, as FTS5's do). OR
 * semantics: a document matching any query term is a candidate. Filters (tenant, scope, time,
 * expiry) are applied while picking the top results, so they never skew the statistics.
 *
 * Each version of a document takes a new slot; replacing or deleting one only marks its slot dead
 * (searches skip it), and the postings are rebuilt without dead slots once those outnumber the
 * live ones, so a write costs O(its own terms) and no posting list is ever searched.
 */
export class Bm25Index {
  private readonly weights: readonly number[];
  private slotCount = 0;
  private slotIds = new Float64Array(INITIAL_SLOTS);
  private slotLengths = new Float64Array(INITIAL_SLOTS);
  private slotAlive = new Uint8Array(INITIAL_SLOTS);
  private slotTenants = new Int32Array(INITIAL_SLOTS);
  private slotScopes = new Int32Array(INITIAL_SLOTS);
  private slotTimes = new Float64Array(INITIAL_SLOTS);
  private slotExpiry = new Float64Array(INITIAL_SLOTS);
  /** The document's label number, NO_LABEL without one. */
  private slotLabels = new Int32Array(INITIAL_SLOTS);
  private readonly slotOf = new Map<number, number>();
  private readonly termIds = new Map<string, number>();
  private readonly postings: Postings[] = [];
  /** Term ids no live document uses any more, to be given to new terms. */
  private freeTerms: number[] = [];
  /** Tenants, scopes and document labels, so filters compare numbers. */
  private readonly labels = new Labels();
  private liveDocuments = 0;
  private totalTokens = 0;
  private deadSlots = 0;
  /** Per-query accumulators, indexed by slot; zero outside a search. */
  private scores = new Float64Array(INITIAL_SLOTS);
  private touched = new Int32Array(INITIAL_SLOTS);

  /** `weights`: each column's weight, as passed to FTS5's bm25(). */
  constructor(weights: readonly number[] = [1]) {
    if (weights.length < 1 || weights.length > MAX_COLUMNS) throw new RangeError(`between 1 and ${MAX_COLUMNS} column weights, got ${weights.length}`);
    this.weights = weights;
  }

  /** Documents indexed (those with at least one token). */
  get count(): number {
    return this.liveDocuments;
  }

  has(id: number): boolean {
    return this.slotOf.has(id);
  }

  /** Distinct terms held (those of deleted documents are forgotten when the postings are rebuilt). */
  get terms(): number {
    return this.termIds.size;
  }

  /** Adds or replaces the document `id`; a document without tokens is removed instead. */
  set(id: number, document: Bm25Document): void {
    this.delete(id);
    if (document.columns.length > this.weights.length) throw new RangeError(`expected at most ${this.weights.length} columns, got ${document.columns.length}`);
    const counts = new Map<number, number>();
    let length = 0;
    document.columns.forEach((tokens, column) => {
      const unit = 1 << (COUNT_BITS * column);
      for (const token of tokens) {
        const term = this.termId(token);
        const packed = counts.get(term) ?? 0;
        // A count saturates at 65,535 occurrences of one term in one column: far past where BM25 flattens out.
        if (((packed >>> (COUNT_BITS * column)) & COUNT_MASK) < COUNT_MASK) counts.set(term, packed + unit);
        else counts.set(term, packed);
      }
      length += tokens.length;
    });
    if (length === 0) return;
    const slot = this.newSlot();
    this.slotIds[slot] = id;
    this.slotLengths[slot] = length;
    this.slotAlive[slot] = 1;
    this.slotTenants[slot] = this.labels.use(document.tenant);
    this.slotScopes[slot] = this.labels.use(document.scope);
    this.slotTimes[slot] = document.time;
    this.slotExpiry[slot] = document.expiresAt ?? Number.POSITIVE_INFINITY;
    this.slotLabels[slot] = document.label === undefined ? NO_LABEL : this.labels.use(document.label);
    this.slotOf.set(id, slot);
    for (const [term, packed] of counts) append(this.postings[term]!, slot, packed);
    this.liveDocuments += 1;
    this.totalTokens += length;
  }

  /** Removes the document `id`; false when there was none. */
  delete(id: number): boolean {
    const slot = this.slotOf.get(id);
    if (slot === undefined) return false;
    this.slotOf.delete(id);
    this.slotAlive[slot] = 0;
    this.labels.release(this.slotTenants[slot]!);
    this.labels.release(this.slotScopes[slot]!);
    if (this.slotLabels[slot] !== NO_LABEL) this.labels.release(this.slotLabels[slot]!);
    this.liveDocuments -= 1;
    this.totalTokens -= this.slotLengths[slot]!;
    this.deadSlots += 1;
    if (this.deadSlots >= MIN_DEAD_TO_COMPACT && this.deadSlots > this.liveDocuments) this.compact();
    return true;
  }

  /** The label of document `id` when it is indexed for `tenant` and has one. */
  labelOf(id: number, tenant: string): string | undefined {
    const slot = this.slotOf.get(id);
    if (slot === undefined || this.slotTenants[slot] !== this.labels.get(tenant)) return undefined;
    const label = this.slotLabels[slot]!;
    return label === NO_LABEL ? undefined : this.labels.name(label);
  }

  clear(): void {
    this.slotCount = 0;
    this.slotOf.clear();
    this.termIds.clear();
    this.postings.length = 0;
    this.freeTerms = [];
    this.labels.clear();
    this.liveDocuments = 0;
    this.totalTokens = 0;
    this.deadSlots = 0;
  }

  /**
   * The `limit` best documents for `terms` (OR) that pass `filter`, best first (ties: lower id
   * first). `terms` are analysed like the documents' tokens; repeats count once, as in FTS5.
   */
  search(terms: Iterable<string>, limit: number, filter: Bm25Filter): Bm25Hit[] {
    if (limit < 1 || this.liveDocuments === 0) return [];
    const tenant = this.labels.get(filter.tenant);
    const scope = filter.scope === undefined ? undefined : this.labels.get(filter.scope);
    if (tenant === undefined || (filter.scope !== undefined && scope === undefined)) return [];
    const touchedCount = this.accumulate(new Set(terms));
    try {
      const accept = (slot: number): boolean =>
        this.slotTenants[slot] === tenant &&
        (scope === undefined || this.slotScopes[slot] === scope) &&
        (filter.from === undefined || this.slotTimes[slot]! >= filter.from) &&
        (filter.to === undefined || this.slotTimes[slot]! <= filter.to) &&
        (filter.liveAt === undefined || this.slotExpiry[slot]! > filter.liveAt);
      const best = topK(this.scores, limit, accept, { candidates: this.touched.subarray(0, touchedCount), order: this.slotIds });
      return sortByScore(best, this.scores, this.slotIds).map((slot) => ({ id: this.slotIds[slot]!, score: this.scores[slot]! }));
    } finally {
      for (let index = 0; index < touchedCount; index += 1) this.scores[this.touched[index]!] = 0;
    }
  }

  /** Adds every live document's BM25 for `terms` into `scores`; returns how many slots it touched (listed in `touched`). */
  private accumulate(terms: ReadonlySet<string>): number {
    const averageLength = this.totalTokens / this.liveDocuments;
    const [ownWeight = 1, contextWeight = 1] = this.weights;
    let touchedCount = 0;
    for (const token of terms) {
      const term = this.termIds.get(token);
      if (term === undefined) continue;
      const { words, length } = this.postings[term]!;
      let containing = 0;
      for (let index = 0; index < length; index += 2) containing += this.slotAlive[words[index]!]!;
      if (containing === 0) continue;
      // The same expressions, in the same order, as FTS5's fts5Bm25Function (so the same doubles).
      let idf = Math.log((0.5 + this.liveDocuments - containing) / (0.5 + containing));
      if (idf <= 0) idf = MIN_IDF;
      for (let index = 0; index < length; index += 2) {
        const slot = words[index]!;
        if (this.slotAlive[slot] === 0) continue;
        const packed = words[index + 1]!;
        const frequency = (packed & COUNT_MASK) * ownWeight + (packed >>> COUNT_BITS) * contextWeight;
        const score = (idf * (frequency * (K1 + 1.0))) / (frequency + K1 * (1 - B + (B * this.slotLengths[slot]!) / averageLength));
        const sofar = this.scores[slot]!;
        if (sofar === 0) this.touched[touchedCount++] = slot;
        this.scores[slot] = sofar + score;
      }
    }
    return touchedCount;
  }

  private termId(token: string): number {
    let term = this.termIds.get(token);
    if (term === undefined) {
      term = this.freeTerms.pop() ?? this.postings.length;
      this.termIds.set(token, term);
      this.postings[term] = emptyPostings();
    }
    return term;
  }

  private newSlot(): number {
    if (this.slotCount === this.slotIds.length) this.resize(this.slotIds.length * 2);
    const slot = this.slotCount;
    this.slotCount += 1;
    return slot;
  }

  private resize(capacity: number): void {
    const keep = Math.min(this.slotCount, capacity);
    const resized = <T extends Float64Array | Int32Array | Uint8Array>(old: T, next: T): T => {
      next.set(old.subarray(0, keep));
      return next;
    };
    this.slotIds = resized(this.slotIds, new Float64Array(capacity));
    this.slotLengths = resized(this.slotLengths, new Float64Array(capacity));
    this.slotAlive = resized(this.slotAlive, new Uint8Array(capacity));
    this.slotTenants = resized(this.slotTenants, new Int32Array(capacity));
    this.slotScopes = resized(this.slotScopes, new Int32Array(capacity));
    this.slotTimes = resized(this.slotTimes, new Float64Array(capacity));
    this.slotExpiry = resized(this.slotExpiry, new Float64Array(capacity));
    this.slotLabels = resized(this.slotLabels, new Int32Array(capacity));
    this.scores = new Float64Array(capacity);
    this.touched = new Int32Array(capacity);
  }

  /** Renumbers the live slots densely and drops dead ones from every posting list. */
  private compact(): void {
    const renumbered = new Int32Array(this.slotCount).fill(-1);
    let next = 0;
    for (let slot = 0; slot < this.slotCount; slot += 1) {
      if (this.slotAlive[slot] === 0) continue;
      renumbered[slot] = next;
      this.slotIds[next] = this.slotIds[slot]!;
      this.slotLengths[next] = this.slotLengths[slot]!;
      this.slotAlive[next] = 1;
      this.slotTenants[next] = this.slotTenants[slot]!;
      this.slotScopes[next] = this.slotScopes[slot]!;
      this.slotTimes[next] = this.slotTimes[slot]!;
      this.slotExpiry[next] = this.slotExpiry[slot]!;
      this.slotLabels[next] = this.slotLabels[slot]!;
      this.slotOf.set(this.slotIds[next]!, next);
      next += 1;
    }
    this.slotAlive.fill(0, next, this.slotCount);
    this.slotCount = next;
    for (const list of this.postings) {
      let kept = 0;
      for (let index = 0; index < list.length; index += 2) {
        const slot = renumbered[list.words[index]!]!;
        if (slot === -1) continue;
        list.words[kept] = slot;
        list.words[kept + 1] = list.words[index + 1]!;
        kept += 2;
      }
      list.length = kept;
    }
    this.forgetUnusedTerms();
    this.deadSlots = 0;
    this.resize(Math.max(INITIAL_SLOTS, 2 ** Math.ceil(Math.log2(next + 1))));
  }

  /**
   * Forgets the terms no live document uses (their postings just became empty), so churn — values
   * full of one-off ids — cannot grow the dictionary forever.
   */
  private forgetUnusedTerms(): void {
    for (const [token, term] of this.termIds) {
      if (this.postings[term]!.length > 0) continue;
      this.termIds.delete(token);
      this.postings[term] = emptyPostings();
      this.freeTerms.push(term);
    }
  }
}

function emptyPostings(): Postings {
  return { words: new Int32Array(4), length: 0 };
}

function append(list: Postings, slot: number, packed: number): void {
  if (list.length + 2 > list.words.length) {
    const grown = new Int32Array(list.words.length * 2);
    grown.set(list.words);
    list.words = grown;
  }
  list.words[list.length] = slot;
  list.words[list.length + 1] = packed;
  list.length += 2;
}
