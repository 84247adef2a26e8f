import { NexusError } from '../errors/index.js';
import type { Logger } from '../logging/index.js';
import type { ConversationStore, Message } from './conversation-store.js';
import type { EmbeddingQueue } from './embedding-queue.js';
import type { Embedder } from './embedders/types.js';
import { kvIndexText } from './index-text.js';
import type { KvItem, KvStore } from './kv-store.js';
import { fuse } from './search/fusion.js';
import { makeSnippet } from './snippet.js';
import { stem, tokenize } from './text/index.js';
import type { EmbedderCount, VectorIndex, VectorKind } from './vector-index.js';

export type SearchMode = 'hybrid' | 'semantic' | 'fulltext';
export type SearchScope = 'kv' | 'messages' | 'both';

export interface SearchRequest {
  query: string;
  mode: SearchMode;
  scope: SearchScope;
  /** How many hits to return. */
  k: number;
  /** Key-value hits only from this namespace. */
  namespace?: string | undefined;
  /** Key-value hits must carry every tag. */
  tags?: readonly string[] | undefined;
  /** Message hits only from this conversation. */
  conversationId?: string | undefined;
  /** Inclusive range (ms) over message timestamps and item update times. */
  from?: number | undefined;
  to?: number | undefined;
}

export type SearchHit =
  | { readonly kind: 'kv'; readonly item: KvItem; readonly score: number; readonly snippet: string }
  | { readonly kind: 'message'; readonly message: Message; readonly score: number; readonly snippet: string };

/** Whether semantic search can be trusted right now, and why not. */
export interface SemanticStatus {
  state: 'ready' | 'indexing' | 'embedder_changed' | 'degraded' | 'unavailable';
  embedder: string | null;
  dimensions: number | null;
  /** Texts waiting for their vector. */
  pending: number;
  /** Vectors made by another embedder: ignored by search until `nexus memory reindex`. */
  stale_vectors: number;
  stale_embedders: string[];
  message?: string;
}

export interface SearchResult {
  hits: SearchHit[];
  status: SemanticStatus;
}

/**
 * A ranked record: `id` is its rank key (recordKey), a number so that fusion's map and the record
 * lookups hash numbers, not a string built per hit.
 */
interface Ranked {
  id: number;
  score: number;
}

interface Records {
  items: Map<number, KvItem>;
  messages: Map<number, Message>;
}

export interface MemorySearchOptions {
  kv: KvStore;
  conversations: ConversationStore;
  vectors: VectorIndex;
  embedder: Embedder | null;
  queue: EmbeddingQueue | undefined;
  logger: Logger;
  clock: () => number;
}

/** Candidates fetched per list before fusion and filtering. */
const MIN_CANDIDATES = 50;
const MAX_CANDIDATES = 1000;
/**
 * Reciprocal rank fusion constant for hybrid search. Smaller than the customary 60 so that a
 * top-ranked hit of either list keeps its lead over items both lists rank mediocrely.
 */
const HYBRID_RRF_K = 30;
/** Fewest records loaded at once when filters dropped some of the first k. */
const MIN_HYDRATION_WINDOW = 10;
/** Fusion weight of the "author named in the query" ranking (full text has 1). */
const AUTHOR_WEIGHT = 0.5;

/** Stems of every word of a query (stop words included: a role such as "user" may be one). */
function queryStemSet(query: string): Set<string> {
  return new Set(tokenize(query).map(stem));
}

/** Rankings (each best first) merged into one, best first: one list is already that. */
function mergeByScore(lists: Ranked[][]): Ranked[] {
  return lists.length === 1 ? lists[0]! : lists.flat().sort((left, right) => right.score - left.score);
}

/** One number naming a record of either kind: its id doubled, plus 1 for a message. */
function recordKey(kind: VectorKind, id: number): number {
  return kind === 'kv' ? 2 * id : 2 * id + 1;
}

/** The record ids of one kind in a ranking. */
function idsOf(ranked: readonly Ranked[], kind: VectorKind): number[] {
  const parity = kind === 'kv' ? 0 : 1;
  const ids: number[] = [];
  for (const entry of ranked) if (entry.id % 2 === parity) ids.push((entry.id - parity) / 2);
  return ids;
}

/** Whether the query names a message's author (its name, else its role), every word of it. */
function authorIsNamed(who: string, queryStems: ReadonlySet<string>): boolean {
  const author = tokenize(who).map(stem);
  return author.length > 0 && author.every((word) => queryStems.has(word));
}

/**
 * Ranked retrieval over key-value items and messages. `fulltext` is BM25 over the FTS5 index;
 * `semantic` is cosine similarity over vectors of the current embedder only; `hybrid` fuses the
 * two rankings with reciprocal rank fusion, so an item either one finds can surface and items
 * both find rise; the vector ranking counts as much as the embedder's `fusionWeight` says, and
 * messages by someone the query names get a third, smaller vote. Scores: BM25 (fulltext), cosine
 * similarity (semantic), fused RRF (hybrid).
 */
export class MemorySearch {
  private staleEmbedders: EmbedderCount[] = [];
  private lastQueryFailure: string | undefined;
  private loaded: Promise<void> | undefined;
  /** Whether the last read of the index state has settled: then searches need not wait for it. */
  private stateRead = false;

  constructor(private readonly options: MemorySearchOptions) {}

  /** Re-reads which embedders made the stored vectors; logs when it is not the current one. */
  refreshEmbedderState(): Promise<void> {
    const loading = this.readEmbedderState();
    this.loaded = loading;
    this.stateRead = false;
    const settled = (): void => {
      if (this.loaded === loading) this.stateRead = true;
    };
    loading.then(settled, settled);
    return loading;
  }

  private async readEmbedderState(): Promise<void> {
    const current = this.options.embedder?.id;
    const counts = await this.options.vectors.counts();
    this.staleEmbedders = counts.filter((entry) => entry.embedder !== current);
    if (this.staleEmbedders.length > 0 && current !== undefined) {
      this.options.logger.warn(
        { current, stored: this.staleEmbedders },
        'stored vectors were made by a different embedder; semantic search ignores them until `nexus memory reindex`',
      );
    }
  }

  requireEmbedder(): Embedder {
    const embedder = this.options.embedder;
    if (embedder === null) {
      throw new NexusError('EMBEDDER_UNAVAILABLE', 'No embedder is configured, so semantic search and memory.embed are off (full-text search works)', { details: {} });
    }
    return embedder;
  }

  /** The status once the start-up read of the index state is done. */
  async currentStatus(): Promise<SemanticStatus> {
    await this.loaded?.catch(() => undefined);
    return this.status();
  }

  status(): SemanticStatus {
    const embedder = this.options.embedder;
    if (embedder === null) {
      return { state: 'unavailable', embedder: null, dimensions: null, pending: 0, stale_vectors: 0, stale_embedders: [], message: 'No embedder is configured; semantic search is off.' };
    }
    const staleVectors = this.staleEmbedders.reduce((sum, entry) => sum + entry.count, 0);
    const pending = this.options.queue?.pending ?? 0;
    const failure = this.lastQueryFailure ?? this.options.queue?.failures.last;
    const base = { embedder: embedder.id, dimensions: embedder.dimensions || null, pending, stale_vectors: staleVectors, stale_embedders: this.staleEmbedders.map((entry) => entry.embedder) };
    if (staleVectors > 0) {
      return {
        ...base,
        state: 'embedder_changed',
        message: `${staleVectors} vectors were made by ${base.stale_embedders.join(', ')}, not ${embedder.id}; they are ignored until \`nexus memory reindex\`.`,
      };
    }
    if (failure !== undefined) return { ...base, state: 'degraded', message: `Embedding failed: ${failure}` };
    return { ...base, state: pending > 0 ? 'indexing' : 'ready' };
  }

  async run(tenant: string, request: SearchRequest, options: { signal?: AbortSignal | undefined } = {}): Promise<SearchResult> {
    // The first searches wait for the start-up read of the vector index state, so their status is right.
    if (!this.stateRead && this.loaded !== undefined) await this.loaded.catch(() => undefined);
    if (request.mode === 'semantic') this.requireEmbedder();
    const kinds: VectorKind[] = request.scope === 'kv' ? ['kv'] : request.scope === 'messages' ? ['message'] : ['kv', 'message'];
    const candidates = Math.min(MAX_CANDIDATES, Math.max(MIN_CANDIDATES, request.k * 4));
    const text = request.mode === 'semantic' ? [] : await this.textRanking(tenant, request, kinds, candidates);
    const vector = request.mode === 'fulltext' ? [] : await this.vectorRanking(tenant, request, kinds, candidates, options);
    if (request.mode !== 'hybrid') return { hits: await this.hydrate(tenant, request, request.mode === 'fulltext' ? text : vector), status: this.status() };
    const weights = [1, this.options.embedder?.fusionWeight ?? 1];
    const fused = fuse([text, vector], { k: HYBRID_RRF_K, weights });
    const authored = await this.authoredRanking(tenant, request.query, fused);
    const ranked = authored.length === 0 ? fused : fuse([text, vector, authored], { k: HYBRID_RRF_K, weights: [...weights, AUTHOR_WEIGHT] });
    return { hits: await this.hydrate(tenant, request, ranked), status: this.status() };
  }

  /**
   * The messages of `fused` whose author the query names, in order. A question that names
   * someone ("what did Caroline research?") is usually answered by what that person said: these
   * form a third, weaker ranking. Only the authors are read for it; whole records only for the
   * hits returned.
   */
  private async authoredRanking(tenant: string, query: string, fused: readonly Ranked[]): Promise<Ranked[]> {
    const seqs = idsOf(fused, 'message');
    if (seqs.length === 0) return [];
    const named = queryStemSet(query);
    const authors = new Map((await this.options.conversations.authorsBySeq(tenant, seqs)).map((author) => [recordKey('message', author.seq), author]));
    // Few distinct authors write many messages: decide once per author.
    const verdicts = new Map<string, boolean>();
    return fused.filter((entry) => {
      const who = authors.get(entry.id)?.author;
      if (who === undefined) return false;
      let verdict = verdicts.get(who);
      if (verdict === undefined) verdicts.set(who, (verdict = authorIsNamed(who, named)));
      return verdict;
    });
  }

  /** BM25 hits of each kind, merged by score (both tables score with the same analysis). */
  private async textRanking(tenant: string, request: SearchRequest, kinds: readonly VectorKind[], limit: number): Promise<Ranked[]> {
    const now = this.options.clock();
    const lists = await Promise.all(
      kinds.map(async (kind) =>
        kind === 'kv'
          ? (await this.options.kv.searchText({ tenant, query: request.query, namespace: request.namespace, tags: request.tags, limit, now })).map((hit) => ({ id: recordKey('kv', hit.id), score: hit.score }))
          : (
              await this.options.conversations.searchText({ tenant, query: request.query, conversationId: request.conversationId, from: request.from, to: request.to, limit })
            ).map((hit) => ({ id: recordKey('message', hit.id), score: hit.score })),
      ),
    );
    return mergeByScore(lists);
  }

  /**
   * Nearest vectors of the current embedder, merged by cosine similarity. `options` is handed on
   * as given, not unpacked: a tool call makes its AbortSignal only when something reads it, and an
   * embedder with its table loaded never needs to.
   */
  private async vectorRanking(tenant: string, request: SearchRequest, kinds: readonly VectorKind[], limit: number, options: { signal?: AbortSignal | undefined }): Promise<Ranked[]> {
    const embedder = this.options.embedder;
    if (embedder === null) return [];
    let query: Float32Array | undefined;
    try {
      [query] = await embedder.embed([request.query], options);
      this.lastQueryFailure = undefined;
    } catch (error) {
      if (options.signal?.aborted) throw error;
      const reason = error instanceof Error ? error.message : String(error);
      if (request.mode === 'semantic') throw NexusError.is(error) ? error : new NexusError('EMBEDDER_FAILED', `The embedder failed: ${reason}`, { cause: error });
      // Hybrid still answers from full text; the status says semantic search was skipped.
      this.lastQueryFailure = reason;
      this.options.logger.warn({ err: error, embedder: embedder.id }, 'query embedding failed; answering from full-text search only');
      return [];
    }
    // No word the embedder knows: no direction to search in.
    if (query === undefined || !query.some((component) => component !== 0)) return [];
    const vector = query;
    const lists = await Promise.all(
      kinds.map((kind) =>
        this.options.vectors.search({
          tenant,
          vector,
          embedder: embedder.id,
          // Tag filters are applied after the vector search: fetch more so k survive.
          k: request.tags !== undefined && request.tags.length > 0 && kind === 'kv' ? limit * 4 : limit,
          kinds: [kind],
          scope: kind === 'kv' ? request.namespace : request.conversationId,
          from: request.from,
          to: request.to,
        }),
      ),
    );
    return mergeByScore(lists.map((list) => list.map((hit) => ({ id: recordKey(hit.kind, hit.refId), score: 1 - hit.distance }))));
  }

  /**
   * The first k hits of a ranking, loading records a window at a time (the top k first; more only
   * when filters drop some or records vanished), so a search reads k records, not every candidate.
   */
  private async hydrate(tenant: string, request: SearchRequest, ranked: readonly Ranked[]): Promise<SearchHit[]> {
    const hits: SearchHit[] = [];
    for (let start = 0; start < ranked.length && hits.length < request.k; ) {
      const window = ranked.slice(start, start + Math.max(request.k - hits.length, MIN_HYDRATION_WINDOW));
      start += window.length;
      hits.push(...this.assemble(request, window, await this.load(tenant, window), request.k - hits.length));
    }
    return hits;
  }

  /** Loads the ranked records (kv items and messages), by ranked id. */
  private async load(tenant: string, ranked: readonly Ranked[]): Promise<Records> {
    const [items, messages] = await Promise.all([this.options.kv.getByIds(tenant, idsOf(ranked, 'kv'), this.options.clock()), this.options.conversations.messagesBySeq(tenant, idsOf(ranked, 'message'))]);
    return { items: new Map(items.map((item) => [recordKey('kv', item.id), item])), messages: new Map(messages.map((message) => [recordKey('message', message.seq), message])) };
  }

  /** Hits in ranked order, without what filters exclude (or what vanished), at most `limit`. */
  private assemble(request: SearchRequest, ranked: readonly Ranked[], records: Records, limit: number): SearchHit[] {
    const hits: SearchHit[] = [];
    for (const entry of ranked) {
      if (hits.length >= limit) break;
      const item = records.items.get(entry.id);
      if (item !== undefined && this.itemMatches(item, request)) {
        hits.push({ kind: 'kv', item, score: entry.score, snippet: makeSnippet(kvIndexText(item.key, item.value) ?? '', request.query) });
      }
      const message = records.messages.get(entry.id);
      if (message !== undefined) hits.push({ kind: 'message', message, score: entry.score, snippet: makeSnippet(message.content, request.query) });
    }
    return hits;
  }

  private itemMatches(item: KvItem, request: SearchRequest): boolean {
    return (
      (request.namespace === undefined || item.namespace === request.namespace) &&
      (request.tags ?? []).every((tag) => item.tags.includes(tag)) &&
      (request.from === undefined || item.updatedAt >= request.from) &&
      (request.to === undefined || item.updatedAt <= request.to)
    );
  }
}
