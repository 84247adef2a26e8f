import { createHash } from 'node:crypto';
import { NexusError } from '../../errors/index.js';
import type { SqliteDatabase } from '../../storage/sqlite/database.js';
import type { EmbedderCount, VectorHit, VectorIndex, VectorKind, VectorQuery, VectorRecord } from '../vector-index.js';
import { VectorMirrors, type VectorTable } from './vector-mirror.js';

const MAX_DIMENSIONS = 8192;

/**
 * VectorIndex on sqlite-vec. `embeddings` (memory migration 0003) says which record each vector
 * belongs to and which embedder made it; the vectors live in one vec0 table per (kind, embedder,
 * dimensions), listed in `vector_tables` (0004) and partitioned by tenant, so the usual KNN scan
 * filters on nothing else — vectors of different embedders are never even in the same table.
 * Scope (namespace / conversation) and timestamp are vec0 metadata columns, filtered only when
 * asked. Cosine distance; vectors arrive L2-normalised. Searches scan an in-process copy of the
 * table kept current from the vector journal (vector-mirror.ts), not the vec0 table itself.
 */
export class SqliteVectorIndex implements VectorIndex {
  private tables = new Map<string, VectorTable>();
  private readonly mirrors: VectorMirrors;

  constructor(private readonly database: SqliteDatabase) {
    this.mirrors = new VectorMirrors(database);
  }

  async upsert(records: readonly VectorRecord[], options: { signal?: AbortSignal | undefined } = {}): Promise<void> {
    if (records.length === 0) return;
    await this.database
      .write(() => {
        for (const record of records) {
          const table = this.ensureTable(record.kind, record.embedder, record.vector.length);
          this.database.statement('DELETE FROM embeddings WHERE kind = ? AND ref_id = ?').run(record.kind, record.refId);
          const { id } = this.database
            .statement(
              'INSERT INTO embeddings (tenant, kind, ref_id, embedder, dims, text_hash, created_at) VALUES (@tenant, @kind, @refId, @embedder, @dims, @textHash, @now) RETURNING id',
            )
            .get({ tenant: record.tenant, kind: record.kind, refId: record.refId, embedder: record.embedder, dims: table.dims, textHash: record.textHash, now: Date.now() }) as { id: number };
          this.database
            .statement(`INSERT INTO ${table.name} (rowid, embedding, tenant, scope, ts) VALUES (?, ?, ?, ?, ?)`)
            .run(BigInt(id), vectorBlob(record.vector), record.tenant, record.scope, BigInt(Math.trunc(record.timestamp)));
        }
        this.mirrors.trimJournal();
      }, options)
      .catch((error: unknown) => {
        // A rolled-back write may have created a table the cache now believes in.
        this.tables.clear();
        throw error;
      });
    this.mirrors.keepUp();
  }

  async search(query: VectorQuery): Promise<VectorHit[]> {
    const k = Math.max(1, query.k);
    const hits = query.kinds.flatMap((kind) => {
      const table = this.findTable(kind, query.embedder, query.vector.length);
      if (table === undefined) return [];
      const filter = { scope: query.scope, from: query.from, to: query.to };
      return this.mirrors
        .current(table, query.tenant)
        .search(query.vector, k, filter)
        .map((hit): VectorHit => ({ kind, refId: hit.id, distance: 1 - hit.similarity }));
    });
    // Each kind's hits come best first; only several kinds need merging.
    return query.kinds.length === 1 ? hits.slice(0, query.k) : hits.sort((left, right) => left.distance - right.distance).slice(0, query.k);
  }

  async lookup(kind: VectorKind, refIds: readonly number[]): Promise<Map<number, { embedder: string; textHash: string }>> {
    if (refIds.length === 0) return new Map();
    const rows = this.database.read(() =>
      this.database
        .statement('SELECT ref_id AS refId, embedder, text_hash AS textHash FROM embeddings WHERE kind = ? AND ref_id IN (SELECT value FROM json_each(?))')
        .all(kind, JSON.stringify(refIds)),
    ) as Array<{ refId: number; embedder: string; textHash: string }>;
    return new Map(rows.map((row) => [row.refId, { embedder: row.embedder, textHash: row.textHash }]));
  }

  async counts(tenant?: string): Promise<EmbedderCount[]> {
    const where = tenant === undefined ? '' : 'WHERE tenant = ?';
    const statement = this.database.statement(`SELECT embedder, dims AS dimensions, COUNT(*) AS count FROM embeddings ${where} GROUP BY embedder, dims ORDER BY embedder, dims`);
    return this.database.read(() => (tenant === undefined ? statement.all() : statement.all(tenant))) as EmbedderCount[];
  }

  async deleteTenant(tenant: string, options: { signal?: AbortSignal | undefined } = {}): Promise<number> {
    // The per-table triggers delete the vectors themselves.
    return this.database.write(() => this.database.statement('DELETE FROM embeddings WHERE tenant = ?').run(tenant).changes, options);
  }

  async removeOtherEmbedders(embedder: string, options: { signal?: AbortSignal | undefined } = {}): Promise<number> {
    const removed = await this.database.write(() => {
      const stale = this.database.statement('SELECT name, kind, embedder, dims FROM vector_tables WHERE embedder <> ?').all(embedder) as VectorTable[];
      for (const table of stale) {
        this.database.connection.exec(`DROP TRIGGER IF EXISTS ${table.name}_delete; DROP TABLE IF EXISTS ${table.name};`);
        this.database.statement('DELETE FROM vector_tables WHERE name = ?').run(table.name);
        this.mirrors.forget(table.name);
      }
      return this.database.statement('DELETE FROM embeddings WHERE embedder <> ?').run(embedder).changes;
    }, options);
    this.tables.clear();
    return removed;
  }

  /** The table for vectors of one kind, embedder and size, creating it (inside the caller's write). */
  private ensureTable(kind: VectorKind, embedder: string, dims: number): VectorTable {
    const existing = this.findTable(kind, embedder, dims);
    if (existing !== undefined) return existing;
    if (!Number.isInteger(dims) || dims < 1 || dims > MAX_DIMENSIONS) {
      throw new NexusError('EMBEDDER_FAILED', `The embedder returned a vector of ${dims} dimensions; 1..${MAX_DIMENSIONS} are supported`, { details: { dimensions: dims } });
    }
    // The name is derived, never taken from input: kind is an enum, the embedder id is hashed.
    const name = `memory_vec_${kind}_${dims}_${createHash('sha256').update(embedder).digest('hex').slice(0, 12)}`;
    this.database.connection.exec(`
      CREATE VIRTUAL TABLE IF NOT EXISTS ${name} USING vec0 (
        embedding float[${dims}] distance_metric=cosine,
        tenant text partition key,
        scope text,
        ts integer
      );`);
    this.database.connection.exec(`
      CREATE TRIGGER IF NOT EXISTS ${name}_delete AFTER DELETE ON embeddings
      WHEN old.kind = '${kind}' AND old.dims = ${dims} AND old.embedder = ${sqlString(embedder)} BEGIN
        DELETE FROM ${name} WHERE rowid = old.id;
      END;`);
    this.database.statement('INSERT OR IGNORE INTO vector_tables (name, kind, embedder, dims) VALUES (?, ?, ?, ?)').run(name, kind, embedder, dims);
    const table: VectorTable = { name, kind, embedder, dims };
    this.tables.set(tableKey(kind, embedder, dims), table);
    return table;
  }

  private findTable(kind: VectorKind, embedder: string, dims: number): VectorTable | undefined {
    const key = tableKey(kind, embedder, dims);
    const cached = this.tables.get(key);
    if (cached !== undefined) return cached;
    // Another process may have created it since.
    const found = this.database.read(
      () => this.database.statement('SELECT name, kind, embedder, dims FROM vector_tables WHERE kind = ? AND embedder = ? AND dims = ?').get(kind, embedder, dims) as VectorTable | undefined,
    );
    if (found !== undefined) this.tables.set(key, found);
    return found;
  }
}

function tableKey(kind: VectorKind, embedder: string, dims: number): string {
  return JSON.stringify([kind, embedder, dims]);
}

/** An SQL string literal (for the one place a value must be part of DDL: a trigger condition). */
function sqlString(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

function vectorBlob(vector: Float32Array): Buffer {
  return Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength);
}
