import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { ManualClock } from '../../src/auth/clock.js';
import { assertSafeBind } from '../../src/http/app.js';
import { connectClient, errorBody, initialize, startAuthHarness, type AuthHarness } from '../support/auth-http.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function harness(...args: Parameters<typeof startAuthHarness>): Promise<AuthHarness> {
  const started = await startAuthHarness(...args);
  cleanups.push(() => started.close());
  return started;
}

async function client(url: string, headers: Record<string, string>): Promise<Client> {
  const connected = await connectClient(url, headers);
  cleanups.push(() => connected.close());
  return connected;
}

const bearer = (key: string): Record<string, string> => ({ authorization: `Bearer ${key}` });

describe('API keys over HTTP', () => {
  it('answers no key, a wrong key, a revoked key and an expired key with 401 and the right challenge', async () => {
    const clock = new ManualClock();
    const h = await harness({}, { clock });
    const keys = h.runtime.auth.keys;
    const good = await keys.create({ tenant: 'default' });
    const revoked = await keys.create({ tenant: 'default' });
    await keys.revoke(revoked.record.id);
    const expiring = await keys.create({ tenant: 'default', expiresAt: clock.now() + 3_600_000 });

    const none = await initialize(h.url);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('Bearer realm="nexus"');
    expect(await errorBody(none)).toMatchObject({ code: 'UNAUTHORIZED' });

    const wrong = await initialize(h.url, bearer(good.key.slice(0, -2) + 'xx'));
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('www-authenticate')).toMatch(/^Bearer realm="nexus", error="invalid_token", error_description="Invalid API key"$/);
    await wrong.body?.cancel();

    const garbage = await initialize(h.url, { 'x-api-key': 'not-a-key' });
    expect(garbage.status).toBe(401);
    expect(garbage.headers.get('www-authenticate')).toContain('error="invalid_token"');
    await garbage.body?.cancel();

    const gone = await initialize(h.url, bearer(revoked.key));
    expect(gone.status).toBe(401);
    expect((await errorBody(gone)).message).toMatch(/revoked/);

    const fresh = await initialize(h.url, bearer(expiring.key));
    expect(fresh.status).toBe(200);
    await fresh.body?.cancel();
    clock.advance(3_600_000);
    const stale = await initialize(h.url, bearer(expiring.key));
    expect(stale.status).toBe(401);
    expect((await errorBody(stale)).message).toMatch(/expired/);

    // Every refusal is in the audit log with its reason; no key material is.
    await h.runtime.auth.audit.flush();
    const denied = await h.runtime.auth.audit.store.query({ event: 'auth', outcome: 'denied', limit: 10, order: 'asc' });
    expect(denied.map((record) => record.detail?.split('reason=')[1])).toEqual(['missing', 'invalid', 'invalid_token', 'revoked', 'expired']);
    expect(denied.map((record) => record.principal)).toEqual([null, null, null, `key:${revoked.record.id}`, `key:${expiring.record.id}`]);
    expect(denied.every((record) => record.remoteAddress === '127.0.0.1')).toBe(true);
    expect(JSON.stringify(denied)).not.toContain(good.key.slice(-20));
  });

  it('lets a valid key call tools as its tenant through the SDK client, by Bearer or X-API-Key', async () => {
    const h = await harness();
    await h.runtime.auth.tenants.create('acme');
    const { key, record } = await h.runtime.auth.keys.create({ tenant: 'acme' });
    for (const headers of [bearer(key), { 'X-API-Key': key }]) {
      const sdk = await client(h.url, headers);
      const result = await sdk.callTool({ name: 'echo', arguments: { text: 'hi' } });
      expect(result.structuredContent).toEqual({ text: 'hi' });
    }
    await h.runtime.auth.audit.flush();
    const calls = await h.runtime.auth.audit.store.query({ event: 'tool_call', limit: 10, order: 'asc' });
    expect(calls).toHaveLength(2);
    expect(calls[0]).toMatchObject({ tenant: 'acme', principal: `key:${record.id}`, tool: 'echo', outcome: 'ok', errorCode: null });
    // The digest identifies the arguments without storing them.
    expect(calls[0]?.argsDigest).toBe(createHash('sha256').update('{"text":"hi"}').digest('hex'));
    const opened = await h.runtime.auth.audit.store.query({ event: 'auth', outcome: 'ok', limit: 10, order: 'asc' });
    expect(opened.map((record) => record.detail)).toEqual(['session_opened', 'session_opened']);
  });

  it("keeps the original's auth.api_keys SHA-256 hashes working", async () => {
    const digest = createHash('sha256').update('legacy-secret').digest('hex');
    const h = await harness({ auth: { enabled: true, api_keys: [digest] } });
    expect((await initialize(h.url)).status).toBe(401);
    const sdk = await client(h.url, { 'X-API-Key': 'legacy-secret' });
    expect((await sdk.callTool({ name: 'echo', arguments: { text: 'old' } })).structuredContent).toEqual({ text: 'old' });
  });

  it('limits a key to its scopes: tools/list is filtered and other calls are FORBIDDEN and audited', async () => {
    const h = await harness();
    const { key, record } = await h.runtime.auth.keys.create({ tenant: 'default', scopes: ['echo', 'base64.*'] });
    const sdk = await client(h.url, bearer(key));
    const names = (await sdk.listTools()).tools.map((tool) => tool.name);
    expect(names).toContain('echo');
    expect(names).toContain('base64.encode');
    expect(names).not.toContain('get_time');
    expect(names.every((name) => name === 'echo' || name.startsWith('base64.'))).toBe(true);
    const refused = await sdk.callTool({ name: 'get_time', arguments: {} });
    expect(refused.isError).toBe(true);
    expect(refused.structuredContent).toMatchObject({ code: 'FORBIDDEN', details: { tool: 'get_time' } });
    await h.runtime.auth.audit.flush();
    const [audited] = await h.runtime.auth.audit.store.query({ tool: 'get_time', limit: 1, order: 'asc' });
    expect(audited).toMatchObject({ principal: `key:${record.id}`, outcome: 'denied', errorCode: 'FORBIDDEN' });
    // An unscoped key of the same server sees everything.
    const open = await h.runtime.auth.keys.create({ tenant: 'default' });
    const other = await client(h.url, bearer(open.key));
    expect((await other.listTools()).tools.map((tool) => tool.name)).toContain('get_time');
  });

  it('requires credentials on loopback once a key exists, and refuses a non-loopback bind until one does', async () => {
    const h = await harness();
    const anonymous = await initialize(h.url);
    expect(anonymous.status).toBe(200);
    await anonymous.body?.cancel();
    await expect(assertSafeBind(h.runtime, '0.0.0.0')).rejects.toMatchObject({ code: 'INSECURE_BIND' });
    const { record } = await h.runtime.auth.keys.create({ tenant: 'default' });
    await expect(assertSafeBind(h.runtime, '0.0.0.0')).resolves.toBeUndefined();
    expect((await initialize(h.url)).status).toBe(401);
    await h.runtime.auth.keys.revoke(record.id);
    await expect(assertSafeBind(h.runtime, '0.0.0.0')).rejects.toMatchObject({ code: 'INSECURE_BIND' });
  });

  it('refuses a foreign Origin even with a valid key, and keeps /health open', async () => {
    const h = await harness();
    const { key } = await h.runtime.auth.keys.create({ tenant: 'default' });
    const foreign = await initialize(h.url, { ...bearer(key), origin: 'https://evil.example' });
    expect(foreign.status).toBe(403);
    expect(await errorBody(foreign)).toMatchObject({ code: 'FORBIDDEN_ORIGIN' });
    expect((await fetch(`${h.url}/health`)).status).toBe(200);
    expect((await fetch(`${h.url}/ready`)).status).toBe(401);
  });
});

describe('rate limits over HTTP', () => {
  const limited = { rate_limit: { enabled: true, requests_per_second: 1, burst_size: 3 } };

  it('answers a burst over the limit with 429 and Retry-After, and the bucket refills', async () => {
    const clock = new ManualClock();
    const h = await harness(limited, { clock });
    const { key } = await h.runtime.auth.keys.create({ tenant: 'default' });
    const ready = () => fetch(`${h.url}/ready`, { headers: bearer(key) });
    for (let i = 0; i < 3; i += 1) expect((await ready()).status).toBe(200);
    const refused = await ready();
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(await errorBody(refused)).toMatchObject({ code: 'RATE_LIMITED', details: { limit: 'caller' } });
    clock.advance(1000);
    expect((await ready()).status).toBe(200);
    expect((await ready()).status).toBe(429);
    // Another key has its own bucket.
    const other = await h.runtime.auth.keys.create({ tenant: 'default' });
    expect((await fetch(`${h.url}/ready`, { headers: bearer(other.key) })).status).toBe(200);
    await h.runtime.auth.audit.flush();
    expect(await h.runtime.auth.audit.store.count({ outcome: 'denied', event: 'auth' })).toBe(2);
  });

  it('keys anonymous loopback callers by socket address: a spoofed X-Forwarded-For changes nothing', async () => {
    const h = await harness(limited, { clock: new ManualClock() });
    const statuses: number[] = [];
    for (const spoof of ['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4']) {
      statuses.push((await fetch(`${h.url}/ready`, { headers: { 'x-forwarded-for': spoof } })).status);
    }
    expect(statuses).toEqual([200, 200, 200, 429]);
  });

  it('keys authenticated callers by principal, not by any header', async () => {
    const h = await harness(limited, { clock: new ManualClock() });
    const { key } = await h.runtime.auth.keys.create({ tenant: 'default' });
    const statuses: number[] = [];
    for (let i = 0; i < 4; i += 1) statuses.push((await fetch(`${h.url}/ready`, { headers: { ...bearer(key), 'x-forwarded-for': `10.0.0.${i}`, 'x-real-ip': `10.1.0.${i}` } })).status);
    expect(statuses).toEqual([200, 200, 200, 429]);
  });

  it('shares a tenant bucket between the tenant’s keys', async () => {
    const h = await harness({ rate_limit: { enabled: true, requests_per_second: 1, burst_size: 10, per_tenant: { requests_per_second: 1, burst_size: 3 } } }, { clock: new ManualClock() });
    await h.runtime.auth.tenants.create('acme');
    const first = await h.runtime.auth.keys.create({ tenant: 'acme' });
    const second = await h.runtime.auth.keys.create({ tenant: 'acme' });
    const outsider = await h.runtime.auth.keys.create({ tenant: 'default' });
    const statuses: number[] = [];
    for (const key of [first.key, second.key, first.key, second.key]) statuses.push((await fetch(`${h.url}/ready`, { headers: bearer(key) })).status);
    expect(statuses).toEqual([200, 200, 200, 429]);
    expect((await fetch(`${h.url}/ready`, { headers: bearer(outsider.key) })).status).toBe(200);
  });

  it('rate limits failed authentication per address', async () => {
    const h = await harness(limited, { clock: new ManualClock() });
    await h.runtime.auth.keys.create({ tenant: 'default' });
    const statuses: number[] = [];
    for (let i = 0; i < 4; i += 1) statuses.push((await fetch(`${h.url}/ready`, { headers: bearer(`guess-${i}`) })).status);
    expect(statuses).toEqual([401, 401, 401, 429]);
  });

  it('refuses tool calls over a per-tool limit inside a session with RATE_LIMITED, until the bucket refills', async () => {
    const clock = new ManualClock();
    const h = await harness({ rate_limit: { enabled: true, requests_per_second: 1000, burst_size: 1000, per_tool: { echo: { requests_per_second: 1, burst_size: 2 } } } }, { clock });
    const sdk = await client(h.url, {});
    const call = () => sdk.callTool({ name: 'echo', arguments: { text: 'x' } });
    expect((await call()).isError).toBeUndefined();
    expect((await call()).isError).toBeUndefined();
    const refused = await call();
    expect(refused.structuredContent).toMatchObject({ code: 'RATE_LIMITED', details: { limit: 'tool', tool: 'echo', retryAfterMs: 1000 } });
    expect((await sdk.callTool({ name: 'get_time', arguments: {} })).isError).toBeUndefined();
    clock.advance(1000);
    expect((await call()).isError).toBeUndefined();
  });
});
