import type Database from 'better-sqlite3';
import { CONTEXT_MESSAGES, messageContextText, messageSearchFields } from '../../../memory/index-text.js';
import { indexTerms } from '../../../memory/index-terms.js';
import type { Migration } from '../migrations.js';

/**
 * Schema of the "memory" domain: key-value items, conversations and messages, and the record of
 * which embedder made each vector. Times are integer milliseconds since the epoch (compared and
 * sorted as numbers; tools print RFC 3339). `index_text` is what full-text search and the
 * embedder see, derived from the record when it is written.
 */

// The FTS tables are contentless: they hold the index of analysed text (tokens stemmed in JS by
// src/memory/text, the same analysis the query side and the in-memory twins use — FTS5's porter
// tokenizer would stem already-stemmed query terms a second time). Stores write the analysed
// terms in the same transaction as the row; deleting a row removes its entry through a trigger.
const FTS_OPTIONS = "content = '', contentless_delete = 1, tokenize = 'unicode61 remove_diacritics 2'";

const kv = `
CREATE TABLE kv_items (
  id         INTEGER PRIMARY KEY,
  tenant     TEXT    NOT NULL DEFAULT 'default',
  namespace  TEXT    NOT NULL DEFAULT 'default',
  key        TEXT    NOT NULL,
  value      TEXT    NOT NULL,
  tags       TEXT    NOT NULL DEFAULT '[]',
  index_text TEXT,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  expires_at INTEGER,
  UNIQUE (tenant, namespace, key)
);
CREATE INDEX kv_items_expiry ON kv_items (expires_at) WHERE expires_at IS NOT NULL;

CREATE TABLE kv_tags (
  tag     TEXT    NOT NULL,
  item_id INTEGER NOT NULL REFERENCES kv_items (id) ON DELETE CASCADE,
  PRIMARY KEY (tag, item_id)
) WITHOUT ROWID;
CREATE INDEX kv_tags_item ON kv_tags (item_id);

CREATE VIRTUAL TABLE kv_fts USING fts5 (terms, ${FTS_OPTIONS});
CREATE TRIGGER kv_items_fts_delete AFTER DELETE ON kv_items BEGIN
  DELETE FROM kv_fts WHERE rowid = old.id;
END;
`;

const conversations = `
CREATE TABLE conversations (
  id            TEXT    PRIMARY KEY,
  tenant        TEXT    NOT NULL DEFAULT 'default',
  title         TEXT,
  metadata      TEXT    NOT NULL DEFAULT '{}',
  created_at    INTEGER NOT NULL,
  updated_at    INTEGER NOT NULL,
  message_count INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX conversations_recent ON conversations (tenant, updated_at DESC, id DESC);

CREATE TABLE messages (
  seq             INTEGER PRIMARY KEY,
  id              TEXT    NOT NULL UNIQUE,
  tenant          TEXT    NOT NULL DEFAULT 'default',
  conversation_id TEXT    NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
  role            TEXT    NOT NULL,
  name            TEXT,
  content         TEXT    NOT NULL,
  metadata        TEXT    NOT NULL DEFAULT '{}',
  timestamp       INTEGER NOT NULL,
  created_at      INTEGER NOT NULL,
  index_text      TEXT
);
CREATE INDEX messages_history ON messages (conversation_id, timestamp, seq);
CREATE INDEX messages_tenant_time ON messages (tenant, timestamp);

CREATE VIRTUAL TABLE messages_fts USING fts5 (terms, ${FTS_OPTIONS});
CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
  DELETE FROM messages_fts WHERE rowid = old.seq;
END;
`;

// The vectors themselves live in sqlite-vec tables (see vector_tables below), created on first use
// with a trigger that removes a vector when its row here goes. Deleting or re-texting a source row
// removes its embedding, so a stale vector is never served.
const embeddings = `
CREATE TABLE embeddings (
  id         INTEGER PRIMARY KEY,
  tenant     TEXT    NOT NULL DEFAULT 'default',
  kind       TEXT    NOT NULL,
  ref_id     INTEGER NOT NULL,
  embedder   TEXT    NOT NULL,
  dims       INTEGER NOT NULL,
  text_hash  TEXT    NOT NULL,
  created_at INTEGER NOT NULL,
  UNIQUE (kind, ref_id)
);
CREATE INDEX embeddings_embedder ON embeddings (embedder, tenant);

CREATE TRIGGER kv_items_embedding_delete AFTER DELETE ON kv_items BEGIN
  DELETE FROM embeddings WHERE kind = 'kv' AND ref_id = old.id;
END;
CREATE TRIGGER kv_items_embedding_stale AFTER UPDATE OF index_text ON kv_items WHEN old.index_text IS NOT new.index_text BEGIN
  DELETE FROM embeddings WHERE kind = 'kv' AND ref_id = old.id;
END;
CREATE TRIGGER messages_embedding_delete AFTER DELETE ON messages BEGIN
  DELETE FROM embeddings WHERE kind = 'message' AND ref_id = old.seq;
END;
CREATE TRIGGER messages_embedding_stale AFTER UPDATE OF index_text ON messages WHEN old.index_text IS NOT new.index_text BEGIN
  DELETE FROM embeddings WHERE kind = 'message' AND ref_id = old.seq;
END;
`;

// One vec0 table per (kind, embedder, dimensions), so a KNN scan filters on nothing but the
// tenant partition in the common case (vec0 metadata filters cost several times the scan itself).
// This registry names them; a table's rows are removed by a trigger created with the table.
const vectorTables = `
CREATE TABLE vector_tables (
  name     TEXT    PRIMARY KEY,
  kind     TEXT    NOT NULL,
  embedder TEXT    NOT NULL,
  dims     INTEGER NOT NULL,
  UNIQUE (kind, embedder, dims)
) WITHOUT ROWID;
`;

// A message is indexed with its context: its date in words and the messages just before it in its
// session (src/memory/index-text.ts), in a second FTS column ranked at a lower weight, and
// embedded with it. `context_text` keeps what preceded the message when it was added. Existing
// messages get their context here; their vectors are re-made by the embedding backfill (the
// embedded text changed, so its hash no longer matches).
function messageContext(db: Database.Database): void {
  db.exec(`
ALTER TABLE messages ADD COLUMN context_text TEXT;
DROP TRIGGER messages_fts_delete;
DROP TABLE messages_fts;
CREATE VIRTUAL TABLE messages_fts USING fts5 (terms, context, ${FTS_OPTIONS});
CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
  DELETE FROM messages_fts WHERE rowid = old.seq;
END;
`);
  const conversationIds = db.prepare('SELECT id FROM conversations').pluck().all() as string[];
  const messagesOf = db.prepare('SELECT seq, index_text AS text, timestamp FROM messages WHERE conversation_id = ? AND index_text IS NOT NULL ORDER BY timestamp, seq');
  const setContext = db.prepare('UPDATE messages SET context_text = ? WHERE seq = ?');
  const index = db.prepare('INSERT INTO messages_fts (rowid, terms, context) VALUES (?, ?, ?)');
  for (const conversationId of conversationIds) {
    const messages = messagesOf.all(conversationId) as Array<{ seq: number; text: string; timestamp: number }>;
    messages.forEach((message, position) => {
      const preceding = messages.slice(Math.max(0, position - CONTEXT_MESSAGES), position).reverse();
      const contextText = messageContextText(message.timestamp, preceding);
      if (contextText !== null) setContext.run(contextText, message.seq);
      const [own, context] = messageSearchFields({ indexText: message.text, contextText, timestamp: message.timestamp }).map(indexTerms);
      index.run(message.seq, own, context);
    });
  }
}

// Searches run over an in-process copy of each vector table (src/memory/sqlite/vector-mirror.ts).
// Every change to \`embeddings\` — by this process, another one, or a trigger deleting the vector of
// a deleted item — is journaled here in commit order, so a copy catches up by reading the entries
// after the last one it applied (one indexed range read; none when nothing changed). Writers trim
// old entries; a copy that fell behind the trimmed part reloads.
const vectorJournal = `
CREATE TABLE vector_journal (
  seq      INTEGER PRIMARY KEY AUTOINCREMENT,
  added    INTEGER NOT NULL,
  tenant   TEXT    NOT NULL,
  kind     TEXT    NOT NULL,
  ref_id   INTEGER NOT NULL,
  embedder TEXT    NOT NULL,
  dims     INTEGER NOT NULL,
  row_id   INTEGER NOT NULL
);
CREATE TRIGGER embeddings_journal_insert AFTER INSERT ON embeddings BEGIN
  INSERT INTO vector_journal (added, tenant, kind, ref_id, embedder, dims, row_id) VALUES (1, new.tenant, new.kind, new.ref_id, new.embedder, new.dims, new.id);
END;
CREATE TRIGGER embeddings_journal_delete AFTER DELETE ON embeddings BEGIN
  INSERT INTO vector_journal (added, tenant, kind, ref_id, embedder, dims, row_id) VALUES (0, old.tenant, old.kind, old.ref_id, old.embedder, old.dims, old.id);
END;
`;

// Full-text searches run over an in-process index per table (src/memory/sqlite/text-mirror.ts)
// built from the rows' index texts. Every change to what it holds — an item's or a message's text,
// an item's update and expiry time, a deletion (cascades included), by any process — is journaled
// here, one journal per table (so a long run of writes to one table never trims away what the
// other's index still needs), and an index catches up by re-reading just the rows named after the
// last entry it applied. Writers trim old entries; an index that fell behind them is rebuilt.
const textJournals = `
${textJournal('kv_items', 'id', 'index_text, updated_at, expires_at')}
${textJournal('messages', 'seq', 'index_text, context_text, timestamp')}
`;

/** `<table>_text_journal` and the triggers that fill it on every insert, delete and update of `columns`. */
function textJournal(table: string, id: string, columns: string): string {
  const journal = `${table}_text_journal`;
  const entry = (row: 'new' | 'old'): string => `INSERT INTO ${journal} (row_id) VALUES (${row}.${id});`;
  return [
    `CREATE TABLE ${journal} (seq INTEGER PRIMARY KEY AUTOINCREMENT, row_id INTEGER NOT NULL);`,
    `CREATE TRIGGER ${journal}_insert AFTER INSERT ON ${table} BEGIN ${entry('new')} END;`,
    `CREATE TRIGGER ${journal}_update AFTER UPDATE OF ${columns} ON ${table} BEGIN ${entry('new')} END;`,
    `CREATE TRIGGER ${journal}_delete AFTER DELETE ON ${table} BEGIN ${entry('old')} END;`,
  ].join('\n');
}

/** The memory domain's migrations, in order. Never edit a released step: append one. */
export const memoryMigrations: readonly Migration[] = [
  { version: 1, name: 'kv', up: kv },
  { version: 2, name: 'conversations', up: conversations },
  { version: 3, name: 'embeddings', up: embeddings },
  { version: 4, name: 'vector_tables', up: vectorTables },
  { version: 5, name: 'message_context', up: messageContext },
  { version: 6, name: 'vector_journal', up: vectorJournal },
  { version: 7, name: 'text_journals', up: textJournals },
];
