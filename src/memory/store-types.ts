/** One full-text match: a record id and its relevance (higher is better; BM25 in SQLite). */
export interface TextHit {
  readonly id: number;
  readonly score: number;
}

/** A record's searchable text, as handed to the embedding queue (backfill and reindex). */
export interface IndexTextRow {
  readonly id: number;
  readonly tenant: string;
  /** Namespace of a key-value item, conversation id of a message: what search filters on. */
  readonly scope: string;
  readonly text: string;
  /** Update time of an item, timestamp of a message (ms). */
  readonly timestamp: number;
}

/** How much a tenant stores in one store: records and their bytes (UTF-8 of the stored text). */
export interface StorageUsage {
  readonly items: number;
  readonly bytes: number;
}
