import { NexusError } from '../../errors/index.js';
import type { SqliteDatabase } from '../../storage/sqlite/database.js';
import type { EmbedderCount, VectorHit, VectorIndex, VectorKind, VectorQuery, VectorRecord } from '../vector-index.js';

/** sqlite-vec refuses larger k. */
const MAX_K = 4096;
const MAX_DIMENSIONS = 8192;

/**
 * VectorIndex on sqlite-vec. `embeddings` (memory migration 0003) says which item each vector
 * belongs to and which embedder made it; the vectors live in one vec0 table per dimension count,
 * `memory_vec_<dims>`, partitioned by tenant with the filter columns as vec0 metadata, so KNN
 * filtering happens inside the scan. Cosine distance; vectors arrive L2-normalised.
 */
export class SqliteVectorIndex implements VectorIndex {
  private readonly tables = new Set<number>();

  constructor(private readonly database: SqliteDatabase) {}

  async upsert(records: readonly VectorRecord[], options: { signal?: AbortSignal | undefined } = {}): Promise<void> {
    if (records.length === 0) return;
    // A rolled-back write may have created a table the cache now believes in: forget on failure.
    await this.database.write(() => {
      for (const record of records) {
        const dims = record.vector.length;
        this.ensureTable(dims);
        this.database.statement('DELETE FROM embeddings WHERE kind = ? AND ref_id = ?').run(record.kind, record.refId);
        const { id } = this.database
          .statement(
            `INSERT INTO embeddings (tenant, kind, ref_id, embedder, dims, text_hash, created_at) VALUES (@tenant, @kind, @refId, @embedder, @dims, @textHash, @now) RETURNING id`,
          )
          .get({ tenant: record.tenant, kind: record.kind, refId: record.refId, embedder: record.embedder, dims, textHash: record.textHash, now: Date.now() }) as { id: number };
        this.database
          .statement(`INSERT INTO memory_vec_${dims} (rowid, embedding, tenant, kind, embedder, scope, ts) VALUES (?, ?, ?, ?, ?, ?, ?)`)
          .run(BigInt(id), vectorBlob(record.vector), record.tenant, record.kind, record.embedder, record.scope, BigInt(Math.trunc(record.timestamp)));
      }
    }, options).catch((error: unknown) => {
      this.tables.clear();
      throw error;
    });
  }

  async search(query: VectorQuery): Promise<VectorHit[]> {
    const dims = query.vector.length;
    if (query.kinds.length === 0 || !this.tableExists(dims)) return [];
    const conditions = ['v.embedding MATCH @vector', 'v.k = @k', 'v.tenant = @tenant', 'v.embedder = @embedder'];
    const params: Record<string, unknown> = { vector: vectorBlob(query.vector), k: Math.min(MAX_K, Math.max(1, query.k)), tenant: query.tenant, embedder: query.embedder };
    if (query.kinds.length === 1) {
      conditions.push('v.kind = @kind');
      params['kind'] = query.kinds[0];
    }
    if (query.scope !== undefined) {
      conditions.push('v.scope = @scope');
      params['scope'] = query.scope;
    }
    if (query.from !== undefined) {
      conditions.push('v.ts >= @from');
      params['from'] = BigInt(Math.ceil(query.from));
    }
    if (query.to !== undefined) {
      conditions.push('v.ts <= @to');
      params['to'] = BigInt(Math.floor(query.to));
    }
    const rows = this.database.read(() =>
      this.database
        .statement(`SELECT e.kind AS kind, e.ref_id AS refId, v.distance AS distance FROM memory_vec_${dims} v JOIN embeddings e ON e.id = v.rowid WHERE ${conditions.join(' AND ')} ORDER BY v.distance`)
        .all(params),
    ) as VectorHit[];
    return rows;
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
    const sql =
      tenant === undefined
        ? 'SELECT embedder, dims AS dimensions, COUNT(*) AS count FROM embeddings GROUP BY embedder, dims ORDER BY embedder'
        : 'SELECT embedder, dims AS dimensions, COUNT(*) AS count FROM embeddings WHERE tenant = ? GROUP BY embedder, dims ORDER BY embedder';
    return this.database.read(() => (tenant === undefined ? this.database.statement(sql).all() : this.database.statement(sql).all(tenant))) as EmbedderCount[];
  }

  async removeOtherEmbedders(embedder: string, options: { signal?: AbortSignal | undefined } = {}): Promise<number> {
    // The per-table triggers delete the vectors themselves.
    return this.database.write(() => this.database.statement('DELETE FROM embeddings WHERE embedder <> ?').run(embedder).changes, options);
  }

  /** Creates the vec0 table for a dimension count, and the trigger that keeps it in step (inside the caller's write). */
  private ensureTable(dims: number): void {
    if (this.tables.has(dims)) return;
    if (!Number.isInteger(dims) || dims < 1 || dims > MAX_DIMENSIONS) {
      throw new NexusError('EMBEDDER_FAILED', `The embedder returned a vector of ${dims} dimensions; 1..${MAX_DIMENSIONS} are supported`, { details: { dimensions: dims } });
    }
    this.database.connection.exec(`
      CREATE VIRTUAL TABLE IF NOT EXISTS memory_vec_${dims} USING vec0 (
        embedding float[${dims}] distance_metric=cosine,
        tenant text partition key,
        kind text,
        embedder text,
        scope text,
        ts integer
      );
      CREATE TRIGGER IF NOT EXISTS embeddings_vec_${dims}_delete AFTER DELETE ON embeddings WHEN old.dims = ${dims} BEGIN
        DELETE FROM memory_vec_${dims} WHERE rowid = old.id;
      END;`);
    this.tables.add(dims);
  }

  private tableExists(dims: number): boolean {
    if (this.tables.has(dims)) return true;
    if (!Number.isInteger(dims) || dims < 1 || dims > MAX_DIMENSIONS) return false;
    const found = this.database.read(() => this.database.statement("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(`memory_vec_${dims}`)) !== undefined;
    if (found) this.tables.add(dims);
    return found;
  }
}

function vectorBlob(vector: Float32Array): Buffer {
  return Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength);
}
