import { afterEach, describe, expect, it } from 'vitest';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { ResourceUpdatedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import type { NexusConfigInput } from '../../src/config/index.js';
import { connectClient, initialize, startAuthHarness, type AuthHarness } from '../support/auth-http.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** The structured content of a successful call (the test fails on a tool error, showing it). */
function data(result: Awaited<ReturnType<Client['callTool']>>): Record<string, unknown> {
  expect(result.isError, JSON.stringify(result.structuredContent)).toBeUndefined();
  return result.structuredContent as Record<string, unknown>;
}

/** Two tenants on one server, each with its own key and SDK client over HTTP. */
async function twoTenants(config: NexusConfigInput = {}): Promise<{ h: AuthHarness; acme: Client; globex: Client; keys: Record<string, string> }> {
  const h = await startAuthHarness(config, { runtime: { embedder: null } });
  cleanups.push(() => h.close());
  const clients: Client[] = [];
  const keys: Record<string, string> = {};
  for (const tenant of ['acme', 'globex']) {
    await h.runtime.auth.tenants.create(tenant);
    const { key } = await h.runtime.auth.keys.create({ tenant });
    keys[tenant] = key;
    const client = await connectClient(h.url, { authorization: `Bearer ${key}` });
    cleanups.push(() => client.close());
    clients.push(client);
  }
  const [acme, globex] = clients as [Client, Client];
  return { h, acme, globex, keys };
}

const WORDS = 'launch the rocket on tuesday';

describe('tenant isolation over HTTP', () => {
  it('two tenants storing the same key and searching the same words see only their own data', async () => {
    const { acme, globex } = await twoTenants();
    for (const [client, owner] of [[acme, 'acme'], [globex, 'globex']] as const) {
      data(await client.callTool({ name: 'memory.store', arguments: { key: 'plan', value: { text: `${WORDS} (${owner})`, owner } } }));
    }
    for (const [client, owner] of [[acme, 'acme'], [globex, 'globex']] as const) {
      expect(data(await client.callTool({ name: 'memory.recall', arguments: { key: 'plan' } }))).toMatchObject({ found: true, value: { owner } });
      const listed = data(await client.callTool({ name: 'memory.list', arguments: {} }));
      expect(JSON.stringify(listed)).not.toContain(owner === 'acme' ? 'globex' : 'acme');
      const found = data(await client.callTool({ name: 'memory.search', arguments: { query: 'rocket tuesday', mode: 'fulltext' } }));
      const text = JSON.stringify(found);
      expect(text).toContain(owner);
      expect(text).not.toContain(owner === 'acme' ? 'globex' : 'acme');
    }
    // Deleting in one tenant leaves the other's item alone.
    data(await acme.callTool({ name: 'memory.delete', arguments: { key: 'plan' } }));
    expect(data(await acme.callTool({ name: 'memory.recall', arguments: { key: 'plan' } }))).toMatchObject({ found: false });
    expect(data(await globex.callTool({ name: 'memory.recall', arguments: { key: 'plan' } }))).toMatchObject({ found: true });
  });

  it('conversations, resource reads and listings stay within the tenant; a foreign id looks like a missing one', async () => {
    const { acme, globex } = await twoTenants();
    const conversation = data(await acme.callTool({ name: 'memory.conversation.create', arguments: { title: 'acme secrets' } }));
    const id = String(conversation['conversation_id']);
    data(await acme.callTool({ name: 'memory.conversation.add', arguments: { conversation_id: id, role: 'user', content: WORDS } }));
    data(await acme.callTool({ name: 'memory.store', arguments: { key: 'plan', value: 'acme only' } }));

    const foreign = await globex.callTool({ name: 'memory.conversation.get', arguments: { conversation_id: id } });
    expect(foreign.structuredContent).toMatchObject({ code: 'CONVERSATION_NOT_FOUND' });
    expect(JSON.stringify(foreign)).not.toContain('acme secrets');
    const missing = await globex.callTool({ name: 'memory.conversation.get', arguments: { conversation_id: '00000000-0000-4000-8000-000000000000' } });
    expect((foreign.structuredContent as { message: string }).message.replace(id, 'ID')).toBe((missing.structuredContent as { message: string }).message.replace('00000000-0000-4000-8000-000000000000', 'ID'));
    expect(JSON.stringify(data(await globex.callTool({ name: 'memory.conversation.list', arguments: {} })))).not.toContain(id);

    expect(JSON.stringify(await acme.readResource({ uri: 'nexus://memory/default/plan' }))).toContain('acme only');
    await expect(globex.readResource({ uri: 'nexus://memory/default/plan' })).rejects.toThrow(/Resource not found/);
    await expect(globex.readResource({ uri: `nexus://conversations/${id}` })).rejects.toThrow(/Resource not found/);
    expect((await acme.listResources()).resources.map((resource) => resource.uri)).toContain('nexus://memory/default/plan');
    expect(JSON.stringify(await globex.listResources())).not.toContain('plan');
  });

  it('resource update notifications reach subscribers of the writing tenant only', async () => {
    const { acme, globex } = await twoTenants();
    const uri = 'nexus://memory/default/plan';
    const seen: Record<string, string[]> = { acme: [], globex: [] };
    const waiters: Record<string, Array<() => void>> = { acme: [], globex: [] };
    for (const [client, tenant] of [[acme, 'acme'], [globex, 'globex']] as const) {
      client.setNotificationHandler(ResourceUpdatedNotificationSchema, (notification) => {
        seen[tenant]?.push(notification.params.uri);
        waiters[tenant]?.shift()?.();
      });
      await client.subscribeResource({ uri });
    }
    const next = (tenant: string) => new Promise<void>((resolve) => waiters[tenant]?.push(resolve));
    const acmeNotified = next('acme');
    data(await acme.callTool({ name: 'memory.store', arguments: { key: 'plan', value: 'from acme' } }));
    await acmeNotified;
    // globex's own write is notified to globex; had acme's write leaked, it would have arrived first.
    const globexNotified = next('globex');
    data(await globex.callTool({ name: 'memory.store', arguments: { key: 'plan', value: 'from globex' } }));
    await globexNotified;
    expect(seen).toEqual({ acme: [uri], globex: [uri] });
  });

  it('enforces memory quotas per tenant: refused writes change nothing, replacements within the limit pass', async () => {
    const { acme, globex } = await twoTenants({ tenants: { acme: { quotas: { memory_items: 2, stored_bytes: 64 } } } });
    const store = (client: Client, key: string, value: unknown) => client.callTool({ name: 'memory.store', arguments: { key, value } });
    data(await store(acme, 'a', 'first value'));
    data(await store(acme, 'b', 'second value'));
    expect((await store(acme, 'c', 'one too many')).structuredContent).toMatchObject({ code: 'QUOTA_EXCEEDED', details: { quota: 'memory_items', limit: 2 } });
    data(await store(acme, 'a', 'replaced'));
    expect((await store(acme, 'b', 'x'.repeat(100))).structuredContent).toMatchObject({ code: 'QUOTA_EXCEEDED', details: { quota: 'stored_bytes', limit: 64 } });
    expect(data(await acme.callTool({ name: 'memory.recall', arguments: { key: 'a' } }))).toMatchObject({ value: 'replaced' });
    expect(data(await acme.callTool({ name: 'memory.recall', arguments: { key: 'b' } }))).toMatchObject({ value: 'second value' });
    expect(data(await acme.callTool({ name: 'memory.recall', arguments: { key: 'c' } }))).toMatchObject({ found: false });
    for (const key of ['a', 'b', 'c', 'd']) data(await store(globex, key, 'x'.repeat(100)));
  });

  it('deleting a tenant removes its memory, conversations, workflows, runs and keys, and nothing of the other tenant', async () => {
    const { h, acme, globex, keys } = await twoTenants();
    const greet = { name: 'greet', description: 'Greets', steps: [{ id: 'say', tool: 'echo', args: { text: 'hello {{input.who}}' } }] };
    for (const client of [acme, globex]) {
      data(await client.callTool({ name: 'memory.store', arguments: { key: 'plan', value: WORDS } }));
      const conversation = data(await client.callTool({ name: 'memory.conversation.create', arguments: { title: 'notes' } }));
      data(await client.callTool({ name: 'memory.conversation.add', arguments: { conversation_id: String(conversation['conversation_id']), role: 'user', content: WORDS } }));
      data(await client.callTool({ name: 'workflow.define', arguments: greet }));
      data(await client.callTool({ name: 'workflow.execute', arguments: { name: 'greet', input: { who: 'Ada' } } }));
    }
    const removed = await h.runtime.auth.tenants.delete('acme');
    expect(removed['api_keys']).toBe(1);
    expect(removed['memory']).toBeGreaterThanOrEqual(2);
    expect(removed['workflows']).toBe(2);
    const refused = await initialize(h.url, { authorization: `Bearer ${keys['acme']}` });
    expect(refused.status).toBe(401);
    await refused.body?.cancel();
    // A new tenant with the same id starts empty.
    await h.runtime.auth.tenants.create('acme');
    const { key } = await h.runtime.auth.keys.create({ tenant: 'acme' });
    const reborn = await connectClient(h.url, { authorization: `Bearer ${key}` });
    cleanups.push(() => reborn.close());
    expect(data(await reborn.callTool({ name: 'memory.recall', arguments: { key: 'plan' } }))).toMatchObject({ found: false });
    expect(JSON.stringify(data(await reborn.callTool({ name: 'memory.search', arguments: { query: 'rocket', mode: 'fulltext' } })))).not.toContain('tuesday');
    expect(JSON.stringify(data(await reborn.callTool({ name: 'memory.conversation.list', arguments: {} })))).not.toContain('notes');
    expect(data(await reborn.callTool({ name: 'workflow.list', arguments: {} }))).toMatchObject({ count: 0 });
    expect(data(await reborn.callTool({ name: 'workflow.runs', arguments: {} }))).toMatchObject({ runs: [] });
    expect(data(await globex.callTool({ name: 'workflow.runs', arguments: {} }))['runs']).toHaveLength(1);
    expect(data(await globex.callTool({ name: 'memory.recall', arguments: { key: 'plan' } }))).toMatchObject({ found: true, value: WORDS });
    expect(JSON.stringify(data(await globex.callTool({ name: 'memory.search', arguments: { query: 'rocket', mode: 'fulltext' } })))).toContain('tuesday');
  });
});
