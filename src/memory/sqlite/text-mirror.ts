import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { SqliteDatabase } from '../../storage/sqlite/database.js';
import { Bm25Index, type Bm25Document } from '../search/bm25-index.js';
import { ChangeJournal } from './change-journal.js';

/** Where an index's documents come from: one table of the memory schema and how a row reads. */
export interface TextSource<Row extends { id: number }> {
  /** The journal of the table's changes (memory migration 7). */
  readonly journal: 'kv_items_text_journal' | 'messages_text_journal';
  /** Column weights, as the table's FTS5 query passes them to bm25(). */
  readonly weights: readonly number[];
  /** The indexed rows with an id above `@after`, in id order, at most `@limit`. */
  readonly selectPage: string;
  /** The rows whose ids are in the JSON array `@ids` (those gone are simply absent). */
  readonly selectIds: string;
  /** The document a row is indexed as; null when it is not indexed. */
  document(row: Row): Bm25Document | null;
}

/** Rows read per step of a load (a few milliseconds of work): steps run between requests, never as one long block. */
const LOAD_PAGE = 250;

/**
 * An in-process full-text index of one table, kept current through its journal (memory
 * migration 7). FTS5 ranks with a join and a BM25 call per matching row: ~0.2 ms at 5,000 rows,
 * growing with every row a common query word matches; the in-process index gives the same scores
 * (see Bm25Index) for a fraction of that. The tables stay the source of truth and FTS5 stays the
 * durable index: the copy is loaded in steps after the first search asks for it — searches are
 * answered by FTS5 until it is ready — and, before every search, brought up to date by re-reading
 * the rows the journal names after the last entry it applied (the journal is read only when the
 * database's change epoch moved since: see SqliteDatabase.changeEpoch). Replaying is idempotent
 * (a row is indexed as it is now, or removed when gone), so no read needs a snapshot.
 */
export class TextMirror<Row extends { id: number }> {
  private index: Bm25Index | undefined;
  private loading: Promise<void> | undefined;
  /** The last journal entry the index reflects. */
  private seq = 0;
  /** The database's change epoch when the index was last brought up to date (see changeEpoch). */
  private syncedEpoch = -1;
  private readonly journal: ChangeJournal;

  constructor(
    private readonly database: SqliteDatabase,
    private readonly source: TextSource<Row>,
  ) {
    this.journal = new ChangeJournal(database, source.journal);
  }

  /**
   * The index, current as of now; undefined while it is being built (answer from FTS5 then). The
   * first call starts the build.
   */
  current(): Bm25Index | undefined {
    const index = this.index;
    if (index === undefined) {
      void this.ready().catch(() => undefined);
      return undefined;
    }
    const epoch = this.database.changeEpoch();
    if (epoch === this.syncedEpoch) return index;
    return this.database.read(() => {
      const latest = this.journal.latest();
      if (latest !== this.seq) {
        if (!this.journal.covers(this.seq)) {
          // Entries this copy never saw were trimmed: build it again (FTS5 answers meanwhile).
          this.index = undefined;
          void this.ready().catch(() => undefined);
          return undefined;
        }
        this.catchUp(index, latest);
      }
      this.syncedEpoch = epoch;
      return index;
    });
  }

  /**
   * Brings a built index up to date; call after a write. Catching up as writes happen (a few rows
   * each time) keeps it from falling behind the journal's trimmed part during a long run of
   * writes with no search in between, which would make the next search rebuild it.
   */
  keepUp(): void {
    if (this.index === undefined) return;
    try {
      this.current();
    } catch {
      // The write is committed either way; the next search catches up (and reports what fails).
    }
  }

  /** Whether searches run on the index yet: not asked for, being built, or ready. */
  get state(): 'cold' | 'building' | 'ready' {
    return this.index !== undefined ? 'ready' : this.loading !== undefined ? 'building' : 'cold';
  }

  /** Resolves once the index is built (starting the build if needed). */
  ready(): Promise<void> {
    this.loading ??= this.load().finally(() => {
      this.loading = undefined;
    });
    return this.loading;
  }

  /** Keeps the journal short; call inside a write that added entries. */
  trimJournal(): void {
    this.journal.trim();
  }

  private async load(): Promise<void> {
    const index = new Bm25Index(this.source.weights);
    // The journal position first: whatever changes while the pages are read is replayed after.
    const seq = this.database.read(() => this.journal.latest());
    const page = this.database.statement(this.source.selectPage);
    for (let after = 0; ; ) {
      const rows = this.database.read(() => page.all({ after, limit: LOAD_PAGE }) as Row[]);
      for (const row of rows) this.apply(index, row.id, row);
      const last = rows.at(-1);
      if (last === undefined || rows.length < LOAD_PAGE) break;
      after = last.id;
      await yieldToEventLoop();
    }
    this.seq = seq;
    // Pages were read in several turns: the next search checks the journal whatever the epoch.
    this.syncedEpoch = -1;
    this.index = index;
  }

  private catchUp(index: Bm25Index, latest: number): void {
    const ids = this.database
      .statement(`SELECT DISTINCT row_id FROM ${this.source.journal} WHERE seq > @after AND seq <= @latest`)
      .pluck()
      .all({ after: this.seq, latest }) as number[];
    if (ids.length > 0) {
      const rows = new Map((this.database.statement(this.source.selectIds).all({ ids: JSON.stringify(ids) }) as Row[]).map((row) => [row.id, row]));
      for (const id of ids) this.apply(index, id, rows.get(id));
    }
    this.seq = latest;
  }

  private apply(index: Bm25Index, id: number, row: Row | undefined): void {
    const document = row === undefined ? null : this.source.document(row);
    if (document === null) index.delete(id);
    else index.set(id, document);
  }
}
