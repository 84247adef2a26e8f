import type { Logger } from '../logging/index.js';
import type { Embedder } from './embedders/types.js';
import type { VectorIndex, VectorKind, VectorRecord } from './vector-index.js';

/** One text waiting for its vector. */
export interface EmbeddingJob {
  readonly kind: VectorKind;
  readonly refId: number;
  readonly tenant: string;
  readonly scope: string;
  readonly timestamp: number;
  readonly text: string;
  readonly textHash: string;
}

export interface EmbeddingQueueOptions {
  embedder: Embedder;
  vectors: VectorIndex;
  logger: Logger;
  batchSize: number;
  /** How long the first queued job waits for others before its batch is embedded (default LINGER_MS). */
  lingerMs?: number;
  /** Drops jobs whose record was deleted or re-texted while they waited (checked before storing). */
  stillCurrent(jobs: readonly EmbeddingJob[]): Promise<EmbeddingJob[]>;
}

/** Longest text handed to the embedder; longer texts are embedded from their beginning. */
const MAX_EMBED_CHARS = 32_000;

/**
 * A batch waits this long after its first job. Draining at once ran the embedding and the vector
 * write in the same turn as the store that queued the job, ahead of that store's own response,
 * and gave a client storing one item at a time a one-job batch (one vector transaction) per
 * store. A few milliseconds let the response go out first and let a burst share one batch, while
 * a search still sees the item a moment later.
 */
export const LINGER_MS = 5;

/**
 * Embeds stored texts in batches off the request path: a write enqueues and returns; a worker
 * drains the queue (one batch per embedder call) and upserts the vectors. A later job for the
 * same record replaces a waiting one. Failures are logged and counted — the records are picked up
 * again by the next backfill — and never reach the writer. A batch starts LINGER_MS after its
 * first job, or as soon as it is full. `flush()` resolves when everything queued so far is stored
 * (tests, reindex, shutdown), without the wait.
 */
export class EmbeddingQueue {
  private readonly waiting = new Map<string, EmbeddingJob>();
  private readonly idleWaiters: Array<() => void> = [];
  private readonly controller = new AbortController();
  private draining: Promise<void> | undefined;
  private failedJobs = 0;
  private lastFailure: string | undefined;
  private skippedEmpty = 0;
  /** Ends the linger of the batch being gathered, if one is. */
  private startNow: (() => void) | undefined;
  /** Jobs of the batch being embedded. */
  private inFlight = 0;

  constructor(private readonly options: EmbeddingQueueOptions) {}

  enqueue(jobs: readonly EmbeddingJob[]): void {
    if (this.controller.signal.aborted) return;
    for (const job of jobs) this.waiting.set(`${job.kind}:${job.refId}`, job);
    if (this.waiting.size > 0) this.draining ??= this.drain();
    if (this.waiting.size >= this.options.batchSize) this.startNow?.();
  }

  /** Jobs waiting or being embedded. */
  get pending(): number {
    return this.waiting.size + this.inFlight;
  }

  /** Jobs whose embedding failed since start (retried by the next backfill); `last` clears on the next success. */
  get failures(): { count: number; last: string | undefined } {
    return { count: this.failedJobs, last: this.lastFailure };
  }

  /** Resolves once every job queued before the call has been stored (or failed). */
  flush(): Promise<void> {
    if (this.draining === undefined) return Promise.resolve();
    this.startNow?.();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Stops: the batch in flight is abandoned (its records are backfilled on the next start). */
  async close(): Promise<void> {
    this.controller.abort();
    this.waiting.clear();
    this.startNow?.();
    await this.draining;
  }

  private async drain(): Promise<void> {
    try {
      await this.linger();
      while (this.waiting.size > 0 && !this.controller.signal.aborted) {
        const batch = [...this.waiting.values()].slice(0, this.options.batchSize);
        for (const job of batch) this.waiting.delete(`${job.kind}:${job.refId}`);
        this.inFlight = batch.length;
        try {
          await this.embedBatch(batch);
        } finally {
          this.inFlight = 0;
        }
      }
    } finally {
      this.draining = undefined;
      for (const resolve of this.idleWaiters.splice(0)) resolve();
    }
  }

  /** Waits LINGER_MS, or until startNow() (a full batch, flush, close). */
  private linger(): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.startNow?.(), this.options.lingerMs ?? LINGER_MS);
      this.startNow = () => {
        clearTimeout(timer);
        this.startNow = undefined;
        resolve();
      };
    });
  }

  private async embedBatch(batch: readonly EmbeddingJob[]): Promise<void> {
    const { embedder, vectors, logger } = this.options;
    try {
      const embedded = await embedder.embed(
        batch.map((job) => job.text.slice(0, MAX_EMBED_CHARS)),
        { signal: this.controller.signal },
      );
      const records: VectorRecord[] = [];
      const current = new Set(await this.options.stillCurrent(batch));
      batch.forEach((job, index) => {
        const vector = embedded[index];
        if (!current.has(job) || vector === undefined) return;
        // A zero vector (no known word) has no direction: storing it would only add noise.
        if (!vector.some((component) => component !== 0)) {
          this.skippedEmpty += 1;
          return;
        }
        records.push({ ...job, embedder: embedder.id, vector });
      });
      await vectors.upsert(records, { signal: this.controller.signal });
      this.lastFailure = undefined;
    } catch (error) {
      if (this.controller.signal.aborted) return;
      this.failedJobs += batch.length;
      this.lastFailure = error instanceof Error ? error.message : String(error);
      logger.warn({ err: error, jobs: batch.length, embedder: embedder.id }, 'embedding batch failed; the records will be retried by the next backfill');
    }
  }

  /** Texts that produced no vector (no word the embedder knows). */
  get skipped(): number {
    return this.skippedEmpty;
  }
}
