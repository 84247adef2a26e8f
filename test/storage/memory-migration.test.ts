import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createSilentLogger } from '../../src/logging/index.js';
import { createSqliteMemory } from '../../src/memory/sqlite/index.js';
import { openDatabase } from '../../src/storage/sqlite/database.js';
import { memoryMigrations } from '../../src/storage/sqlite/migrations/memory.js';
import { indexTerms } from '../../src/memory/index-terms.js';
import { tempDir } from '../support/runtime.js';
import { TrigramEmbedder } from '../support/trigram-embedder.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function databaseFile(): string {
  const folder = tempDir('nexus-migrate-');
  cleanups.push(() => folder.remove());
  return path.join(folder.dir, 'nexus.db');
}

function memoryOn(file: string) {
  const database = openDatabase({ path: file });
  const memory = createSqliteMemory(database, {
    embedder: new TrigramEmbedder(),
    logger: createSilentLogger(),
    limits: { maxBytes: 1024 * 1024, maxDepth: 64 },
    embedBatchSize: 8,
    sweepIntervalMs: 0,
  });
  memory.start();
  cleanups.push(async () => {
    await memory.close();
    database.close();
  });
  return { database, memory };
}

describe('memory schema migrations', () => {
  it('upgrades a database created by the first schema version with its data intact', async () => {
    const file = databaseFile();
    const old = openDatabase({ path: file });
    old.migrate('memory', memoryMigrations.slice(0, 1));
    const now = Date.UTC(2024, 0, 1);
    // Written as the first version wrote items (today's store also keeps journals that did not exist then).
    await old.write((db) => {
      const { id } = db
        .prepare("INSERT INTO kv_items (key, value, tags, index_text, created_at, updated_at) VALUES ('legacy', ?, '[\"old\"]', ?, ?, ?) RETURNING id")
        .get(JSON.stringify({ note: 'written before conversations existed' }), 'legacy\nwritten before conversations existed', now, now) as { id: number };
      db.prepare("INSERT INTO kv_tags (tag, item_id) VALUES ('old', ?)").run(id);
      db.prepare('INSERT INTO kv_fts (rowid, terms) VALUES (?, ?)').run(id, indexTerms('legacy\nwritten before conversations existed'));
    });
    expect(old.read((db) => db.prepare("SELECT name FROM sqlite_master WHERE name IN ('messages', 'embeddings')").all())).toEqual([]);
    old.close();

    const { database, memory } = memoryOn(file);
    expect(database.read((db) => db.prepare("SELECT version, name FROM schema_migrations WHERE domain = 'memory' ORDER BY version").all())).toEqual([
      { version: 1, name: 'kv' },
      { version: 2, name: 'conversations' },
      { version: 3, name: 'embeddings' },
      { version: 4, name: 'vector_tables' },
      { version: 5, name: 'message_context' },
      { version: 6, name: 'vector_journal' },
      { version: 7, name: 'text_journals' },
    ]);
    expect(await memory.recall('default', 'default', 'legacy')).toMatchObject({ value: { note: 'written before conversations existed' }, tags: ['old'], createdAt: now });
    const fulltext = await memory.find('default', { query: 'conversations', mode: 'fulltext', scope: 'kv', k: 5 });
    expect(fulltext.hits.map((hit) => (hit.kind === 'kv' ? hit.item.key : hit.message.id))).toEqual(['legacy']);
    // The start-up backfill embeds rows that predate the vector tables.
    await memory.flushEmbeddings();
    const semantic = await memory.find('default', { query: 'written before', mode: 'semantic', scope: 'kv', k: 5 });
    expect(semantic.hits).toHaveLength(1);
    // The new tables work on the upgraded file.
    const conversation = await memory.createConversation('default', { title: 'after upgrade' });
    await memory.addMessage('default', { conversationId: conversation.id, role: 'user', content: 'hello' });
    expect((await memory.history('default', { conversationId: conversation.id, limit: 10 })).page.messages).toHaveLength(1);
  });

  it('gives messages stored before message context their context, and re-embeds them with it', async () => {
    const file = databaseFile();
    const old = openDatabase({ path: file });
    old.migrate('memory', memoryMigrations.slice(0, 4));
    const t0 = Date.UTC(2023, 4, 8, 13, 56);
    old.writeSync((db) => {
      db.prepare("INSERT INTO conversations (id, tenant, created_at, updated_at, message_count) VALUES ('c', 'default', ?, ?, 3)").run(t0, t0);
      const insert = db.prepare("INSERT INTO messages (id, tenant, conversation_id, role, name, content, timestamp, created_at, index_text) VALUES (?, 'default', 'c', 'user', ?, ?, ?, ?, ?)");
      const said: Array<[string, string, number]> = [
        ['Mel', 'What did you research this week?', t0],
        ['Caroline', 'Adoption agencies, mostly', t0],
        ['Mel', 'A new session, days later', t0 + 3 * 86_400_000],
      ];
      said.forEach(([name, content, timestamp], index) => {
        const seq = Number(insert.run(`m${index}`, name, content, timestamp, t0, `${name}: ${content}`).lastInsertRowid);
        db.prepare('INSERT INTO messages_fts (rowid, terms) VALUES (?, ?)').run(seq, indexTerms(`${name}: ${content}`));
      });
    });
    old.close();

    const { database, memory } = memoryOn(file);
    const contexts = database.read((db) => db.prepare('SELECT id, context_text FROM messages ORDER BY seq').all());
    // The reply gets the question before it; the message of a later session gets no context.
    expect(contexts).toEqual([
      { id: 'm0', context_text: null },
      { id: 'm1', context_text: 'Mel: What did you research this week?' },
      { id: 'm2', context_text: null },
    ]);
    const ids = async (query: string, mode: 'fulltext' | 'semantic'): Promise<string[]> =>
      (await memory.find('default', { query, mode, scope: 'messages', k: 5 })).hits.map((hit) => (hit.kind === 'message' ? hit.message.id : hit.item.key));
    expect(await ids('research', 'fulltext')).toEqual(['m0', 'm1']);
    // 8 May 2023 was a Monday; the later session was on a Thursday.
    expect(await ids('Monday', 'fulltext')).toEqual(['m0', 'm1']);
    expect(await ids('Thursday', 'fulltext')).toEqual(['m2']);
    // The start-up backfill embeds the messages with their context.
    await memory.flushEmbeddings();
    expect(await memory.status()).toMatchObject({ state: 'ready', pending: 0 });
    expect(await ids('research', 'semantic')).toContain('m1');
  });

  it('refuses a database from a newer Nexus instead of guessing at its schema', () => {
    const file = databaseFile();
    const newer = openDatabase({ path: file });
    newer.migrate('memory', [...memoryMigrations, { version: memoryMigrations.length + 1, name: 'from_the_future', up: 'CREATE TABLE future (x)' }]);
    newer.close();
    const database = openDatabase({ path: file });
    cleanups.push(() => database.close());
    expect(() =>
      createSqliteMemory(database, { embedder: null, logger: createSilentLogger(), limits: { maxBytes: 1024, maxDepth: 8 }, embedBatchSize: 1, sweepIntervalMs: 0 }),
    ).toThrow(expect.objectContaining({ code: 'DATABASE_TOO_NEW' }));
  });
});
