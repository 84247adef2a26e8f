import type { SqliteDatabase } from '../../storage/sqlite/database.js';
import { ftsMatchExpression, indexTokens, searchTerms } from '../index-terms.js';
import { parseStored } from '../json-value.js';
import type { KvItem, KvListQuery, KvPut, KvStore, KvTextQuery } from '../kv-store.js';
import type { IndexTextRow, StorageUsage, TextHit } from '../store-types.js';
import { prefixUpperBound } from '../key-order.js';
import { writeTerms } from './fts.js';
import { TextMirror, type TextSource } from './text-mirror.js';

interface KvRow {
  id: number;
  tenant: string;
  namespace: string;
  key: string;
  value: string;
  tags: string;
  created_at: number;
  updated_at: number;
  expires_at: number | null;
}

const COLUMNS = 'id, tenant, namespace, key, value, tags, created_at, updated_at, expires_at';
/** The columns a lookup by id reads: all but the tenant, which the lookup is given (one string fewer per row). */
const LOOKUP_COLUMNS = COLUMNS.split(', ')
  .filter((column) => column !== 'tenant')
  .map((column) => `i.${column}`)
  .join(', ');
// CROSS JOIN keeps the primary-key lookups: with a plain IN the planner may scan the tenant index.
const LOOKUP_BY_IDS = `SELECT ${LOOKUP_COLUMNS} FROM json_each(@ids) AS j CROSS JOIN kv_items AS i ON i.id = j.value WHERE i.tenant = @tenant AND (i.expires_at IS NULL OR i.expires_at > @now)`;
const LIVE = '(expires_at IS NULL OR expires_at > @now)';

interface KvTextRow {
  id: number;
  tenant: string;
  namespace: string;
  index_text: string | null;
  updated_at: number;
  expires_at: number | null;
}

const TEXT_COLUMNS = 'i.id AS id, i.tenant AS tenant, i.namespace AS namespace, i.index_text AS index_text, i.updated_at AS updated_at, i.expires_at AS expires_at';

/** What the in-process full-text index holds of kv_items: the same text kv_fts holds. */
const KV_TEXT: TextSource<KvTextRow> = {
  journal: 'kv_items_text_journal',
  weights: [1],
  selectPage: `SELECT ${TEXT_COLUMNS} FROM kv_items AS i WHERE i.id > @after AND i.index_text IS NOT NULL ORDER BY i.id LIMIT @limit`,
  selectIds: `SELECT ${TEXT_COLUMNS} FROM json_each(@ids) AS j CROSS JOIN kv_items AS i ON i.id = j.value`,
  document: (row) =>
    row.index_text === null ? null : { columns: [indexTokens(row.index_text)], tenant: row.tenant, scope: row.namespace, time: row.updated_at, expiresAt: row.expires_at },
};

/** Candidates a tag-filtered search ranks per round, as a multiple of the hits wanted. */
const TAGGED_OVERFETCH = 4;

/** KvStore on SQLite: kv_items + kv_tags + the kv_fts index (memory migrations 0001). */
export class SqliteKvStore implements KvStore {
  private readonly text: TextMirror<KvTextRow>;

  constructor(private readonly database: SqliteDatabase) {
    this.text = new TextMirror(database, KV_TEXT);
  }

  /** Resolves once full-text search runs on the in-process index (it starts with the first search). */
  textIndexReady(): Promise<void> {
    return this.text.ready();
  }

  /** Whether full-text search runs on the in-process index yet (see TextMirror). */
  textIndexState(): TextMirror<KvTextRow>['state'] {
    return this.text.state;
  }

  async put(item: KvPut, options: { signal?: AbortSignal | undefined } = {}): Promise<{ item: KvItem; created: boolean }> {
    const stored = await this.database.write(() => {
      const keyParams = { tenant: item.tenant, namespace: item.namespace, key: item.key };
      const existing = this.database.statement('SELECT id, created_at, expires_at FROM kv_items WHERE tenant = @tenant AND namespace = @namespace AND key = @key').get(keyParams) as
        | { id: number; created_at: number; expires_at: number | null }
        | undefined;
      const live = existing !== undefined && (existing.expires_at === null || existing.expires_at > item.now);
      // An expired item that was not swept yet is replaced by a new one (new id, new created_at).
      if (existing !== undefined && !live) this.database.statement('DELETE FROM kv_items WHERE id = ?').run(existing.id);
      const row = {
        ...keyParams,
        value: item.valueJson,
        tags: JSON.stringify(item.tags),
        index_text: item.indexText,
        now: item.now,
        expires_at: item.expiresAt,
      };
      let id: number;
      if (live) {
        id = existing.id;
        this.database
          .statement('UPDATE kv_items SET value = @value, tags = @tags, index_text = @index_text, updated_at = @now, expires_at = @expires_at WHERE id = @id')
          .run({ ...row, id });
        this.database.statement('DELETE FROM kv_tags WHERE item_id = ?').run(id);
      } else {
        const inserted = this.database
          .statement(
            `INSERT INTO kv_items (tenant, namespace, key, value, tags, index_text, created_at, updated_at, expires_at)
             VALUES (@tenant, @namespace, @key, @value, @tags, @index_text, @now, @now, @expires_at) RETURNING id`,
          )
          .get(row) as { id: number };
        id = inserted.id;
      }
      writeTerms(this.database, 'kv_fts', id, item.indexText);
      this.text.trimJournal();
      const insertTag = this.database.statement('INSERT OR IGNORE INTO kv_tags (tag, item_id) VALUES (?, ?)');
      for (const tag of item.tags) insertTag.run(tag, id);
      const stored = this.database.statement(`SELECT ${COLUMNS} FROM kv_items WHERE id = ?`).get(id) as KvRow;
      return { item: toItem(stored), created: !live };
    }, options);
    this.text.keepUp();
    return stored;
  }

  async get(tenant: string, namespace: string, key: string, now: number): Promise<KvItem | undefined> {
    const row = this.database.read(() =>
      this.database.statement(`SELECT ${COLUMNS} FROM kv_items WHERE tenant = @tenant AND namespace = @namespace AND key = @key AND ${LIVE}`).get({ tenant, namespace, key, now }),
    ) as KvRow | undefined;
    return row === undefined ? undefined : toItem(row);
  }

  async getByIds(tenant: string, ids: readonly number[], now: number): Promise<KvItem[]> {
    if (ids.length === 0) return [];
    const rows = this.database.read(() =>
      this.database
        .statement(LOOKUP_BY_IDS)
        .raw()
        .all({ ids: JSON.stringify(ids), tenant, now }),
    ) as LookupValues[];
    return rows.map((values) => itemFromValues(tenant, values));
  }

  async delete(tenant: string, namespace: string, key: string, now: number, options: { signal?: AbortSignal | undefined } = {}): Promise<boolean> {
    return this.database.write(() => {
      const row = this.database.statement('DELETE FROM kv_items WHERE tenant = @tenant AND namespace = @namespace AND key = @key RETURNING expires_at').get({ tenant, namespace, key }) as
        | { expires_at: number | null }
        | undefined;
      return row !== undefined && (row.expires_at === null || row.expires_at > now);
    }, options);
  }

  async list(query: KvListQuery): Promise<{ items: KvItem[]; hasMore: boolean }> {
    const conditions = ['tenant = @tenant', 'namespace = @namespace', LIVE];
    const params: Record<string, unknown> = { tenant: query.tenant, namespace: query.namespace, now: query.now, limit: query.limit + 1 };
    if (query.prefix !== undefined && query.prefix !== '') {
      // A key range, not LIKE: "%" and "_" are ordinary characters and matching is case-sensitive.
      conditions.push('key >= @prefix');
      params['prefix'] = query.prefix;
      const upper = prefixUpperBound(query.prefix);
      if (upper !== null) {
        conditions.push('key < @upper');
        params['upper'] = upper;
      }
    }
    if (query.afterKey !== undefined) {
      conditions.push('key > @after');
      params['after'] = query.afterKey;
    }
    conditions.push(...tagConditions(query.tags, params));
    const rows = this.database.read(() => this.database.statement(`SELECT ${COLUMNS} FROM kv_items WHERE ${conditions.join(' AND ')} ORDER BY key LIMIT @limit`).all(params)) as KvRow[];
    return { items: rows.slice(0, query.limit).map(toItem), hasMore: rows.length > query.limit };
  }

  async searchText(query: KvTextQuery): Promise<TextHit[]> {
    const index = this.text.current();
    if (index !== undefined) {
      const terms = searchTerms(query.query);
      const filter = { tenant: query.tenant, scope: query.namespace, liveAt: query.now };
      const tags = query.tags ?? [];
      if (tags.length === 0) return index.search(terms, query.limit, filter);
      // Tags live in kv_tags: rank more than needed, keep the tagged ones, widen until enough.
      for (let wanted = query.limit * TAGGED_OVERFETCH; ; wanted *= TAGGED_OVERFETCH) {
        const ranked = index.search(terms, wanted, filter);
        const tagged = this.withAllTags(ranked, tags);
        if (tagged.length >= query.limit || ranked.length < wanted) return tagged.slice(0, query.limit);
      }
    }
    return this.searchTextInSqlite(query);
  }

  /** The hits (in order) whose item carries every tag. */
  private withAllTags(hits: readonly TextHit[], tags: readonly string[]): TextHit[] {
    if (hits.length === 0) return [];
    const params: Record<string, unknown> = { ids: JSON.stringify(hits.map((hit) => hit.id)) };
    const conditions = tagConditions(tags, params, 'j.value');
    const tagged = new Set(this.database.read(() => this.database.statement(`SELECT j.value FROM json_each(@ids) AS j WHERE ${conditions.join(' AND ')}`).pluck().all(params) as number[]));
    return hits.filter((hit) => tagged.has(hit.id));
  }

  /** BM25 in FTS5 itself: what answers while the in-process index is being built. */
  private searchTextInSqlite(query: KvTextQuery): TextHit[] {
    const match = ftsMatchExpression(query.query);
    if (match === '') return [];
    const params: Record<string, unknown> = { match, tenant: query.tenant, now: query.now, limit: query.limit };
    const conditions = ['kv_fts MATCH @match', 'i.tenant = @tenant', '(i.expires_at IS NULL OR i.expires_at > @now)'];
    if (query.namespace !== undefined) {
      conditions.push('i.namespace = @namespace');
      params['namespace'] = query.namespace;
    }
    conditions.push(...tagConditions(query.tags, params, 'i.id'));
    const rows = this.database.read(() =>
      this.database
        .statement(`SELECT i.id AS id, -bm25(kv_fts) AS score FROM kv_fts JOIN kv_items i ON i.id = kv_fts.rowid WHERE ${conditions.join(' AND ')} ORDER BY score DESC LIMIT @limit`)
        .all(params),
    ) as TextHit[];
    return rows;
  }

  async sweepExpired(now: number, limit: number): Promise<number> {
    return this.database.write(
      () => this.database.statement('DELETE FROM kv_items WHERE id IN (SELECT id FROM kv_items WHERE expires_at IS NOT NULL AND expires_at <= @now LIMIT @limit)').run({ now, limit }).changes,
    );
  }

  async usage(tenant: string, now: number): Promise<StorageUsage> {
    return this.database.read(
      () =>
        this.database
          .statement(`SELECT COUNT(*) AS items, COALESCE(SUM(length(CAST(value AS BLOB))), 0) AS bytes FROM kv_items WHERE tenant = @tenant AND ${LIVE}`)
          .get({ tenant, now }) as StorageUsage,
    );
  }

  async deleteTenant(tenant: string, options: { signal?: AbortSignal | undefined } = {}): Promise<number> {
    return this.database.write(() => this.database.statement('DELETE FROM kv_items WHERE tenant = ?').run(tenant).changes, options);
  }

  async indexTexts(afterId: number, limit: number, now: number): Promise<IndexTextRow[]> {
    return this.database.read(
      () =>
        this.database
          .statement(
            `SELECT id, tenant, namespace AS scope, index_text AS text, updated_at AS timestamp FROM kv_items
             WHERE id > @afterId AND index_text IS NOT NULL AND ${LIVE} ORDER BY id LIMIT @limit`,
          )
          .all({ afterId, limit, now }) as IndexTextRow[],
    );
  }
}

/** One EXISTS per required tag: each is a lookup in the (tag, item_id) primary key. */
function tagConditions(tags: readonly string[] | undefined, params: Record<string, unknown>, idColumn = 'id'): string[] {
  return (tags ?? []).map((tag, index) => {
    params[`tag${index}`] = tag;
    return `EXISTS (SELECT 1 FROM kv_tags WHERE tag = @tag${index} AND item_id = ${idColumn})`;
  });
}

/** A row of COLUMNS as an array: what `.raw()` returns, which better-sqlite3 makes at half the cost of a row object. */
/** A row of LOOKUP_COLUMNS. */
type LookupValues = [number, string, string, string, string, number, number, number | null];

function itemFromValues(tenant: string, [id, namespace, key, value, tags, created_at, updated_at, expires_at]: LookupValues): KvItem {
  return toItem({ id, tenant, namespace, key, value, tags, created_at, updated_at, expires_at });
}

function toItem(row: KvRow): KvItem {
  return {
    id: row.id,
    tenant: row.tenant,
    namespace: row.namespace,
    key: row.key,
    value: parseStored(row.value),
    tags: JSON.parse(row.tags) as string[],
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    expiresAt: row.expires_at,
  };
}
