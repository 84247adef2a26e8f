import { randomUUID } from 'node:crypto';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { Logger } from '../logging/index.js';
import type { Conversation, ConversationStore, HistoryPage, Message } from './conversation-store.js';
import { conversationNotFound } from './conversation-store.js';
import { decodeCursor, encodeCursor } from './cursor.js';
import type { Embedder } from './embedders/types.js';
import { EmbeddingQueue, type EmbeddingJob } from './embedding-queue.js';
import { CONTEXT_MESSAGES, kvIndexText, messageContextText, messageEmbedText, messageIndexText, textHash } from './index-text.js';
import { assertWellFormed, serializeStorable, type JsonValue, type StorableLimits } from './json-value.js';
import type { KvItem, KvStore } from './kv-store.js';
import { MemorySearch, type SearchRequest, type SearchResult, type SemanticStatus } from './memory-search.js';
import type { IndexTextRow, StorageUsage } from './store-types.js';
import type { VectorIndex, VectorKind } from './vector-index.js';

export interface MemoryServiceOptions {
  kv: KvStore;
  conversations: ConversationStore;
  vectors: VectorIndex;
  /** Null when no embedder is configured: full-text search still works, semantic search reports why not. */
  embedder: Embedder | null;
  logger: Logger;
  limits: StorableLimits;
  embedBatchSize: number;
  /** How often expired items are swept (0 disables the timer; sweepExpired() still works). */
  sweepIntervalMs: number;
  /** Milliseconds since the epoch; injectable so TTL tests need not sleep. */
  clock?: () => number;
  /** Called after every write with the resource URI that changed and the tenant it belongs to. */
  onChange?: (uri: string, tenant: string) => void;
  /** Called before a write with what it adds; throws (QUOTA_EXCEEDED) to refuse it. */
  beforeWrite?: (tenant: string, adding: StorageUsage) => Promise<void>;
}

export interface StoreInput {
  namespace: string;
  key: string;
  value: unknown;
  ttlSecs?: number | undefined;
  tags?: readonly string[] | undefined;
}

export interface ListInput {
  namespace: string;
  prefix?: string | undefined;
  tags?: readonly string[] | undefined;
  cursor?: string | undefined;
  limit: number;
}

export interface AddMessageInput {
  conversationId: string;
  role: string;
  content: string;
  name?: string | undefined;
  /** Milliseconds since the epoch; defaults to now. */
  timestamp?: number | undefined;
  metadata?: unknown;
}

type Signal = { signal?: AbortSignal | undefined };

/** `nexus://memory/{namespace}/{key}` with both parts percent-encoded (the canonical form). */
export function memoryUri(namespace: string, key: string): string {
  return `nexus://memory/${encodeURIComponent(namespace)}/${encodeURIComponent(key)}`;
}

export function conversationUri(id: string): string {
  return `nexus://conversations/${encodeURIComponent(id)}`;
}

const BACKFILL_PAGE = 500;
const SWEEP_BATCH = 1000;

/**
 * Persistent memory behind the memory.* tools and resources: key-value items, conversations and
 * search, over the store seams (SQLite or the in-memory twins). Every method takes the tenant.
 * Writes return once the record is committed; embedding happens afterwards in the queue.
 */
export class MemoryService {
  readonly search: MemorySearch;
  private readonly kv: KvStore;
  private readonly conversations: ConversationStore;
  private readonly vectors: VectorIndex;
  private readonly queue: EmbeddingQueue | undefined;
  private readonly clock: () => number;
  private sweepTimer: NodeJS.Timeout | undefined;
  private backfilling: Promise<number> | undefined;
  private startup: Promise<void> | undefined;
  private closed = false;
  private failuresAtLastBackfill = 0;

  constructor(private readonly options: MemoryServiceOptions) {
    this.kv = options.kv;
    this.conversations = options.conversations;
    this.vectors = options.vectors;
    this.clock = options.clock ?? Date.now;
    const embedder = options.embedder;
    this.queue =
      embedder === null
        ? undefined
        : new EmbeddingQueue({ embedder, vectors: this.vectors, logger: options.logger, batchSize: options.embedBatchSize, stillCurrent: (jobs) => this.stillCurrent(jobs) });
    this.search = new MemorySearch({ kv: this.kv, conversations: this.conversations, vectors: this.vectors, embedder, queue: this.queue, logger: options.logger, clock: this.clock });
  }

  /** Starts the expiry sweeper and embeds whatever is missing a vector (in the background). */
  start(): void {
    if (this.options.sweepIntervalMs > 0 && this.sweepTimer === undefined) {
      this.sweepTimer = setInterval(() => void this.tick(), this.options.sweepIntervalMs);
      this.sweepTimer.unref();
    }
    this.startup ??= this.search
      .refreshEmbedderState()
      .then(() => {
        void this.backfill();
      })
      .catch((error: unknown) => this.options.logger.warn({ err: error }, 'could not read the vector index state'));
    // Embedding nothing loads the embedder (the offline one builds its word table on first use,
    // which takes seconds): done now in the background rather than inside the first search.
    // close() → embedder.close() stops it.
    this.options.embedder?.embed([]).catch((error: unknown) => {
      if (!this.closed) this.options.logger.warn({ err: error }, 'the embedder could not be loaded; semantic search waits for it');
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.sweepTimer);
    this.sweepTimer = undefined;
    await this.startup;
    await this.queue?.close();
    await this.backfilling?.catch(() => undefined);
    await this.options.embedder?.close?.();
  }

  // ── key-value ────────────────────────────────────────────────────────────────────────────────

  async store(tenant: string, input: StoreInput, options: Signal = {}): Promise<{ item: KvItem; created: boolean }> {
    assertNames({ namespace: input.namespace, key: input.key }, input.tags);
    const valueJson = serializeStorable(input.value, this.options.limits, 'value');
    const value = JSON.parse(valueJson) as JsonValue;
    const now = this.clock();
    const indexText = kvIndexText(input.key, value);
    if (this.options.beforeWrite !== undefined) {
      const existing = await this.kv.get(tenant, input.namespace, input.key, now);
      const replacedBytes = existing === undefined ? 0 : Buffer.byteLength(JSON.stringify(existing.value));
      await this.options.beforeWrite(tenant, { items: existing === undefined ? 1 : 0, bytes: Buffer.byteLength(valueJson) - replacedBytes });
    }
    const result = await this.kv.put(
      {
        tenant,
        namespace: input.namespace,
        key: input.key,
        valueJson,
        tags: [...new Set(input.tags ?? [])],
        expiresAt: input.ttlSecs === undefined ? null : now + input.ttlSecs * 1000,
        indexText,
        now,
      },
      options,
    );
    if (indexText !== null) this.enqueue('kv', [{ id: result.item.id, tenant, scope: input.namespace, text: indexText, timestamp: now }]);
    this.options.onChange?.(memoryUri(input.namespace, input.key), tenant);
    return result;
  }

  async recall(tenant: string, namespace: string, key: string): Promise<KvItem | undefined> {
    return this.kv.get(tenant, namespace, key, this.clock());
  }

  /** True when a live item existed. */
  async delete(tenant: string, namespace: string, key: string, options: Signal = {}): Promise<boolean> {
    const existed = await this.kv.delete(tenant, namespace, key, this.clock(), options);
    if (existed) this.options.onChange?.(memoryUri(namespace, key), tenant);
    return existed;
  }

  async list(tenant: string, input: ListInput): Promise<{ items: KvItem[]; nextCursor: string | undefined }> {
    assertNames({ namespace: input.namespace, ...(input.prefix === undefined ? {} : { prefix: input.prefix }) }, input.tags);
    const afterKey = input.cursor === undefined ? undefined : String(decodeCursor(input.cursor, `kv:${input.namespace}`, { key: 'string' }).key);
    const page = await this.kv.list({ tenant, namespace: input.namespace, prefix: input.prefix, tags: input.tags, afterKey, limit: input.limit, now: this.clock() });
    const last = page.items.at(-1);
    return { items: page.items, nextCursor: page.hasMore && last !== undefined ? encodeCursor(`kv:${input.namespace}`, { key: last.key }) : undefined };
  }

  /** Deletes expired items now (the timer calls this); returns how many. */
  async sweepExpired(): Promise<number> {
    let total = 0;
    for (;;) {
      const removed = await this.kv.sweepExpired(this.clock(), SWEEP_BATCH);
      total += removed;
      if (removed < SWEEP_BATCH) return total;
    }
  }

  // ── conversations ────────────────────────────────────────────────────────────────────────────

  async createConversation(tenant: string, input: { title?: string | undefined; metadata?: unknown }, options: Signal = {}): Promise<Conversation> {
    if (input.title !== undefined) assertWellFormed(input.title, 'title');
    const metadataJson = serializeStorable(input.metadata ?? {}, this.options.limits, 'metadata');
    const conversation = await this.conversations.create({ tenant, id: randomUUID(), title: input.title ?? null, metadataJson, now: this.clock() }, options);
    this.options.onChange?.(conversationUri(conversation.id), tenant);
    return conversation;
  }

  async addMessage(tenant: string, input: AddMessageInput, options: Signal = {}): Promise<Message> {
    assertWellFormed(input.content, 'content');
    assertWellFormed(input.role, 'role');
    if (input.name !== undefined) assertWellFormed(input.name, 'name');
    const metadataJson = serializeStorable(input.metadata ?? {}, this.options.limits, 'metadata');
    // Content and metadata share the per-record size limit.
    serializeStorable(input.content, { ...this.options.limits, maxBytes: this.options.limits.maxBytes - Buffer.byteLength(metadataJson) + 2 }, 'content');
    await this.options.beforeWrite?.(tenant, { items: 1, bytes: Buffer.byteLength(input.content) + Buffer.byteLength(metadataJson) });
    const now = this.clock();
    const indexText = messageIndexText({ name: input.name ?? null, content: input.content, metadata: JSON.parse(metadataJson) as JsonValue });
    const timestamp = input.timestamp ?? now;
    // What was said just before, in the same session, is searched and embedded with the message.
    const contextText = messageContextText(timestamp, await this.conversations.precedingTexts(tenant, input.conversationId, timestamp, CONTEXT_MESSAGES));
    const message = await this.conversations.addMessage(
      {
        tenant,
        conversationId: input.conversationId,
        id: randomUUID(),
        role: input.role,
        name: input.name ?? null,
        content: input.content,
        metadataJson,
        timestamp,
        indexText,
        contextText,
        now,
      },
      options,
    );
    this.enqueue('message', [{ id: message.seq, tenant, scope: message.conversationId, text: messageEmbedText(indexText, contextText), timestamp: message.timestamp }]);
    this.options.onChange?.(conversationUri(message.conversationId), tenant);
    return message;
  }

  async getConversation(tenant: string, id: string): Promise<Conversation | undefined> {
    return this.conversations.get(tenant, id);
  }

  /** History page (chronological); CONVERSATION_NOT_FOUND for an unknown id. */
  async history(tenant: string, input: { conversationId: string; limit: number; before?: string | undefined; after?: string | undefined }): Promise<{ conversation: Conversation; page: HistoryPage }> {
    const conversation = await this.conversations.get(tenant, input.conversationId);
    if (conversation === undefined) throw conversationNotFound(input.conversationId);
    const page = await this.conversations.history({ tenant, ...input });
    return { conversation, page };
  }

  async listConversations(tenant: string, input: { limit: number; cursor?: string | undefined }): Promise<{ conversations: Conversation[]; nextCursor: string | undefined }> {
    const after = input.cursor === undefined ? undefined : decodeCursor(input.cursor, 'conversations', { updatedAt: 'number', id: 'string' });
    const page = await this.conversations.list({ tenant, limit: input.limit, after: after && { updatedAt: Number(after.updatedAt), id: String(after.id) } });
    const last = page.conversations.at(-1);
    return {
      conversations: page.conversations,
      nextCursor: page.hasMore && last !== undefined ? encodeCursor('conversations', { updatedAt: last.updatedAt, id: last.id }) : undefined,
    };
  }

  async deleteConversation(tenant: string, id: string, options: Signal = {}): Promise<boolean> {
    const deleted = await this.conversations.delete(tenant, id, options);
    if (deleted) this.options.onChange?.(conversationUri(id), tenant);
    return deleted;
  }

  // ── tenants ──────────────────────────────────────────────────────────────────────────────────

  /** What a tenant stores: items plus messages, and their bytes (for quotas). */
  async usage(tenant: string): Promise<StorageUsage> {
    const [items, messages] = await Promise.all([this.kv.usage(tenant, this.clock()), this.conversations.usage(tenant)]);
    return { items: items.items + messages.items, bytes: items.bytes + messages.bytes };
  }

  /** Deletes everything a tenant stored in memory (items, conversations, vectors); returns how many records. */
  async deleteTenant(tenant: string, options: Signal = {}): Promise<number> {
    const vectors = await this.vectors.deleteTenant(tenant, options);
    const items = await this.kv.deleteTenant(tenant, options);
    const conversations = await this.conversations.deleteTenant(tenant, options);
    this.options.logger.info({ tenant, items, conversations, vectors }, 'tenant memory deleted');
    return items + conversations;
  }

  // ── search and embeddings ────────────────────────────────────────────────────────────────────

  async find(tenant: string, request: SearchRequest, options: Signal = {}): Promise<SearchResult> {
    return this.search.run(tenant, request, options);
  }

  async status(): Promise<SemanticStatus> {
    return this.search.currentStatus();
  }

  /** Embeds texts with the configured embedder (memory.embed). */
  async embed(texts: readonly string[], options: Signal = {}): Promise<{ embedder: string; dimensions: number; vectors: Float32Array[] }> {
    const embedder = this.search.requireEmbedder();
    texts.forEach((text, index) => assertWellFormed(text, `texts[${index}]`));
    const vectors = await embedder.embed(texts, options);
    return { embedder: embedder.id, dimensions: vectors[0]?.length ?? embedder.dimensions, vectors };
  }

  /** Resolves once every text written so far has its vector (or failed): for tests and tools. */
  async flushEmbeddings(): Promise<void> {
    await this.startup;
    await this.backfilling;
    await this.queue?.flush();
  }

  /**
   * Rebuilds the vectors: drops those made by any other embedder, then embeds every record that
   * lacks a current vector. Returns how many vectors were removed and how many texts embedded.
   */
  async reindex(signal?: AbortSignal): Promise<{ removed: number; embedded: number; embedder: string }> {
    const embedder = this.search.requireEmbedder();
    await this.backfilling?.catch(() => undefined);
    const removed = await this.vectors.removeOtherEmbedders(embedder.id, { signal });
    await this.search.refreshEmbedderState();
    const embedded = await this.backfill(signal);
    await this.queue?.flush();
    this.options.logger.info({ removed, embedded, embedder: embedder.id }, 'memory reindexed');
    return { removed, embedded, embedder: embedder.id };
  }

  private enqueue(kind: VectorKind, rows: readonly IndexTextRow[]): void {
    this.queue?.enqueue(rows.map((row) => ({ kind, refId: row.id, tenant: row.tenant, scope: row.scope, timestamp: row.timestamp, text: row.text, textHash: textHash(row.text) })));
  }

  /**
   * Queues every record whose vector is missing or was made from other text. Vectors of another
   * embedder are left alone (reported as stale; `reindex` replaces them), so switching to a paid
   * HTTP embedder never silently re-embeds everything.
   */
  private backfill(signal?: AbortSignal): Promise<number> {
    const run = async (): Promise<number> => {
      if (this.queue === undefined) return 0;
      this.failuresAtLastBackfill = this.queue.failures.count;
      let queued = 0;
      const pages: Array<{ kind: VectorKind; next: (after: number) => Promise<IndexTextRow[]> }> = [
        { kind: 'kv', next: (after) => this.kv.indexTexts(after, BACKFILL_PAGE, this.clock()) },
        { kind: 'message', next: (after) => this.conversations.indexTexts(after, BACKFILL_PAGE) },
      ];
      for (const { kind, next } of pages) {
        for (let after = 0; !this.closed; ) {
          signal?.throwIfAborted();
          const rows = await next(after);
          if (rows.length === 0) break;
          after = rows.at(-1)?.id ?? after;
          const stored = await this.vectors.lookup(kind, rows.map((row) => row.id));
          const missing = rows.filter((row) => {
            const vector = stored.get(row.id);
            return vector === undefined || (vector.embedder === this.options.embedder?.id && vector.textHash !== textHash(row.text));
          });
          this.enqueue(kind, missing);
          queued += missing.length;
          // Bounded memory: let the queue drain before reading further.
          if (this.queue.pending > BACKFILL_PAGE) await this.queue.flush();
          // The reads are synchronous: yield between pages so requests are served meanwhile.
          await yieldToEventLoop();
        }
      }
      if (queued > 0) this.options.logger.info({ queued }, 'embedding records that lack a vector');
      return queued;
    };
    const running = run().catch((error: unknown) => {
      if (signal?.aborted) throw error;
      this.options.logger.warn({ err: error }, 'embedding backfill failed');
      return 0;
    });
    const tracked: Promise<number> = running.finally(() => {
      if (this.backfilling === tracked) this.backfilling = undefined;
    });
    this.backfilling = tracked;
    return running;
  }

  /** Jobs whose record still exists with the same text (checked right before storing vectors). */
  private async stillCurrent(jobs: readonly EmbeddingJob[]): Promise<EmbeddingJob[]> {
    const byTenant = new Map<string, EmbeddingJob[]>();
    for (const job of jobs) byTenant.set(job.tenant, [...(byTenant.get(job.tenant) ?? []), job]);
    const current: EmbeddingJob[] = [];
    for (const [tenant, group] of byTenant) {
      const kvIds = group.filter((job) => job.kind === 'kv').map((job) => job.refId);
      const items = new Map((await this.kv.getByIds(tenant, kvIds, this.clock())).map((item) => [item.id, item]));
      const seqs = group.filter((job) => job.kind === 'message').map((job) => job.refId);
      const messages = new Set((await this.conversations.messagesBySeq(tenant, seqs)).map((message) => message.seq));
      for (const job of group) {
        if (job.kind === 'message' ? messages.has(job.refId) : isSameText(items.get(job.refId), job)) current.push(job);
      }
    }
    return current;
  }

  private async tick(): Promise<void> {
    try {
      const swept = await this.sweepExpired();
      if (swept > 0) this.options.logger.debug({ swept }, 'expired memory items swept');
      // Failed embeddings are retried on the next tick after they happened.
      if (this.queue !== undefined && this.queue.failures.count > this.failuresAtLastBackfill && this.backfilling === undefined) await this.backfill();
    } catch (error) {
      this.options.logger.warn({ err: error }, 'memory sweep failed');
    }
  }
}

function isSameText(item: KvItem | undefined, job: EmbeddingJob): boolean {
  if (item === undefined) return false;
  const text = kvIndexText(item.key, item.value);
  return text !== null && textHash(text) === job.textHash;
}

/** Names must survive a round trip through UTF-8 storage. Lengths are checked by the tool schemas. */
function assertNames(names: Record<string, string>, tags: readonly string[] | undefined): void {
  for (const [field, value] of Object.entries(names)) assertWellFormed(value, field);
  (tags ?? []).forEach((tag, index) => assertWellFormed(tag, `tags[${index}]`));
}

/** For tools: a thrown error when a conversation must exist. */
export function requireConversation(conversation: Conversation | undefined, id: string): Conversation {
  if (conversation === undefined) throw conversationNotFound(id);
  return conversation;
}
