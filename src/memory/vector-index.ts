/** What a vector stands for: a key-value item or a message. */
export type VectorKind = 'kv' | 'message';

export interface VectorRecord {
  readonly kind: VectorKind;
  /** Id of the item (KvItem.id) or message (Message.seq). */
  readonly refId: number;
  readonly tenant: string;
  /** Namespace of an item, conversation id of a message. */
  readonly scope: string;
  readonly timestamp: number;
  /** Which embedder made the vector (Embedder.id). */
  readonly embedder: string;
  /** Hash of the embedded text, so unchanged texts are not embedded again. */
  readonly textHash: string;
  /** L2-normalised. */
  readonly vector: Float32Array;
}

export interface VectorQuery {
  readonly tenant: string;
  readonly vector: Float32Array;
  /** Only vectors made by this embedder are compared: vectors of different models never mix. */
  readonly embedder: string;
  readonly k: number;
  readonly kinds: readonly VectorKind[];
  readonly scope?: string | undefined;
  /** Inclusive timestamp range (ms). */
  readonly from?: number | undefined;
  readonly to?: number | undefined;
}

export interface VectorHit {
  readonly kind: VectorKind;
  readonly refId: number;
  /** Cosine distance: 0 identical, 1 unrelated, 2 opposite. */
  readonly distance: number;
}

/** Which embedder made how many vectors (for status and change detection). */
export interface EmbedderCount {
  readonly embedder: string;
  readonly dimensions: number;
  readonly count: number;
}

/**
 * Vectors of stored texts, one per item or message, each recording its embedder. Implementations:
 * sqlite-vec (SQLite) and a brute-force in-memory twin; test/storage/vector-index.contract.ts
 * states the behaviour.
 */
export interface VectorIndex {
  /** Adds or replaces the vector of each (kind, refId). */
  upsert(records: readonly VectorRecord[], options?: { signal?: AbortSignal | undefined }): Promise<void>;
  /** Nearest vectors first. */
  search(query: VectorQuery): Promise<VectorHit[]>;
  /** Embedder and text hash of the vectors stored for these ids (absent ids have none). */
  lookup(kind: VectorKind, refIds: readonly number[]): Promise<Map<number, { embedder: string; textHash: string }>>;
  /** Vector counts per embedder, for one tenant or all. */
  counts(tenant?: string): Promise<EmbedderCount[]>;
  /** Deletes every vector of a tenant; returns how many. */
  deleteTenant(tenant: string, options?: { signal?: AbortSignal | undefined }): Promise<number>;
  /** Deletes every vector not made by `embedder` (reindex); returns how many. */
  removeOtherEmbedders(embedder: string, options?: { signal?: AbortSignal | undefined }): Promise<number>;
}
