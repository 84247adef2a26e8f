import type { SqliteDatabase } from '../../storage/sqlite/database.js';
import { FlatVectorSet } from '../search/flat-vector-set.js';
import type { VectorKind } from '../vector-index.js';
import { ChangeJournal } from './change-journal.js';

/** A vec0 table of the vector index (see sqlite-vector-index.ts). */
export interface VectorTable {
  readonly name: string;
  readonly kind: VectorKind;
  readonly embedder: string;
  readonly dims: number;
}

interface Mirror {
  readonly table: VectorTable;
  readonly tenant: string;
  readonly vectors: FlatVectorSet;
  /** The last journal entry applied. */
  seq: number;
  /** The database's change epoch when the copy was last brought up to date (see changeEpoch). */
  syncedEpoch: number;
}

interface JournalEntry {
  seq: number;
  added: number;
  refId: number;
  rowId: number;
}

/**
 * In-process copies of the vec0 tables, one per (table, tenant), searched by FlatVectorSet.
 * sqlite-vec's KNN scan costs 1.5 ms for 5,000 vectors and ~20 ms for 100,000 (its per-chunk
 * top-k merge grows with k); the copy answers the same exact query in a fraction of that. The
 * tables stay the source of truth: a copy is loaded on first use and, before every search, brought
 * up to date from `vector_journal`, which records every change to `embeddings` in commit order
 * whoever made it (this process, another process on the same file, or a trigger removing the
 * vector of a deleted item), read only when the database's change epoch moved since the copy last
 * caught up (see SqliteDatabase.changeEpoch). Replaying entries in order is idempotent (an added
 * vector is read as it is now, or skipped when it is gone), so no read needs a snapshot.
 */
export class VectorMirrors {
  private readonly mirrors = new Map<string, Mirror>();
  private readonly journal: ChangeJournal;

  constructor(private readonly database: SqliteDatabase) {
    this.journal = new ChangeJournal(database, 'vector_journal');
  }

  /** The vectors of `table` for `tenant`, current as of now. */
  current(table: VectorTable, tenant: string): FlatVectorSet {
    const key = JSON.stringify([table.name, tenant]);
    const known = this.mirrors.get(key);
    const epoch = this.database.changeEpoch();
    if (known !== undefined && known.syncedEpoch === epoch) return known.vectors;
    return this.database.read(() => {
      const latest = this.journal.latest();
      let mirror = known;
      if (mirror === undefined) {
        mirror = { table, tenant, vectors: new FlatVectorSet(table.dims), seq: latest, syncedEpoch: epoch };
        this.load(mirror);
        this.mirrors.set(key, mirror);
      } else if (mirror.seq !== latest) {
        this.catchUp(mirror, latest);
      }
      mirror.syncedEpoch = epoch;
      return mirror.vectors;
    });
  }

  /**
   * Brings the copies already loaded up to date; call after a write. Catching up as writes happen
   * keeps a copy from falling behind the journal's trimmed part during a long run of writes with
   * no search in between, which would make the next search reload the whole table.
   */
  keepUp(): void {
    if (this.mirrors.size === 0) return;
    try {
      this.database.read(() => {
        const latest = this.journal.latest();
        for (const mirror of this.mirrors.values()) if (mirror.seq !== latest) this.catchUp(mirror, latest);
      });
    } catch {
      // The write is committed either way; the next search catches up (and reports what fails).
    }
  }

  /** Drops the copies of a table that no longer exists. */
  forget(tableName: string): void {
    for (const key of this.mirrors.keys()) if ((JSON.parse(key) as [string, string])[0] === tableName) this.mirrors.delete(key);
  }

  clear(): void {
    this.mirrors.clear();
  }

  /** Keeps the journal short; call inside a write that added entries. */
  trimJournal(): void {
    this.journal.trim();
  }

  private load(mirror: Mirror): void {
    const { table, tenant } = mirror;
    mirror.vectors.clear();
    const rows = this.database
      .statement(`SELECT e.ref_id AS refId, v.embedding AS embedding, v.scope AS scope, v.ts AS ts FROM ${table.name} v JOIN embeddings e ON e.id = v.rowid WHERE v.tenant = ?`)
      .iterate(tenant) as IterableIterator<{ refId: number; embedding: Buffer; scope: string; ts: number }>;
    for (const row of rows) mirror.vectors.set(row.refId, floats(row.embedding), row.scope, row.ts);
  }

  private catchUp(mirror: Mirror, latest: number): void {
    const { table, tenant } = mirror;
    if (!this.journal.covers(mirror.seq)) {
      // Entries this copy never saw were trimmed: start again from the table.
      mirror.seq = latest;
      this.load(mirror);
      return;
    }
    const entries = this.database
      .statement(
        `SELECT seq, added, ref_id AS refId, row_id AS rowId FROM vector_journal
         WHERE seq > @after AND seq <= @latest AND tenant = @tenant AND kind = @kind AND embedder = @embedder AND dims = @dims ORDER BY seq`,
      )
      .all({ after: mirror.seq, latest, tenant, kind: table.kind, embedder: table.embedder, dims: table.dims }) as JournalEntry[];
    const read = this.database.statement(`SELECT embedding, scope, ts FROM ${table.name} WHERE rowid = ?`);
    for (const entry of entries) {
      if (entry.added === 0) {
        mirror.vectors.delete(entry.refId);
        continue;
      }
      // Gone again already: a later entry says so.
      const row = read.get(BigInt(entry.rowId)) as { embedding: Buffer; scope: string; ts: number } | undefined;
      if (row !== undefined) mirror.vectors.set(entry.refId, floats(row.embedding), row.scope, row.ts);
    }
    mirror.seq = latest;
  }
}

/** A float32 blob as numbers (copied when the blob is not 4-byte aligned). */
function floats(blob: Buffer): Float32Array {
  const length = blob.byteLength / 4;
  return blob.byteOffset % 4 === 0 ? new Float32Array(blob.buffer, blob.byteOffset, length) : new Float32Array(blob.buffer.slice(blob.byteOffset, blob.byteOffset + blob.byteLength));
}
