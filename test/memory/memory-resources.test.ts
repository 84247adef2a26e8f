import { ResourceUpdatedNotificationSchema, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, describe, expect, it } from 'vitest';
import { localPrincipal } from '../../src/auth/principal.js';
import { conversationUri, memoryUri } from '../../src/memory/memory-service.js';
import { startTestRuntime, type TestRuntime } from '../support/runtime.js';
import { TrigramEmbedder } from '../support/trigram-embedder.js';

let harness: TestRuntime | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

/** Collects notifications/resources/updated and lets a test wait for a given URI. */
function updates(test: TestRuntime): { next(uri: string): Promise<void>; seen: string[] } {
  const seen: string[] = [];
  const waiters: Array<{ uri: string; resolve: () => void }> = [];
  test.client.setNotificationHandler(ResourceUpdatedNotificationSchema, (notification) => {
    seen.push(notification.params.uri);
    for (const waiter of waiters.filter((entry) => entry.uri === notification.params.uri)) waiter.resolve();
  });
  return { seen, next: (uri) => new Promise((resolve) => waiters.push({ uri, resolve })) };
}

async function call(name: string, args: Record<string, unknown>): Promise<Record<string, unknown>> {
  const result = (await harness!.client.callTool({ name, arguments: args })) as CallToolResult;
  if (result.isError === true) throw new Error(`${name} failed: ${JSON.stringify(result.structuredContent)}`);
  return result.structuredContent as Record<string, unknown>;
}

async function readJson(uri: string): Promise<Record<string, unknown>> {
  const { contents } = await harness!.client.readResource({ uri });
  expect(contents[0]).toMatchObject({ uri, mimeType: 'application/json' });
  const text = contents[0] && 'text' in contents[0] ? contents[0].text : '';
  return JSON.parse(String(text)) as Record<string, unknown>;
}

describe('memory as MCP resources', () => {
  it('offers the templates and reads items and conversations as JSON', async () => {
    harness = await startTestRuntime({}, { runtime: { embedder: new TrigramEmbedder() } });
    const { resourceTemplates } = await harness.client.listResourceTemplates();
    expect(resourceTemplates.map((template) => template.uriTemplate)).toEqual(expect.arrayContaining(['nexus://memory/{namespace}/{key}', 'nexus://conversations/{id}']));
    await call('memory.store', { key: 'path/with spaces,and%', value: { deep: ['x'] }, namespace: 'my ns', tags: ['t'] });
    const uri = memoryUri('my ns', 'path/with spaces,and%');
    expect(uri).toBe('nexus://memory/my%20ns/path%2Fwith%20spaces%2Cand%25');
    expect(await readJson(uri)).toMatchObject({ namespace: 'my ns', key: 'path/with spaces,and%', value: { deep: ['x'] }, tags: ['t'], expires_at: null });
    const conversation = await call('memory.conversation.create', { title: 'Resource view' });
    const id = String(conversation['conversation_id']);
    await call('memory.conversation.add', { conversation_id: id, role: 'user', content: 'first' });
    await call('memory.conversation.add', { conversation_id: id, role: 'assistant', content: 'second' });
    const read = await readJson(conversationUri(id));
    expect(read).toMatchObject({ conversation: { id, title: 'Resource view', message_count: 2 }, messages: [{ content: 'first' }, { content: 'second' }] });
    const { resources } = await harness.client.listResources();
    expect(resources.map((resource) => resource.uri)).toEqual(expect.arrayContaining([conversationUri(id)]));
    await expect(harness.client.readResource({ uri: memoryUri('default', 'missing') })).rejects.toMatchObject({ code: -32002 });
    await expect(harness.client.readResource({ uri: 'nexus://memory/default/%E0%A4%A' })).rejects.toMatchObject({ code: -32002 });
  });

  it('notifies subscribers when an item or a conversation changes, and only them', async () => {
    harness = await startTestRuntime({}, { runtime: { embedder: new TrigramEmbedder() } });
    const received = updates(harness);
    const itemUri = memoryUri('default', 'watched');
    await harness.client.subscribeResource({ uri: itemUri });
    const stored = received.next(itemUri);
    await call('memory.store', { key: 'watched', value: 1 });
    await stored;
    const deleted = received.next(itemUri);
    await call('memory.store', { key: 'unwatched', value: 2 });
    await call('memory.delete', { key: 'watched' });
    await deleted;
    expect(received.seen).toEqual([itemUri, itemUri]);

    const conversation = await call('memory.conversation.create', {});
    const uri = conversationUri(String(conversation['conversation_id']));
    await harness.client.subscribeResource({ uri });
    const added = received.next(uri);
    await call('memory.conversation.add', { conversation_id: conversation['conversation_id'], role: 'user', content: 'ping' });
    await added;

    // A write by another tenant to the same key does not reach this (default-tenant) session.
    // The conversation update afterwards is a barrier: notifications arrive in order.
    await harness.runtime.callTool('memory.store', { key: 'watched', value: 'acme' }, localPrincipal('acme'));
    const barrier = received.next(uri);
    await call('memory.conversation.add', { conversation_id: conversation['conversation_id'], role: 'user', content: 'pong' });
    await barrier;
    expect(received.seen).toEqual([itemUri, itemUri, uri, uri]);
  });
});
