import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestRuntime, tempDir, type TestRuntime } from '../support/runtime.js';
import { TrigramEmbedder } from '../support/trigram-embedder.js';

const harnesses: TestRuntime[] = [];
const cleanups: Array<() => void> = [];
afterEach(async () => {
  for (const harness of harnesses.splice(0)) await harness.close();
  for (const cleanup of cleanups.splice(0)) cleanup();
});

async function start(options: { embedder?: TrigramEmbedder | null; dataDir?: string } = {}): Promise<TestRuntime> {
  const harness = await startTestRuntime(options.dataDir === undefined ? {} : { data_dir: options.dataDir }, {
    runtime: { embedder: options.embedder === undefined ? new TrigramEmbedder() : options.embedder },
  });
  harnesses.push(harness);
  return harness;
}

async function call(harness: TestRuntime, name: string, args: Record<string, unknown>): Promise<Record<string, unknown>> {
  const result = (await harness.client.callTool({ name, arguments: args })) as CallToolResult;
  if (result.isError === true) throw new Error(`${name} failed: ${JSON.stringify(result.structuredContent)}`);
  return result.structuredContent as Record<string, unknown>;
}

async function errorCode(harness: TestRuntime, name: string, args: Record<string, unknown>): Promise<string> {
  const result = (await harness.client.callTool({ name, arguments: args })) as CallToolResult;
  expect(result.isError).toBe(true);
  return (result.structuredContent as { code: string }).code;
}

interface Hit {
  kind: string;
  key?: string;
  content?: string;
  score: number;
  snippet: string;
}

async function search(harness: TestRuntime, args: Record<string, unknown>): Promise<{ hits: Hit[]; status: { state: string; stale_vectors: number; stale_embedders: string[]; pending: number; embedder: string | null } }> {
  const result = await call(harness, 'memory.search', args);
  return { hits: result['results'] as Hit[], status: result['status'] as never };
}

const labels = (hits: Hit[]): string[] => hits.map((hit) => hit.key ?? hit.content ?? '?');

async function seed(harness: TestRuntime): Promise<void> {
  await call(harness, 'memory.store', { key: 'door-policy', value: 'Always greet guests warmly at the door', tags: ['policy'] });
  await call(harness, 'memory.store', { key: 'quarterly', value: { title: 'Quarterly tax report', body: 'numbers and spreadsheets' }, namespace: 'work' });
  const conversation = await call(harness, 'memory.conversation.create', { title: 'deliveries' });
  await call(harness, 'memory.conversation.add', { conversation_id: conversation['conversation_id'], role: 'user', content: 'The parcel was received yesterday afternoon' });
  await harness.runtime.memory.flushEmbeddings();
}

describe('memory.search modes', () => {
  it('fulltext matches words (stemmed); semantic matches what words alone miss; hybrid gets both', async () => {
    const harness = await start();
    await seed(harness);
    // "guests" is a word of the policy; "recieved" is a misspelling no stemmer maps to "received".
    const fulltext = await search(harness, { query: 'recieved guests', mode: 'fulltext' });
    expect(labels(fulltext.hits)).toEqual(['door-policy']);
    expect(fulltext.hits[0]).toMatchObject({ kind: 'kv', snippet: expect.stringContaining('guests') });
    const semantic = await search(harness, { query: 'recieved', mode: 'semantic' });
    expect(labels(semantic.hits)[0]).toBe('The parcel was received yesterday afternoon');
    expect(semantic.hits[0]?.score).toBeGreaterThan(0);
    expect(semantic.hits[0]?.score).toBeLessThanOrEqual(1);
    const hybrid = await search(harness, { query: 'recieved guests', mode: 'hybrid' });
    expect(new Set(labels(hybrid.hits).slice(0, 2))).toEqual(new Set(['door-policy', 'The parcel was received yesterday afternoon']));
    expect(hybrid.status).toMatchObject({ state: 'ready', embedder: 'test-trigram@1', stale_vectors: 0 });
  });

  it('applies scope, namespace, tags and k in every mode', async () => {
    const harness = await start();
    await seed(harness);
    for (const mode of ['fulltext', 'semantic', 'hybrid']) {
      expect(labels((await search(harness, { query: 'quarterly tax report', mode, scope: 'kv', namespace: 'work' })).hits)).toEqual(['quarterly']);
      expect((await search(harness, { query: 'quarterly tax report', mode, namespace: 'nowhere', scope: 'kv' })).hits).toEqual([]);
      expect(labels((await search(harness, { query: 'greet guests warmly', mode, scope: 'kv', tags: ['policy'] })).hits)).toEqual(['door-policy']);
      expect((await search(harness, { query: 'greet guests warmly', mode, tags: ['missing'], scope: 'kv' })).hits).toEqual([]);
      expect((await search(harness, { query: 'parcel received', mode, scope: 'messages' })).hits.every((hit) => hit.kind === 'message')).toBe(true);
      expect((await search(harness, { query: 'parcel received guests tax', mode, k: 1 })).hits).toHaveLength(1);
    }
  });

  it('stores return before embedding; full text sees the item at once, semantic search once it is embedded', async () => {
    const embedder = new TrigramEmbedder();
    const harness = await start({ embedder });
    const release = embedder.hold();
    await call(harness, 'memory.store', { key: 'later', value: 'photosynthesis in green leaves' });
    const pending = await search(harness, { query: 'photosynthesis', mode: 'fulltext' });
    expect(labels(pending.hits)).toEqual(['later']);
    expect(pending.status).toMatchObject({ state: 'indexing' });
    expect(pending.status.pending).toBeGreaterThan(0);
    release();
    await harness.runtime.memory.flushEmbeddings();
    const embedded = await search(harness, { query: 'photosynthesis', mode: 'semantic' });
    expect(labels(embedded.hits)).toEqual(['later']);
    expect(embedded.status).toMatchObject({ state: 'ready', pending: 0 });
  });

  it('re-embeds an item whose text changed and forgets deleted ones', async () => {
    const harness = await start();
    await call(harness, 'memory.store', { key: 'topic', value: 'astronomy telescopes' });
    await harness.runtime.memory.flushEmbeddings();
    await call(harness, 'memory.store', { key: 'topic', value: 'gardening tomatoes' });
    await harness.runtime.memory.flushEmbeddings();
    expect(labels((await search(harness, { query: 'tomatoes', mode: 'semantic' })).hits)).toEqual(['topic']);
    const stale = (await search(harness, { query: 'telescopes', mode: 'semantic' })).hits;
    expect(stale.every((hit) => hit.snippet.includes('tomatoes'))).toBe(true);
    await call(harness, 'memory.delete', { key: 'topic' });
    expect((await search(harness, { query: 'tomatoes', mode: 'semantic' })).hits).toEqual([]);
    expect(harness.runtime.database.read((db) => db.prepare('SELECT COUNT(*) AS n FROM embeddings').get())).toEqual({ n: 0 });
  });

  it('detects a changed embedder, never mixes its vectors, and reindexes', async () => {
    const folder = tempDir('nexus-embedder-change-');
    cleanups.push(() => folder.remove());
    const first = await start({ dataDir: folder.dir, embedder: new TrigramEmbedder({ id: 'test-trigram@1' }) });
    await seed(first);
    await first.close();
    harnesses.splice(harnesses.indexOf(first), 1);

    // Same dimensions, different model: its vectors must not be compared with the old ones.
    const second = await start({ dataDir: folder.dir, embedder: new TrigramEmbedder({ id: 'test-trigram@2' }) });
    const before = await search(second, { query: 'recieved', mode: 'semantic' });
    expect(before.hits).toEqual([]);
    expect(before.status).toMatchObject({ state: 'embedder_changed', stale_vectors: 3, stale_embedders: ['test-trigram@1'], embedder: 'test-trigram@2' });
    expect((await search(second, { query: 'greet guests', mode: 'hybrid' })).hits.length).toBeGreaterThan(0);
    const report = await second.runtime.memory.reindex();
    expect(report).toEqual({ removed: 3, embedded: 3, embedder: 'test-trigram@2' });
    const after = await search(second, { query: 'recieved', mode: 'semantic' });
    expect(labels(after.hits)[0]).toBe('The parcel was received yesterday afternoon');
    expect(after.status).toMatchObject({ state: 'ready', stale_vectors: 0 });
  });

  it('works with full text alone when no embedder is configured, and says so', async () => {
    const harness = await start({ embedder: null });
    await seed(harness);
    const hybrid = await search(harness, { query: 'guests', mode: 'hybrid' });
    expect(labels(hybrid.hits)).toEqual(['door-policy']);
    expect(hybrid.status).toMatchObject({ state: 'unavailable', embedder: null });
    expect(await errorCode(harness, 'memory.search', { query: 'guests', mode: 'semantic' })).toBe('EMBEDDER_UNAVAILABLE');
    expect(await errorCode(harness, 'memory.embed', { text: 'hello' })).toBe('EMBEDDER_UNAVAILABLE');
  });
});

describe('memory.embed', () => {
  it('returns one normalised vector per text with the embedder id and dimensions', async () => {
    const harness = await start();
    const one = await call(harness, 'memory.embed', { text: 'hello world' });
    expect(one).toMatchObject({ embedder: 'test-trigram@1', dimensions: 256, count: 1 });
    const [embedding] = one['embeddings'] as Array<{ index: number; embedding: number[]; dimensions: number }>;
    expect(embedding?.embedding).toHaveLength(256);
    expect(Math.hypot(...(embedding?.embedding ?? []))).toBeCloseTo(1, 5);
    const many = await call(harness, 'memory.embed', { texts: ['alpha', 'beta', 'alpha'] });
    const vectors = (many['embeddings'] as Array<{ index: number; embedding: number[] }>).map((entry) => entry.embedding);
    expect(many['count']).toBe(3);
    expect(vectors[0]).toEqual(vectors[2]);
    expect(vectors[0]).not.toEqual(vectors[1]);
    expect(await errorCode(harness, 'memory.embed', { text: 'a', texts: ['b'] })).toBe('INVALID_ARGUMENTS');
    expect(await errorCode(harness, 'memory.embed', {})).toBe('INVALID_ARGUMENTS');
  });
});
