import { afterEach, describe, expect, it } from 'vitest';
import { JOURNAL_KEEP } from '../../src/memory/sqlite/change-journal.js';
import { SqliteConversationStore } from '../../src/memory/sqlite/sqlite-conversation-store.js';
import { SqliteKvStore } from '../../src/memory/sqlite/sqlite-kv-store.js';
import { indexTerms } from '../../src/memory/index-terms.js';
import { twoMemoryConnections } from '../support/memory-database.js';

const NOW = Date.UTC(2026, 0, 1);

function put(key: string, text: string, extra: { tags?: string[]; expiresAt?: number | null; now?: number; namespace?: string } = {}) {
  return {
    tenant: 'default',
    namespace: extra.namespace ?? 'default',
    key,
    valueJson: JSON.stringify(text),
    tags: extra.tags ?? [],
    expiresAt: extra.expiresAt ?? null,
    indexText: `${key}\n${text}`,
    now: extra.now ?? NOW,
  };
}

// Full-text searches rank over an in-process index of each table; these tests change the database
// behind the index's back (another connection, as another process would; cascades) and check that
// it catches up, and that it answers as FTS5 does.
describe('full-text search index stays current', () => {
  const cleanups: Array<() => void> = [];
  afterEach(() => {
    for (const cleanup of cleanups.splice(0).reverse()) cleanup();
  });

  const twoConnections = () => twoMemoryConnections(cleanups);

  /** A kv store that searches, over one connection, and one that writes, over another. */
  const readerAndWriter = () => {
    const [first, second] = twoConnections();
    return { reader: new SqliteKvStore(first), writer: new SqliteKvStore(second), writerDatabase: second };
  };

  const keysOf = async (store: SqliteKvStore, query: string, extra: { tags?: string[]; namespace?: string; now?: number; limit?: number } = {}) => {
    const hits = await store.searchText({ tenant: 'default', query, limit: extra.limit ?? 10, now: extra.now ?? NOW, namespace: extra.namespace, tags: extra.tags });
    const items = await store.getByIds('default', hits.map((hit) => hit.id), 0);
    const byId = new Map(items.map((item) => [item.id, item.key]));
    return hits.map((hit) => byId.get(hit.id));
  };

  it('answers from FTS5 until the index is built, then identically from the index', async () => {
    const [first] = twoConnections();
    const store = new SqliteKvStore(first);
    for (const [key, text] of [
      ['a', 'pottery class on sunday'],
      ['b', 'pottery pottery pottery'],
      ['c', 'a class about painting sunsets'],
      ['d', 'the lake at sunrise'],
    ] as const) {
      await store.put(put(key, text));
    }
    const fromSqlite = await keysOf(store, 'pottery class');
    await store.textIndexReady();
    expect(await keysOf(store, 'pottery class')).toEqual(fromSqlite);
    expect(fromSqlite).toEqual(['a', 'b', 'c']);
  });

  it('sees items another connection adds, re-texts, expires and deletes', async () => {
    const { reader, writer } = readerAndWriter();
    await writer.put(put('garden', 'tomatoes in the garden'));
    await reader.textIndexReady();
    expect(await keysOf(reader, 'tomatoes')).toEqual(['garden']);

    await writer.put(put('lake', 'a walk by the lake'));
    await writer.put(put('garden', 'roses now, no vegetables'));
    expect(await keysOf(reader, 'tomatoes')).toEqual([]);
    expect(await keysOf(reader, 'roses lake')).toEqual(expect.arrayContaining(['garden', 'lake']));

    // An update that only sets an expiry (same text) still reaches the index.
    await writer.put(put('lake', 'a walk by the lake', { expiresAt: NOW + 1000 }));
    expect(await keysOf(reader, 'lake', { now: NOW + 10 })).toEqual(['lake']);
    expect(await keysOf(reader, 'lake', { now: NOW + 5000 })).toEqual([]);

    await writer.delete('default', 'default', 'garden', NOW);
    expect(await keysOf(reader, 'roses')).toEqual([]);
    expect(await writer.deleteTenant('default')).toBe(1);
    expect(await keysOf(reader, 'lake walk')).toEqual([]);
  });

  it('keeps namespaces apart and widens a tag-filtered search until it finds enough tagged items', async () => {
    const [first] = twoConnections();
    const store = new SqliteKvStore(first);
    // Ten untagged items outrank the tagged ones (the query word is their whole text).
    for (let index = 0; index < 10; index += 1) await store.put(put(`plain${index}`, 'sunrise'));
    await store.put(put('tagged1', 'sunrise over a long and winding mountain road', { tags: ['trip'] }));
    await store.put(put('tagged2', 'sunrise again over the same long winding road', { tags: ['trip'] }));
    await store.put(put('elsewhere', 'sunrise', { namespace: 'other' }));
    await store.textIndexReady();
    expect(await keysOf(store, 'sunrise', { tags: ['trip'], limit: 2 })).toEqual(['tagged1', 'tagged2']);
    expect(await keysOf(store, 'sunrise', { namespace: 'other' })).toEqual(['elsewhere']);
    expect(await keysOf(store, 'sunrise', { limit: 100 })).toHaveLength(13);
  });

  it('sees messages another connection adds, and their removal when the conversation is deleted', async () => {
    const [first, second] = twoConnections();
    const reader = new SqliteConversationStore(first);
    const writer = new SqliteConversationStore(second);
    await reader.textIndexReady();
    const conversation = await writer.create({ tenant: 'default', id: 'c1', title: null, metadataJson: '{}', now: NOW });
    const add = (id: string, content: string, contextText: string | null, timestamp: number) =>
      writer.addMessage({ tenant: 'default', conversationId: conversation.id, id, role: 'user', name: null, content, metadataJson: '{}', timestamp, indexText: content, contextText, now: NOW });
    await add('m1', 'we adopted a dog', null, NOW);
    await add('m2', 'what breed is it?', 'we adopted a dog', NOW + 1000);
    const seqs = async (query: string, extra: { from?: number } = {}) =>
      (await reader.searchText({ tenant: 'default', query, limit: 10, ...extra })).map((hit) => hit.id);
    // m2 matches through its context field, below m1 which says it itself.
    const [m1, m2] = await seqs('adopted dog');
    expect([m1, m2].every((seq) => typeof seq === 'number')).toBe(true);
    expect(await seqs('adopted dog', { from: NOW + 500 })).toEqual([m2]);
    // The date words of a message are part of its context.
    expect(await seqs('January 2026')).toHaveLength(2);
    expect(await writer.delete('default', conversation.id)).toBe(true);
    expect(await seqs('adopted dog')).toEqual([]);
  });

  it('follows a long run of its own writes (longer than the journal keeps) without a rebuild', async () => {
    const [first] = twoConnections();
    const store = new SqliteKvStore(first);
    expect(store.textIndexState()).toBe('cold');
    await store.put(put('seed', 'the first note'));
    await store.textIndexReady();
    for (let index = 0; index <= JOURNAL_KEEP; index += 1) await store.put(put(`k${index}`, `filler ${index}`));
    expect(await keysOf(store, 'first note')).toEqual(['seed']);
    // Without catching up after each write, that search would have found its entries trimmed and started a rebuild.
    expect(store.textIndexState()).toBe('ready');
    expect(await keysOf(store, 'filler 20000')).toContain('k20000');
  });

  it('rebuilds an index that fell behind the trimmed part of the journal, answering from FTS5 meanwhile', async () => {
    const { reader, writer, writerDatabase: second } = readerAndWriter();
    await writer.put(put('old', 'an old forgotten note'));
    await reader.textIndexReady();
    expect(await keysOf(reader, 'forgotten')).toEqual(['old']);
    // More changes than the journal keeps, in one transaction (the triggers journal each row).
    await second.write((db) => {
      const insert = db.prepare("INSERT INTO kv_items (key, value, index_text, created_at, updated_at) VALUES (?, '\"x\"', ?, 0, 0) RETURNING id");
      const terms = db.prepare('INSERT INTO kv_fts (rowid, terms) VALUES (?, ?)');
      for (let index = 0; index <= JOURNAL_KEEP; index += 1) {
        const text = index === JOURNAL_KEEP ? 'a forgotten umbrella' : `filler ${index}`;
        const { id } = insert.get(`bulk${index}`, text) as { id: number };
        terms.run(id, indexTerms(text));
      }
    });
    await writer.put(put('trim', 'trims the journal'));
    const oldest = second.read((db) => db.prepare('SELECT min(seq) AS seq FROM kv_items_text_journal').get()) as { seq: number };
    expect(oldest.seq).toBeGreaterThan(2);
    // The first search notices the gap and starts a rebuild; FTS5 answers it.
    expect(await keysOf(reader, 'forgotten')).toEqual(expect.arrayContaining(['old', 'bulk20000']));
    expect(reader.textIndexState()).toBe('building');
    await reader.textIndexReady();
    expect(await keysOf(reader, 'forgotten')).toEqual(expect.arrayContaining(['old', 'bulk20000']));
    expect(await keysOf(reader, 'filler 12345')).toContain('bulk12345');
  });
});
