import { NexusError } from '../../errors/index.js';
import type { SqliteDatabase } from '../../storage/sqlite/database.js';
import { ftsMatchExpression, indexTokens, searchTerms } from '../index-terms.js';
import {
  authorOf,
  conversationNotFound,
  type Conversation,
  type ConversationListQuery,
  type ConversationStore,
  type HistoryPage,
  type HistoryQuery,
  type JsonObject,
  type Message,
  type MessageAuthor,
  type MessageTextQuery,
  type NewConversation,
  type NewMessage,
} from '../conversation-store.js';
import type { IndexTextRow, StorageUsage, TextHit } from '../store-types.js';
import { MESSAGE_CONTEXT_WEIGHT, messageSearchFields } from '../index-text.js';
import { writeMessageTerms } from './fts.js';
import { TextMirror, type TextSource } from './text-mirror.js';

interface ConversationRow {
  id: string;
  tenant: string;
  title: string | null;
  metadata: string;
  created_at: number;
  updated_at: number;
  message_count: number;
}

interface MessageRow {
  seq: number;
  id: string;
  tenant: string;
  conversation_id: string;
  role: string;
  name: string | null;
  content: string;
  metadata: string;
  timestamp: number;
  created_at: number;
}

const CONVERSATION_COLUMNS = 'id, tenant, title, metadata, created_at, updated_at, message_count';
const MESSAGE_COLUMNS = 'seq, id, tenant, conversation_id, role, name, content, metadata, timestamp, created_at';
const PREFIXED_MESSAGE_COLUMNS = MESSAGE_COLUMNS.split(', ').map((column) => `m.${column}`).join(', ');

interface MessageTextRow {
  id: number;
  tenant: string;
  conversation_id: string;
  index_text: string | null;
  context_text: string | null;
  timestamp: number;
  role: string;
  name: string | null;
}

const TEXT_COLUMNS =
  'm.seq AS id, m.tenant AS tenant, m.conversation_id AS conversation_id, m.index_text AS index_text, m.context_text AS context_text, m.timestamp AS timestamp, m.role AS role, m.name AS name';

/** What the in-process full-text index holds of messages: the same two fields messages_fts holds. */
const MESSAGE_TEXT: TextSource<MessageTextRow> = {
  journal: 'messages_text_journal',
  weights: [1, MESSAGE_CONTEXT_WEIGHT],
  selectPage: `SELECT ${TEXT_COLUMNS} FROM messages AS m WHERE m.seq > @after AND m.index_text IS NOT NULL ORDER BY m.seq LIMIT @limit`,
  selectIds: `SELECT ${TEXT_COLUMNS} FROM json_each(@ids) AS j CROSS JOIN messages AS m ON m.seq = j.value`,
  document: (row) =>
    row.index_text === null
      ? null
      : {
          columns: messageSearchFields({ indexText: row.index_text, contextText: row.context_text, timestamp: row.timestamp }).map(indexTokens),
          tenant: row.tenant,
          scope: row.conversation_id,
          time: row.timestamp,
          expiresAt: null,
          // Messages are never edited, so the author the index keeps stays true (authorsBySeq).
          label: authorOf(row),
        },
};

/** ConversationStore on SQLite: conversations + messages + messages_fts (memory migration 0002). */
export class SqliteConversationStore implements ConversationStore {
  private readonly text: TextMirror<MessageTextRow>;

  constructor(private readonly database: SqliteDatabase) {
    this.text = new TextMirror(database, MESSAGE_TEXT);
  }

  /** Resolves once full-text search runs on the in-process index (it starts with the first search). */
  textIndexReady(): Promise<void> {
    return this.text.ready();
  }

  async create(conversation: NewConversation, options: { signal?: AbortSignal | undefined } = {}): Promise<Conversation> {
    const row = await this.database.write(
      () =>
        this.database
          .statement(
            `INSERT INTO conversations (id, tenant, title, metadata, created_at, updated_at) VALUES (@id, @tenant, @title, @metadata, @now, @now)
             RETURNING ${CONVERSATION_COLUMNS}`,
          )
          .get({ id: conversation.id, tenant: conversation.tenant, title: conversation.title, metadata: conversation.metadataJson, now: conversation.now }) as ConversationRow,
      options,
    );
    return toConversation(row);
  }

  async get(tenant: string, id: string): Promise<Conversation | undefined> {
    const row = this.database.read(() => this.database.statement(`SELECT ${CONVERSATION_COLUMNS} FROM conversations WHERE id = ? AND tenant = ?`).get(id, tenant)) as
      | ConversationRow
      | undefined;
    return row === undefined ? undefined : toConversation(row);
  }

  async list(query: ConversationListQuery): Promise<{ conversations: Conversation[]; hasMore: boolean }> {
    const after = query.after === undefined ? '' : 'AND (updated_at, id) < (@updatedAt, @id)';
    const rows = this.database.read(() =>
      this.database
        .statement(`SELECT ${CONVERSATION_COLUMNS} FROM conversations WHERE tenant = @tenant ${after} ORDER BY updated_at DESC, id DESC LIMIT @limit`)
        .all({ tenant: query.tenant, limit: query.limit + 1, ...(query.after ?? {}) }),
    ) as ConversationRow[];
    return { conversations: rows.slice(0, query.limit).map(toConversation), hasMore: rows.length > query.limit };
  }

  async delete(tenant: string, id: string, options: { signal?: AbortSignal | undefined } = {}): Promise<boolean> {
    return this.database.write(() => this.database.statement('DELETE FROM conversations WHERE id = ? AND tenant = ?').run(id, tenant).changes > 0, options);
  }

  async addMessage(message: NewMessage, options: { signal?: AbortSignal | undefined } = {}): Promise<Message> {
    const row = await this.database.write(() => {
      const bumped = this.database
        .statement('UPDATE conversations SET updated_at = MAX(updated_at, @now), message_count = message_count + 1 WHERE id = @id AND tenant = @tenant')
        .run({ id: message.conversationId, tenant: message.tenant, now: message.now });
      if (bumped.changes === 0) throw conversationNotFound(message.conversationId);
      const inserted = this.database
        .statement(
          `INSERT INTO messages (id, tenant, conversation_id, role, name, content, metadata, timestamp, created_at, index_text, context_text)
           VALUES (@id, @tenant, @conversationId, @role, @name, @content, @metadata, @timestamp, @now, @indexText, @contextText) RETURNING ${MESSAGE_COLUMNS}`,
        )
        .get({
          id: message.id,
          tenant: message.tenant,
          conversationId: message.conversationId,
          role: message.role,
          name: message.name,
          content: message.content,
          metadata: message.metadataJson,
          timestamp: message.timestamp,
          now: message.now,
          indexText: message.indexText,
          contextText: message.contextText ?? null,
        }) as MessageRow;
      if (message.indexText !== null) {
        writeMessageTerms(this.database, inserted.seq, messageSearchFields({ indexText: message.indexText, contextText: message.contextText ?? null, timestamp: message.timestamp }));
      }
      this.text.trimJournal();
      return inserted;
    }, options);
    this.text.keepUp();
    return toMessage(row);
  }

  async history(query: HistoryQuery): Promise<HistoryPage> {
    return this.database.read(() => {
      const base = { tenant: query.tenant, conversationId: query.conversationId, limit: query.limit + 1 };
      const where = 'conversation_id = @conversationId AND tenant = @tenant';
      const before = query.before === undefined ? undefined : this.cursorPosition(query, query.before);
      const after = query.after === undefined ? undefined : this.cursorPosition(query, query.after);
      if (after !== undefined) {
        const upper = before === undefined ? '' : 'AND (timestamp, seq) < (@beforeTs, @beforeSeq)';
        const rows = this.database
          .statement(`SELECT ${MESSAGE_COLUMNS} FROM messages WHERE ${where} AND (timestamp, seq) > (@afterTs, @afterSeq) ${upper} ORDER BY timestamp, seq LIMIT @limit`)
          .all({ ...base, afterTs: after.timestamp, afterSeq: after.seq, ...(before ? { beforeTs: before.timestamp, beforeSeq: before.seq } : {}) }) as MessageRow[];
        return { messages: rows.slice(0, query.limit).map(toMessage), hasOlder: true, hasNewer: rows.length > query.limit || before !== undefined };
      }
      const upper = before === undefined ? '' : 'AND (timestamp, seq) < (@beforeTs, @beforeSeq)';
      const rows = this.database
        .statement(`SELECT ${MESSAGE_COLUMNS} FROM messages WHERE ${where} ${upper} ORDER BY timestamp DESC, seq DESC LIMIT @limit`)
        .all({ ...base, ...(before ? { beforeTs: before.timestamp, beforeSeq: before.seq } : {}) }) as MessageRow[];
      return { messages: rows.slice(0, query.limit).reverse().map(toMessage), hasOlder: rows.length > query.limit, hasNewer: before !== undefined };
    });
  }

  async messagesBySeq(tenant: string, seqs: readonly number[]): Promise<Message[]> {
    if (seqs.length === 0) return [];
    const rows = this.database.read(() =>
      // CROSS JOIN keeps the primary-key lookups: with a plain IN the planner may scan the tenant index.
      this.database
        .statement(`SELECT ${PREFIXED_MESSAGE_COLUMNS} FROM json_each(@seqs) AS j CROSS JOIN messages AS m ON m.seq = j.value WHERE m.tenant = @tenant`)
        .raw()
        .all({ seqs: JSON.stringify(seqs), tenant }),
    ) as MessageValues[];
    return rows.map(messageFromValues);
  }

  async authorsBySeq(tenant: string, seqs: readonly number[]): Promise<MessageAuthor[]> {
    if (seqs.length === 0) return [];
    // The in-process index keeps each message's author: ~100 lookups in SQL (the fused candidates
    // of a hybrid search) took ~0.1 ms. Messages it does not hold (no searchable word, index not
    // built yet, another tenant's) are read from the table.
    const index = this.text.current();
    const found: MessageAuthor[] = [];
    const unknown: number[] = [];
    for (const seq of seqs) {
      const author = index?.labelOf(seq, tenant);
      if (author === undefined) unknown.push(seq);
      else found.push({ seq, author });
    }
    if (unknown.length === 0) return found;
    const rows = this.database.read(() =>
      this.database
        .statement('SELECT m.seq, m.role, m.name FROM json_each(@seqs) AS j CROSS JOIN messages AS m ON m.seq = j.value WHERE m.tenant = @tenant')
        .raw()
        .all({ seqs: JSON.stringify(unknown), tenant }),
    ) as Array<[number, string, string | null]>;
    for (const [seq, role, name] of rows) found.push({ seq, author: authorOf({ role, name }) });
    return found;
  }

  async searchText(query: MessageTextQuery): Promise<TextHit[]> {
    const index = this.text.current();
    if (index !== undefined) return index.search(searchTerms(query.query), query.limit, { tenant: query.tenant, scope: query.conversationId, from: query.from, to: query.to });
    return this.searchTextInSqlite(query);
  }

  /** BM25 in FTS5 itself: what answers while the in-process index is being built. */
  private searchTextInSqlite(query: MessageTextQuery): TextHit[] {
    const match = ftsMatchExpression(query.query);
    if (match === '') return [];
    const params: Record<string, unknown> = { match, tenant: query.tenant, limit: query.limit };
    const conditions = ['messages_fts MATCH @match', 'm.tenant = @tenant'];
    if (query.conversationId !== undefined) {
      conditions.push('m.conversation_id = @conversationId');
      params['conversationId'] = query.conversationId;
    }
    if (query.from !== undefined) {
      conditions.push('m.timestamp >= @from');
      params['from'] = query.from;
    }
    if (query.to !== undefined) {
      conditions.push('m.timestamp <= @to');
      params['to'] = query.to;
    }
    return this.database.read(
      () =>
        this.database
          .statement(
            `SELECT m.seq AS id, -bm25(messages_fts, 1.0, ${MESSAGE_CONTEXT_WEIGHT}) AS score FROM messages_fts JOIN messages m ON m.seq = messages_fts.rowid
             WHERE ${conditions.join(' AND ')} ORDER BY score DESC LIMIT @limit`,
          )
          .all(params) as TextHit[],
    );
  }

  async indexTexts(afterSeq: number, limit: number): Promise<IndexTextRow[]> {
    return this.database.read(
      () =>
        this.database
          .statement(
            // The same text as messageEmbedText(index_text, context_text).
            `SELECT seq AS id, tenant, conversation_id AS scope, index_text || coalesce(char(10) || context_text, '') AS text, timestamp FROM messages
             WHERE seq > @afterSeq AND index_text IS NOT NULL ORDER BY seq LIMIT @limit`,
          )
          .all({ afterSeq, limit }) as IndexTextRow[],
    );
  }
  async precedingTexts(tenant: string, conversationId: string, timestamp: number, limit: number): Promise<Array<{ text: string; timestamp: number }>> {
    return this.database.read(
      () =>
        this.database
          .statement(
            `SELECT index_text AS text, timestamp FROM messages
             WHERE conversation_id = @conversationId AND tenant = @tenant AND timestamp <= @timestamp AND index_text IS NOT NULL
             ORDER BY timestamp DESC, seq DESC LIMIT @limit`,
          )
          .all({ tenant, conversationId, timestamp, limit }) as Array<{ text: string; timestamp: number }>,
    );
  }


  async usage(tenant: string): Promise<StorageUsage> {
    return this.database.read(
      () =>
        this.database
          .statement('SELECT COUNT(*) AS items, COALESCE(SUM(length(CAST(content AS BLOB)) + length(CAST(metadata AS BLOB))), 0) AS bytes FROM messages WHERE tenant = ?')
          .get(tenant) as StorageUsage,
    );
  }

  async deleteTenant(tenant: string, options: { signal?: AbortSignal | undefined } = {}): Promise<number> {
    return this.database.write(() => {
      const messages = this.database.statement('SELECT COUNT(*) AS n FROM messages WHERE tenant = ?').get(tenant) as { n: number };
      return this.database.statement('DELETE FROM conversations WHERE tenant = ?').run(tenant).changes + messages.n;
    }, options);
  }

  private cursorPosition(query: HistoryQuery, messageId: string): { timestamp: number; seq: number } {
    const position = this.database
      .statement('SELECT timestamp, seq FROM messages WHERE id = ? AND conversation_id = ? AND tenant = ?')
      .get(messageId, query.conversationId, query.tenant) as { timestamp: number; seq: number } | undefined;
    if (position === undefined) {
      throw new NexusError('INVALID_CURSOR', `Message ${messageId} is not in conversation ${query.conversationId}`, { details: { cursor: messageId } });
    }
    return position;
  }
}

function toConversation(row: ConversationRow): Conversation {
  return {
    id: row.id,
    tenant: row.tenant,
    title: row.title,
    metadata: JSON.parse(row.metadata) as JsonObject,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    messageCount: row.message_count,
  };
}

/** A row of MESSAGE_COLUMNS as an array (see KvValues in sqlite-kv-store.ts). */
type MessageValues = [number, string, string, string, string, string | null, string, string, number, number];

function messageFromValues([seq, id, tenant, conversation_id, role, name, content, metadata, timestamp, created_at]: MessageValues): Message {
  return toMessage({ seq, id, tenant, conversation_id, role, name, content, metadata, timestamp, created_at });
}

function toMessage(row: MessageRow): Message {
  return {
    seq: row.seq,
    id: row.id,
    tenant: row.tenant,
    conversationId: row.conversation_id,
    role: row.role,
    name: row.name,
    content: row.content,
    metadata: JSON.parse(row.metadata) as JsonObject,
    timestamp: row.timestamp,
    createdAt: row.created_at,
  };
}
