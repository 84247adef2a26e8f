import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import * as sqliteVec from 'sqlite-vec';
import { NexusError } from '../../errors/index.js';
import type { Logger } from '../../logging/index.js';
import { applyMigration, checkedVersion, migrationLabel, validateMigrations, type Migration, type MigrationReport } from './migrations.js';

export interface OpenDatabaseOptions {
  /** A file path, or `:memory:` for a private in-process database. */
  path: string;
  logger?: Logger | undefined;
  /** How long one attempt waits inside SQLite for another connection's write lock (busy_timeout). */
  busyTimeoutMs?: number | undefined;
  /** After busy_timeout, how long `write` keeps retrying (asynchronously) before DATABASE_BUSY. */
  busyRetryMs?: number | undefined;
  /** NORMAL survives a process crash; FULL also survives power loss. See docs/decisions/storage.md. */
  synchronous?: 'normal' | 'full' | undefined;
}

/** A function run inside a write transaction; it must be synchronous (better-sqlite3 is). */
export type WriteWork<T> = (db: Database.Database) => T;

const MAX_BACKOFF_MS = 250;

/**
 * Write transactions committed by any connection of this process (see changeEpoch). Process-wide
 * on purpose: SQLite's data_version misses the reading connection's own commits, and this counter
 * covers those of every connection here (two runtimes on one file in one process included); it
 * only ever makes a reader look again.
 */
let commitsInProcess = 0;

/**
 * One SQLite connection (better-sqlite3, WAL, foreign keys, sqlite-vec loaded) shared by every
 * store of a runtime. Writes go through `write`/`writeSync`: a BEGIN IMMEDIATE transaction that
 * takes the write lock up front (a deferred transaction upgrading to a writer can fail with
 * SQLITE_BUSY without waiting at all), retried when another process holds the lock, so "database
 * is locked" never reaches a client. Domains bring their own numbered migrations through `migrate`.
 */
export class SqliteDatabase {
  readonly path: string;
  private readonly statements = new Map<string, Database.Statement>();
  private readonly busyRetryMs: number;
  private readonly logger: Logger | undefined;
  private closed = false;
  /** See changeEpoch. */
  private epoch = 0;
  private dataVersion: number | undefined;
  private commitsSeen = -1;
  private epochReadThisTurn = false;

  private constructor(
    readonly connection: Database.Database,
    options: { path: string; busyRetryMs: number; logger: Logger | undefined },
  ) {
    this.path = options.path;
    this.busyRetryMs = options.busyRetryMs;
    this.logger = options.logger;
  }

  /** Opens (creating parents and the file when needed) and prepares the connection. */
  static open(options: OpenDatabaseOptions): SqliteDatabase {
    const file = options.path;
    const inMemory = file === ':memory:';
    const isNew = !inMemory && !existsSync(file);
    let connection: Database.Database | undefined;
    try {
      // Memory is private: the folder and file are readable by the owner only when Nexus creates them.
      if (!inMemory) mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
      connection = new Database(file, { timeout: options.busyTimeoutMs ?? 2000 });
      if (isNew) chmodSync(file, 0o600);
      const opened = connection;
      // Two processes creating the file at once: switching to WAL needs a lock the other may hold.
      const mode = retryBusySync(() => opened.pragma('journal_mode = WAL', { simple: true }), Date.now() + (options.busyRetryMs ?? 30_000));
      if (!inMemory && mode !== 'wal') throw new Error(`journal_mode is "${String(mode)}", WAL could not be enabled`);
      connection.pragma(`synchronous = ${options.synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
      connection.pragma('foreign_keys = ON');
      // Vector scans read every chunk of a vec0 table: keep them in memory rather than re-reading
      // pages through the default 2 MiB cache (grows on demand; the mapping is file-backed).
      connection.pragma('cache_size = -32768');
      if (!inMemory) connection.pragma('mmap_size = 268435456');
      sqliteVec.load(connection);
    } catch (error) {
      connection?.close();
      throw new NexusError('DATABASE_OPEN_FAILED', `Cannot open the database at ${file}: ${error instanceof Error ? error.message : String(error)}`, {
        details: { path: file },
        cause: error,
      });
    }
    return new SqliteDatabase(connection, { path: file, busyRetryMs: options.busyRetryMs ?? 30_000, logger: options.logger });
  }

  /**
   * Brings one domain's schema up to date: each pending migration runs in its own write
   * transaction and is recorded in `schema_migrations` under the domain. Refuses a database newer
   * than the code (DATABASE_TOO_NEW). Safe to call from several processes at once.
   */
  migrate(domain: string, migrations: readonly Migration[]): MigrationReport {
    validateMigrations(domain, migrations);
    const from = this.writeSync((db) => checkedVersion(db, domain, migrations.length));
    const applied: string[] = [];
    for (const migration of migrations.slice(from)) {
      const appliedAt = new Date().toISOString();
      if (this.writeSync((db) => applyMigration(db, domain, migration, appliedAt))) applied.push(migrationLabel(migration));
    }
    if (applied.length > 0) this.logger?.info({ domain, applied, path: this.path }, 'database migrated');
    return { domain, from, to: migrations.length, applied };
  }

  /** A cached prepared statement (prepare once per connection). */
  statement(sql: string): Database.Statement {
    let prepared = this.statements.get(sql);
    if (prepared === undefined) {
      prepared = this.connection.prepare(sql);
      this.statements.set(sql, prepared);
    }
    return prepared;
  }

  /**
   * Runs `work` in one write transaction. When another process holds the write lock beyond
   * busy_timeout, waits (without blocking the event loop) and retries the whole transaction until
   * storage.busy_retry_secs runs out (DATABASE_BUSY). `work` must be synchronous and may run more
   * than once, so it must not have side effects outside the database.
   */
  async write<T>(work: WriteWork<T>, options: { signal?: AbortSignal | undefined } = {}): Promise<T> {
    const deadline = Date.now() + this.busyRetryMs;
    for (let attempt = 1; ; attempt += 1) {
      const outcome = this.attempt(work, deadline, attempt);
      if (outcome.done) return outcome.value;
      await sleep(backoffMs(attempt) * (0.5 + Math.random()), options.signal);
    }
  }

  /** `write` for start-up paths that cannot await (migrations): retries block the thread. */
  writeSync<T>(work: WriteWork<T>): T {
    this.assertOpen();
    return retryBusySync(() => this.immediate(work), Date.now() + this.busyRetryMs, this.path);
  }

  /** One immediate transaction; `done: false` when it met a lock and may be retried. */
  private attempt<T>(work: WriteWork<T>, deadline: number, attempt: number): { done: true; value: T } | { done: false } {
    this.assertOpen();
    try {
      return { done: true, value: this.immediate(work) };
    } catch (error) {
      if (!isBusy(error)) throw error;
      if (Date.now() >= deadline) throw busyError(error, this.path);
      this.logger?.debug({ attempt, path: this.path }, 'database busy, retrying write');
      return { done: false };
    }
  }

  /**
   * Runs a read. WAL readers never wait for writers; they can only meet SQLITE_BUSY while another
   * process recovers the WAL after a crash, which busy_timeout and these retries cover.
   */
  read<T>(work: (db: Database.Database) => T): T {
    this.assertOpen();
    return retryBusySync(() => work(this.connection), Date.now() + this.busyRetryMs, this.path);
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  /** Closes the connection (a checkpoint folds the WAL back into the file when it is the last one). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.statements.clear();
    this.connection.close();
  }

  /**
   * A number that grows whenever the database may have changed since it was last read: a
   * connection of this process committed a write, or another process did (SQLite's data_version,
   * which does not move for the reading connection's own commits). In-process copies of tables
   * (the search mirrors) keep the epoch they last caught up at and skip their journal query while
   * it has not moved. data_version is read at most once per turn of the event loop unless this
   * process commits meanwhile, so the checks of one search share one statement; a commit by
   * another process is seen from the next turn on.
   */
  changeEpoch(): number {
    if (!this.epochReadThisTurn || this.commitsSeen !== commitsInProcess) {
      const version = this.read(() => this.statement('PRAGMA data_version').pluck().get() as number);
      if (version !== this.dataVersion || this.commitsSeen !== commitsInProcess) this.epoch += 1;
      this.dataVersion = version;
      this.commitsSeen = commitsInProcess;
      if (!this.epochReadThisTurn) {
        this.epochReadThisTurn = true;
        setImmediate(() => {
          this.epochReadThisTurn = false;
        });
      }
    }
    return this.epoch;
  }

  private immediate<T>(work: WriteWork<T>): T {
    // Nested calls (a store calling another inside one write) become savepoints of the outer one.
    const result = this.connection.transaction(() => work(this.connection)).immediate();
    commitsInProcess += 1;
    return result;
  }

  private assertOpen(): void {
    if (this.closed) throw new NexusError('SHUTTING_DOWN', 'The database is closed');
  }
}

/** Opens a database; see `SqliteDatabase.open`. */
export function openDatabase(options: OpenDatabaseOptions): SqliteDatabase {
  return SqliteDatabase.open(options);
}

/** `database_path` when set, else `<data_dir>/nexus.db`. */
export function resolveDatabasePath(config: { database_path: string | null; data_dir: string }): string {
  return config.database_path ?? path.join(config.data_dir, 'nexus.db');
}

/** SQLITE_BUSY and its extended codes (BUSY_SNAPSHOT, BUSY_RECOVERY, BUSY_TIMEOUT). */
export function isBusy(error: unknown): boolean {
  const code = typeof error === 'object' && error !== null && 'code' in error ? error.code : undefined;
  return typeof code === 'string' && code.startsWith('SQLITE_BUSY');
}

function backoffMs(attempt: number): number {
  return Math.min(MAX_BACKOFF_MS, 10 * 2 ** attempt);
}

/** Runs `work`, retrying (blocking the thread between attempts) while it meets SQLITE_BUSY. */
function retryBusySync<T>(work: () => T, deadline: number, file = ''): T {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return work();
    } catch (error) {
      if (!isBusy(error)) throw error;
      if (Date.now() >= deadline) throw busyError(error, file);
    }
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, backoffMs(attempt));
  }
}

function busyError(cause: unknown, file: string): NexusError {
  return new NexusError('DATABASE_BUSY', 'The database stayed locked by another process for too long; the write was not applied', { details: { path: file }, cause });
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason instanceof Error ? signal.reason : new NexusError('CANCELLED', 'Cancelled while waiting for the database'));
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason instanceof Error ? signal.reason : new NexusError('CANCELLED', 'Cancelled while waiting for the database'));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
