import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/auth/clock.js';
import { localPrincipal } from '../../src/auth/principal.js';
import { startTestRuntime, type TestRuntime } from '../support/runtime.js';
import { TrigramEmbedder } from '../support/trigram-embedder.js';

let harness: TestRuntime | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

async function start(options: { clock?: ManualClock; embedder?: TrigramEmbedder | null; config?: Record<string, unknown> } = {}): Promise<TestRuntime> {
  harness = await startTestRuntime(options.config ?? {}, {
    runtime: { embedder: options.embedder === undefined ? new TrigramEmbedder() : options.embedder, ...(options.clock ? { clock: options.clock } : {}) },
  });
  return harness;
}

async function call(name: string, args: Record<string, unknown>): Promise<Record<string, unknown>> {
  const result = (await harness!.client.callTool({ name, arguments: args })) as CallToolResult;
  if (result.isError === true) throw new Error(`${name} failed: ${JSON.stringify(result.structuredContent)}`);
  return result.structuredContent as Record<string, unknown>;
}

async function failure(name: string, args: Record<string, unknown>): Promise<{ code: string; message: string }> {
  const result = (await harness!.client.callTool({ name, arguments: args })) as CallToolResult;
  expect(result.isError).toBe(true);
  return result.structuredContent as { code: string; message: string };
}

describe('memory.* key-value tools', () => {
  it('keeps the original names, arguments and output fields', async () => {
    await start();
    expect(await call('memory.store', { key: 'color', value: { favorite: 'blue', shades: [1, 2] } })).toMatchObject({ success: true, key: 'color', stored: true, created: true });
    const recalled = await call('memory.recall', { key: 'color' });
    expect(recalled).toMatchObject({ found: true, key: 'color', value: { favorite: 'blue', shades: [1, 2] } });
    expect(Date.parse(String(recalled['created_at']))).not.toBeNaN();
    expect(await call('memory.list', {})).toMatchObject({ keys: ['color'], count: 1 });
    expect(await call('memory.delete', { key: 'color' })).toMatchObject({ success: true, key: 'color', deleted: true });
    expect(await call('memory.delete', { key: 'color' })).toMatchObject({ success: true, deleted: false });
    expect(await call('memory.recall', { key: 'color' })).toEqual({ found: false, key: 'color', namespace: 'default' });
  });

  it('expires items after ttl_secs and sweeps them', async () => {
    const clock = new ManualClock();
    await start({ clock });
    await call('memory.store', { key: 'session', value: 'short-lived', ttl_secs: 60 });
    await call('memory.store', { key: 'forever', value: 'stays' });
    expect(await call('memory.recall', { key: 'session' })).toMatchObject({ found: true, expires_at: new Date(clock.now() + 60_000).toISOString() });
    clock.advance(59_999);
    expect(await call('memory.recall', { key: 'session' })).toMatchObject({ found: true });
    clock.advance(1);
    expect(await call('memory.recall', { key: 'session' })).toMatchObject({ found: false });
    expect(await call('memory.list', {})).toMatchObject({ keys: ['forever'] });
    expect(await call('memory.search', { query: 'short-lived', mode: 'fulltext' })).toMatchObject({ count: 0 });
    expect(await harness!.runtime.memory.sweepExpired()).toBe(1);
    const rows = harness!.runtime.database.read((db) => db.prepare('SELECT key FROM kv_items').all());
    expect(rows).toEqual([{ key: 'forever' }]);
  });

  it('separates namespaces, filters by tags and prefix, and pages with a cursor', async () => {
    await start();
    for (let index = 0; index < 25; index += 1) {
      await call('memory.store', { key: `note:${String(index).padStart(2, '0')}`, value: index, namespace: 'notes', tags: index % 2 === 0 ? ['even'] : ['odd'] });
    }
    await call('memory.store', { key: 'note:00', value: 'other namespace' });
    await call('memory.store', { key: 'note_%', value: 'wildcards are text', namespace: 'notes' });
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await call('memory.list', { namespace: 'notes', prefix: 'note:', limit: 10, ...(cursor ? { cursor } : {}) });
      seen.push(...(page['keys'] as string[]));
      cursor = page['next_cursor'] as string | undefined;
    } while (cursor !== undefined);
    expect(seen).toHaveLength(25);
    expect(seen).toEqual([...seen].sort());
    expect(await call('memory.list', { namespace: 'notes', prefix: 'note_' })).toMatchObject({ keys: ['note_%'] });
    expect(await call('memory.list', { namespace: 'notes', prefix: 'note%' })).toMatchObject({ keys: [] });
    const even = await call('memory.list', { namespace: 'notes', tags: ['even'], limit: 1000 });
    expect(even['count']).toBe(13);
    expect(await call('memory.recall', { key: 'note:00' })).toMatchObject({ value: 'other namespace' });
    expect(await call('memory.recall', { key: 'note:00', namespace: 'notes' })).toMatchObject({ value: 0, tags: ['even'] });
    expect((await failure('memory.list', { namespace: 'default', cursor: (await call('memory.list', { namespace: 'notes', limit: 1 }))['next_cursor'] })).code).toBe('INVALID_CURSOR');
  });

  it('keeps tenants apart', async () => {
    await start();
    await harness!.runtime.callTool('memory.store', { key: 'secret', value: 'acme only' }, localPrincipal('acme'));
    expect(await call('memory.recall', { key: 'secret' })).toMatchObject({ found: false });
    const acme = await harness!.runtime.callTool('memory.recall', { key: 'secret' }, localPrincipal('acme'));
    expect(acme.structuredContent).toMatchObject({ found: true, value: 'acme only' });
  });

  it('enforces storage quotas before writing and deletes a tenant\'s memory with the tenant', async () => {
    await start({ config: { tenants: { acme: { quotas: { memory_items: 2 } } } } });
    await harness!.runtime.auth.tenants.create('acme');
    const acme = localPrincipal('acme');
    const store = (key: string) => harness!.runtime.callTool('memory.store', { key, value: `value ${key}` }, acme);
    expect((await store('one')).isError).toBeUndefined();
    expect((await store('two')).isError).toBeUndefined();
    // Replacing an item adds no item; a third one is refused and nothing is written.
    expect((await store('two')).isError).toBeUndefined();
    expect((await store('three')).structuredContent).toMatchObject({ code: 'QUOTA_EXCEEDED' });
    expect((await harness!.runtime.callTool('memory.list', {}, acme)).structuredContent).toMatchObject({ keys: ['one', 'two'] });
    await call('memory.store', { key: 'mine', value: 'default tenant, no quota' });
    const removed = await harness!.runtime.auth.tenants.delete('acme');
    expect(removed['memory']).toBe(2);
    expect(harness!.runtime.database.read((db) => db.prepare('SELECT tenant, key FROM kv_items').all())).toEqual([{ tenant: 'default', key: 'mine' }]);
  });

  it('never shows internal records among user keys', async () => {
    await start();
    await call('memory.store', { key: 'mine', value: 'a user value with words' });
    const conversation = await call('memory.conversation.create', { title: 'chat' });
    await call('memory.conversation.add', { conversation_id: conversation['conversation_id'], role: 'user', content: 'hello' });
    await harness!.runtime.memory.flushEmbeddings();
    expect(await call('memory.list', {})).toMatchObject({ keys: ['mine'], count: 1 });
  });

  it('answers hostile values with coded errors and leaves stored data intact', async () => {
    await start({ config: { memory: { max_value_bytes: 1024 * 1024 } } });
    await call('memory.store', { key: 'victim', value: { safe: true } });
    const tooBig = await failure('memory.store', { key: 'victim', value: 'x'.repeat(10 * 1024 * 1024) });
    expect(tooBig.code).toBe('VALUE_TOO_LARGE');
    expect((await failure('memory.store', { key: 'victim', value: { text: 'broken \ud800 half' } })).code).toBe('INVALID_VALUE');
    expect((await failure('memory.store', { key: 'bad\udc00key', value: 1 })).code).toBe('INVALID_VALUE');
    let deep: unknown = 'bottom';
    for (let level = 0; level < 10_000; level += 1) deep = [deep];
    expect((await failure('memory.store', { key: 'victim', value: deep })).code).toBe('INVALID_VALUE');
    for (const value of [Number.NaN, Number.POSITIVE_INFINITY, { nested: [Number.NEGATIVE_INFINITY] }]) {
      const result = await harness!.runtime.callTool('memory.store', { key: 'victim', value });
      expect(result.structuredContent).toMatchObject({ code: 'INVALID_VALUE' });
    }
    const conversation = await call('memory.conversation.create', {});
    expect((await failure('memory.conversation.add', { conversation_id: conversation['conversation_id'], role: 'user', content: 'y'.repeat(2 * 1024 * 1024) })).code).toBe('VALUE_TOO_LARGE');
    expect((await failure('memory.conversation.add', { conversation_id: conversation['conversation_id'], role: 'user', content: '\ud83d' })).code).toBe('INVALID_VALUE');
    expect(await call('memory.recall', { key: 'victim' })).toMatchObject({ found: true, value: { safe: true } });
    expect(await call('memory.list', {})).toMatchObject({ keys: ['victim'] });
    expect(await call('memory.conversation.get', { conversation_id: conversation['conversation_id'] })).toMatchObject({ count: 0 });
  });
});

describe('memory.conversation.* tools', () => {
  it('runs a conversation through its whole life', async () => {
    await start();
    const created = await call('memory.conversation.create', { title: 'Trip planning', metadata: { channel: 'chat' } });
    const id = created['conversation_id'] as string;
    expect(created).toMatchObject({ success: true, title: 'Trip planning', metadata: { channel: 'chat' } });
    const base = Date.UTC(2023, 4, 8, 13, 56);
    for (let index = 0; index < 12; index += 1) {
      await call('memory.conversation.add', {
        conversation_id: id,
        role: index % 2 === 0 ? 'user' : 'assistant',
        name: index % 2 === 0 ? 'Caroline' : 'Nexus',
        content: `turn ${index}`,
        timestamp: new Date(base + index * 60_000).toISOString(),
        metadata: { turn: index },
      });
    }
    const latest = await call('memory.conversation.get', { conversation_id: id, limit: 5 });
    expect((latest['messages'] as Array<{ content: string }>).map((message) => message.content)).toEqual(['turn 7', 'turn 8', 'turn 9', 'turn 10', 'turn 11']);
    expect(latest).toMatchObject({ message_count: 12, count: 5, title: 'Trip planning' });
    expect(latest['after_cursor']).toBeUndefined();
    const older = await call('memory.conversation.get', { conversation_id: id, limit: 5, before: latest['before_cursor'] });
    expect((older['messages'] as Array<{ content: string; name: string; timestamp: string; metadata: unknown }>)[0]).toMatchObject({
      content: 'turn 2',
      name: 'Caroline',
      timestamp: new Date(base + 2 * 60_000).toISOString(),
      metadata: { turn: 2 },
    });
    const forward = await call('memory.conversation.get', { conversation_id: id, limit: 3, after: older['before_cursor'] });
    expect((forward['messages'] as Array<{ content: string }>).map((message) => message.content)).toEqual(['turn 3', 'turn 4', 'turn 5']);
    const listed = await call('memory.conversation.list', {});
    expect(listed).toMatchObject({ count: 1, conversations: [{ id, title: 'Trip planning', message_count: 12 }] });
    expect(await call('memory.conversation.delete', { conversation_id: id })).toMatchObject({ deleted: true });
    expect(await call('memory.conversation.delete', { conversation_id: id })).toMatchObject({ deleted: false });
    expect((await failure('memory.conversation.get', { conversation_id: id })).code).toBe('CONVERSATION_NOT_FOUND');
    expect((await failure('memory.conversation.add', { conversation_id: id, role: 'user', content: 'late' })).code).toBe('CONVERSATION_NOT_FOUND');
  });

  it('pages the conversation list with a cursor', async () => {
    const clock = new ManualClock();
    await start({ clock });
    for (let index = 0; index < 5; index += 1) {
      await call('memory.conversation.create', { title: `c${index}` });
      clock.advance(1000);
    }
    const first = await call('memory.conversation.list', { limit: 3 });
    expect((first['conversations'] as Array<{ title: string }>).map((entry) => entry.title)).toEqual(['c4', 'c3', 'c2']);
    const second = await call('memory.conversation.list', { limit: 3, cursor: first['next_cursor'] });
    expect((second['conversations'] as Array<{ title: string }>).map((entry) => entry.title)).toEqual(['c1', 'c0']);
    expect(second['next_cursor']).toBeUndefined();
  });

  it('serves the original conversation.* names as aliases', async () => {
    await start();
    const created = await call('conversation.create', { title: 'legacy' });
    const added = await call('conversation.add', { conversation_id: created['conversation_id'], role: 'user', content: 'the original API still works' });
    expect(added).toMatchObject({ success: true, conversation_id: created['conversation_id'] });
    expect(await call('conversation.get', { conversation_id: created['conversation_id'] })).toMatchObject({ count: 1, messages: [{ id: added['message_id'], role: 'user' }] });
    expect(await call('conversation.list', {})).toMatchObject({ count: 1 });
    const found = await call('conversation.search', { query: 'original API', mode: 'fulltext' });
    expect(found).toMatchObject({ count: 1, results: [{ message_id: added['message_id'], conversation_id: created['conversation_id'], role: 'user' }] });
  });

  it('searches messages by conversation and time range, with scores and snippets', async () => {
    await start();
    const trip = (await call('memory.conversation.create', { title: 'trip' }))['conversation_id'];
    const pets = (await call('memory.conversation.create', { title: 'pets' }))['conversation_id'];
    await call('memory.conversation.add', { conversation_id: trip, role: 'user', name: 'Mel', content: 'We hiked the mountain trail near the lake', timestamp: '2023-05-01T10:00:00Z' });
    await call('memory.conversation.add', { conversation_id: pets, role: 'user', content: 'My dog loves the lake trail too', timestamp: '2023-06-01T10:00:00Z', metadata: { source: 'app' } });
    await call('memory.conversation.add', { conversation_id: trip, role: 'user', content: 'Photo attached', timestamp: '2023-07-01T10:00:00Z', metadata: { caption: 'a sunset over the lake' } });
    const all = await call('memory.conversation.search', { query: 'lake trail', mode: 'fulltext' });
    expect(all['count']).toBe(3);
    const results = all['results'] as Array<{ id: string; conversation_id: string; role: string; name: string | null; timestamp: string; score: number; snippet: string; metadata: object }>;
    expect(results[0]?.score).toBeGreaterThanOrEqual(results[1]?.score ?? 0);
    expect(results.find((hit) => hit.conversation_id === pets)).toMatchObject({ metadata: { source: 'app' }, snippet: 'My dog loves the lake trail too', name: null });
    expect(await call('memory.conversation.search', { query: 'lake', conversation_id: pets, mode: 'fulltext' })).toMatchObject({ count: 1 });
    const june = await call('memory.conversation.search', { query: 'lake', from: '2023-05-15T00:00:00Z', to: Date.UTC(2023, 6, 15) / 1000, mode: 'fulltext' });
    expect((june['results'] as Array<{ timestamp: string }>).map((hit) => hit.timestamp).sort()).toEqual(['2023-06-01T10:00:00.000Z', '2023-07-01T10:00:00.000Z']);
    // The caption in metadata is what made the photo message findable.
    expect(await call('memory.conversation.search', { query: 'sunset', mode: 'fulltext' })).toMatchObject({ count: 1, results: [{ content: 'Photo attached' }] });
  });
});
