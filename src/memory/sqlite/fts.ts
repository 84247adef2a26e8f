import type { SqliteDatabase } from '../../storage/sqlite/database.js';
import { indexTerms } from '../index-terms.js';

/** The contentless FTS5 tables of the memory schema (rowid = the row's integer id). */
export type FtsTable = 'kv_fts' | 'messages_fts';

/** Sets (or clears) the indexed terms of one row; call inside the row's write transaction. */
export function writeTerms(database: SqliteDatabase, table: FtsTable, rowid: number, text: string | null): void {
  const terms = text === null ? '' : indexTerms(text);
  if (terms === '') database.statement(`DELETE FROM ${table} WHERE rowid = ?`).run(rowid);
  else database.statement(`INSERT OR REPLACE INTO ${table} (rowid, terms) VALUES (?, ?)`).run(rowid, terms);
}

/** Sets the two indexed fields of a message (its own text and its context); inside the row's write transaction. */
export function writeMessageTerms(database: SqliteDatabase, seq: number, fields: readonly [own: string, context: string]): void {
  const [own, context] = fields.map(indexTerms);
  if (own === '' && context === '') database.statement('DELETE FROM messages_fts WHERE rowid = ?').run(seq);
  else database.statement('INSERT OR REPLACE INTO messages_fts (rowid, terms, context) VALUES (?, ?, ?)').run(seq, own, context);
}
