import type { Logger } from '../logging/index.js';
import { systemClock, type Clock } from './clock.js';
import { argumentDigest } from './digest.js';

export type AuditEvent = 'tool_call' | 'auth';
/** ok: done; error: the tool failed; denied: refused by auth, scope, limit or quota. */
export type AuditOutcome = 'ok' | 'error' | 'denied';

/** One audit entry. Argument values are never kept: `argsDigest` is SHA-256 of their canonical JSON. */
export interface AuditRecord {
  readonly time: number;
  readonly event: AuditEvent;
  readonly tenant: string | null;
  readonly principal: string | null;
  readonly tool: string | null;
  readonly argsDigest: string | null;
  readonly outcome: AuditOutcome;
  readonly errorCode: string | null;
  readonly durationMs: number | null;
  readonly traceId: string | null;
  readonly remoteAddress: string | null;
  /** Short machine-readable note, e.g. the auth failure reason or the HTTP route. */
  readonly detail: string | null;
}

export interface StoredAuditRecord extends AuditRecord {
  readonly id: number;
}

export interface AuditQuery {
  readonly tenant?: string | undefined;
  readonly tool?: string | undefined;
  readonly principal?: string | undefined;
  readonly outcome?: AuditOutcome | undefined;
  readonly event?: AuditEvent | undefined;
  /** Inclusive lower bound, epoch ms. */
  readonly since?: number | undefined;
  /** Exclusive upper bound, epoch ms. */
  readonly until?: number | undefined;
  /** Only records with a larger id (following the log). */
  readonly afterId?: number | undefined;
  readonly limit: number;
  /** "desc" returns the newest first. */
  readonly order: 'asc' | 'desc';
}

/** Persistence of the audit log (SQLite by default). */
export interface AuditStore {
  append(records: readonly AuditRecord[]): Promise<void>;
  query(query: AuditQuery): Promise<StoredAuditRecord[]>;
  count(query: Omit<AuditQuery, 'limit' | 'order' | 'afterId'>): Promise<number>;
  /** Tool calls of a tenant since `since` that were not refused (what a daily quota counts). */
  countAcceptedCalls(tenant: string, since: number): Promise<number>;
  /** Deletes records older than `time`; returns how many. */
  deleteBefore(time: number): Promise<number>;
}

export interface AuditLogOptions {
  /** Opens the store on first need, so a runtime that never records never touches the database. */
  store: () => AuditStore;
  logger: Logger;
  clock?: Clock;
  flushIntervalMs: number;
  batchSize: number;
  retentionDays: number;
}

/** What `record` takes: the time defaults to now; `args` (digested later) may stand in for `argsDigest`. */
export type AuditInput = Omit<AuditRecord, 'time' | 'argsDigest'> & { time?: number; argsDigest?: string | null; args?: unknown };

type BufferedRecord = Omit<AuditRecord, 'argsDigest'> & { argsDigest?: string | null; args?: unknown };

function withDigest(record: BufferedRecord): AuditRecord {
  const { args, ...rest } = record;
  return { ...rest, argsDigest: args === undefined ? (record.argsDigest ?? null) : argumentDigest(args) };
}

const SWEEP_EVERY_MS = 3_600_000;
/** Records kept in memory while the store refuses writes; beyond this the oldest are dropped (and logged). */
const MAX_BUFFERED = 200_000;

/**
 * The audit log. `record` only appends to a buffer (the request path never waits for SQLite);
 * batches are written every `flushIntervalMs` or when `batchSize` records are waiting, in one
 * transaction each. `close()` writes whatever is left, so a clean shutdown loses nothing. Records
 * older than `retentionDays` are swept hourly (by a timer, and by flushes when an hour has passed).
 */
export class AuditLog {
  private buffer: BufferedRecord[] = [];
  private timer: NodeJS.Timeout | undefined;
  private sweeper: NodeJS.Timeout | undefined;
  private chain: Promise<void> = Promise.resolve();
  private lastSweep = Number.NEGATIVE_INFINITY;
  private storeHandle: AuditStore | undefined;
  private readonly clock: Clock;
  private closed = false;

  constructor(private readonly options: AuditLogOptions) {
    this.clock = options.clock ?? systemClock;
  }

  get store(): AuditStore {
    this.storeHandle ??= this.options.store();
    return this.storeHandle;
  }

  get pending(): number {
    return this.buffer.length;
  }

  /**
   * Buffers one record. A tool call passes its validated `args` instead of `argsDigest`: the
   * digest is computed when the batch is written, off the call's path (the arguments are the
   * executor's own validated copy, which nothing changes after the call).
   */
  record(record: AuditInput): void {
    if (record.time === undefined) record.time = this.clock.now();
    this.buffer.push(record as BufferedRecord);
    // Open the store with the first record, not at the final flush: by then the database may be closing.
    if (this.storeHandle === undefined) this.openStore();
    if (this.buffer.length >= this.options.batchSize) {
      void this.flush();
    } else if (this.timer === undefined && !this.closed) {
      this.timer = setTimeout(() => void this.flush(), this.options.flushIntervalMs);
      // Never keeps the process alive on its own; close() does the final write.
      this.timer.unref();
    }
  }

  /** Writes everything buffered so far; resolves once it is in the store. */
  flush(): Promise<void> {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    this.chain = this.chain.then(() => this.drain());
    return this.chain;
  }

  /** Final flush; later records are still accepted and written by a later flush() call. */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.sweeper);
    await this.flush();
    if (this.buffer.length > 0) this.options.logger.error({ lost: this.buffer.length }, 'audit records could not be written before shutdown');
  }

  /** Deletes records past the retention period; returns how many. */
  async sweep(): Promise<number> {
    this.lastSweep = this.clock.now();
    const removed = await this.store.deleteBefore(this.clock.now() - this.options.retentionDays * 86_400_000);
    if (removed > 0) this.options.logger.info({ removed, retentionDays: this.options.retentionDays }, 'audit records past retention deleted');
    return removed;
  }

  private openStore(): void {
    try {
      void this.store;
      // Retention also holds while nothing is being written.
      this.sweeper ??= setInterval(() => void this.flush(), SWEEP_EVERY_MS).unref();
    } catch (error) {
      this.options.logger.error({ err: error }, 'audit store could not be opened; records stay buffered');
    }
  }

  private async drain(): Promise<void> {
    while (this.buffer.length > 0) {
      const batch = this.buffer.splice(0, this.options.batchSize);
      try {
        await this.store.append(batch.map(withDigest));
      } catch (error) {
        // Keep them for the next flush rather than lose the trail; bound the backlog.
        this.buffer.unshift(...batch);
        const overflow = this.buffer.length - MAX_BUFFERED;
        if (overflow > 0) this.buffer.splice(0, overflow);
        this.options.logger.error({ err: error, pending: this.buffer.length, dropped: Math.max(0, overflow) }, 'audit write failed; will retry');
        if (!this.closed && this.timer === undefined) {
          this.timer = setTimeout(() => void this.flush(), Math.max(1000, this.options.flushIntervalMs));
          this.timer.unref();
        }
        return;
      }
    }
    if (this.storeHandle !== undefined && this.clock.now() - this.lastSweep >= SWEEP_EVERY_MS) {
      await this.sweep().catch((error: unknown) => this.options.logger.error({ err: error }, 'audit retention sweep failed'));
    }
  }
}
