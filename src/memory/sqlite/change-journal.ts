import type { SqliteDatabase } from '../../storage/sqlite/database.js';

/** A journal table of the memory schema: `seq INTEGER PRIMARY KEY AUTOINCREMENT`, filled by triggers. */
export type JournalTable = 'vector_journal' | 'kv_items_text_journal' | 'messages_text_journal';

/** Entries a journal keeps; an in-process copy further behind than this reloads. */
export const JOURNAL_KEEP = 20_000;

/**
 * A change journal that in-process copies of SQLite data replay (vector-mirror.ts,
 * text-mirror.ts). Triggers append an entry for every change, whoever makes it, in commit order;
 * a copy remembers the last entry it applied and reads only what came after. Writers trim old
 * entries; a copy that fell behind the trimmed part starts again from the tables.
 */
export class ChangeJournal {
  constructor(
    private readonly database: SqliteDatabase,
    private readonly table: JournalTable,
  ) {}

  /** The newest entry's number (0 when empty). */
  latest(): number {
    return (this.database.statement(`SELECT coalesce(max(seq), 0) FROM ${this.table}`).pluck().get() as number | null) ?? 0;
  }

  /** Whether every entry after `seq` is still there. */
  covers(seq: number): boolean {
    const oldest = this.database.statement(`SELECT min(seq) FROM ${this.table}`).pluck().get() as number | null;
    return oldest !== null && oldest <= seq + 1;
  }

  /** Keeps the last JOURNAL_KEEP entries; call inside a write that added some. */
  trim(): void {
    this.database.statement(`DELETE FROM ${this.table} WHERE seq <= (SELECT max(seq) FROM ${this.table}) - ?`).run(JOURNAL_KEEP);
  }
}
