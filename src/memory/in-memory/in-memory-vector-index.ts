import type { EmbedderCount, VectorHit, VectorIndex, VectorKind, VectorQuery, VectorRecord } from '../vector-index.js';

/** VectorIndex twin: brute-force cosine distance over a Map. Same contract as sqlite-vec. */
export class InMemoryVectorIndex implements VectorIndex {
  private readonly records = new Map<string, VectorRecord>();

  async upsert(records: readonly VectorRecord[]): Promise<void> {
    for (const record of records) this.records.set(slotOf(record.kind, record.refId), { ...record, vector: Float32Array.from(record.vector) });
  }

  async search(query: VectorQuery): Promise<VectorHit[]> {
    return [...this.records.values()]
      .filter(
        (record) =>
          record.tenant === query.tenant &&
          record.embedder === query.embedder &&
          record.vector.length === query.vector.length &&
          query.kinds.includes(record.kind) &&
          (query.scope === undefined || record.scope === query.scope) &&
          (query.from === undefined || record.timestamp >= query.from) &&
          (query.to === undefined || record.timestamp <= query.to),
      )
      .map((record) => ({ kind: record.kind, refId: record.refId, distance: cosineDistance(record.vector, query.vector) }))
      .sort((left, right) => left.distance - right.distance)
      .slice(0, query.k);
  }

  async lookup(kind: VectorKind, refIds: readonly number[]): Promise<Map<number, { embedder: string; textHash: string }>> {
    const found = new Map<number, { embedder: string; textHash: string }>();
    for (const refId of refIds) {
      const record = this.records.get(slotOf(kind, refId));
      if (record !== undefined) found.set(refId, { embedder: record.embedder, textHash: record.textHash });
    }
    return found;
  }

  async counts(tenant?: string): Promise<EmbedderCount[]> {
    const counts = new Map<string, EmbedderCount>();
    for (const record of this.records.values()) {
      if (tenant !== undefined && record.tenant !== tenant) continue;
      const slot = `${record.embedder}\u0000${record.vector.length}`;
      const current = counts.get(slot);
      counts.set(slot, { embedder: record.embedder, dimensions: record.vector.length, count: (current?.count ?? 0) + 1 });
    }
    return [...counts.values()].sort((left, right) => (left.embedder < right.embedder ? -1 : left.embedder > right.embedder ? 1 : 0));
  }

  async deleteTenant(tenant: string): Promise<number> {
    return this.removeWhere((record) => record.tenant === tenant);
  }

  async removeOtherEmbedders(embedder: string): Promise<number> {
    return this.removeWhere((record) => record.embedder !== embedder);
  }

  private removeWhere(doomed: (record: VectorRecord) => boolean): number {
    let removed = 0;
    for (const [slot, record] of this.records) {
      if (!doomed(record)) continue;
      this.records.delete(slot);
      removed += 1;
    }
    return removed;
  }
}

function slotOf(kind: VectorKind, refId: number): string {
  return `${kind}:${refId}`;
}

function cosineDistance(left: Float32Array, right: Float32Array): number {
  let dot = 0;
  let leftNorm = 0;
  let rightNorm = 0;
  for (let index = 0; index < left.length; index += 1) {
    const a = left[index] ?? 0;
    const b = right[index] ?? 0;
    dot += a * b;
    leftNorm += a * a;
    rightNorm += b * b;
  }
  return leftNorm === 0 || rightNorm === 0 ? 1 : 1 - dot / Math.sqrt(leftNorm * rightNorm);
}
