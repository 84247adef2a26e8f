import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ApiKeyService, parseApiKey, parseExpiry } from '../../src/auth/api-keys.js';
import { ManualClock } from '../../src/auth/clock.js';
import { SqliteApiKeyStore, SqliteTenantStore } from '../../src/auth/sqlite-auth-stores.js';
import { TenantService } from '../../src/auth/tenants.js';
import { useTempDatabases } from './temp-database.js';

const database = useTempDatabases();

describe('API keys', () => {
  it('issues nxk_<id>_<secret> keys, verifies them, and stores only a salted hash', async () => {
    const { db, file } = database();
    const clock = new ManualClock();
    const keys = new ApiKeyService(new SqliteApiKeyStore(db), clock);
    const { key, record } = await keys.create({ tenant: 'default', name: 'ci', scopes: ['memory.*'] });
    const parsed = parseApiKey(key);
    expect(parsed?.id).toBe(record.id);
    expect(await keys.verify(key)).toMatchObject({ id: record.id, tenant: 'default', name: 'ci', scopes: ['memory.*'] });
    const listed = await keys.list();
    expect(listed).toHaveLength(1);
    expect(JSON.stringify(listed)).not.toContain(parsed?.secret);
    db.close();
    // Neither the secret nor the whole key is anywhere in the database file or its WAL.
    const bytes = Buffer.concat([readFileSync(file), ...['-wal'].map((suffix) => { try { return readFileSync(file + suffix); } catch { return Buffer.alloc(0); } })]);
    expect(bytes.includes(Buffer.from(parsed?.secret ?? 'x'))).toBe(false);
    expect(bytes.includes(Buffer.from(record.id))).toBe(true);
  });

  it('refuses wrong secrets, unknown ids, malformed, revoked and expired keys', async () => {
    const { db } = database();
    const clock = new ManualClock();
    const keys = new ApiKeyService(new SqliteApiKeyStore(db), clock);
    const { key, record } = await keys.create({ tenant: 'default', expiresAt: clock.now() + 60_000 });
    const tampered = key.slice(0, -1) + (key.endsWith('A') ? 'B' : 'A');
    await expect(keys.verify(tampered)).rejects.toMatchObject({ code: 'UNAUTHORIZED', message: 'Invalid API key' });
    await expect(keys.verify(`nxk_0000000000000000_${'a'.repeat(43)}`)).rejects.toMatchObject({ code: 'UNAUTHORIZED', message: 'Invalid API key' });
    await expect(keys.verify('nxk_short')).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    clock.advance(60_000);
    await expect(keys.verify(key)).rejects.toMatchObject({ code: 'UNAUTHORIZED', details: { reason: 'expired', keyId: record.id } });
    const second = await keys.create({ tenant: 'default' });
    expect(await keys.verify(second.key)).toBeTruthy();
    await keys.revoke(second.record.id);
    await expect(keys.verify(second.key)).rejects.toMatchObject({ code: 'UNAUTHORIZED', details: { reason: 'revoked' } });
    await expect(keys.revoke('ffffffffffffffff')).rejects.toMatchObject({ code: 'API_KEY_NOT_FOUND' });
  });

  it('reports whether any key is still usable (what makes HTTP require credentials)', async () => {
    const { db } = database();
    const store = new SqliteApiKeyStore(db);
    const keys = new ApiKeyService(store);
    expect(await store.hasUsableKeys()).toBe(false);
    const { record } = await keys.create({ tenant: 'default' });
    expect(await store.hasUsableKeys()).toBe(true);
    await keys.revoke(record.id);
    expect(await store.hasUsableKeys()).toBe(false);
  });

  it('parses expiry durations and dates, refusing the past and nonsense', () => {
    const now = Date.UTC(2025, 0, 1);
    expect(parseExpiry('30d', now)).toBe(now + 30 * 86_400_000);
    expect(parseExpiry('12h', now)).toBe(now + 12 * 3_600_000);
    expect(parseExpiry('2026-01-01T00:00:00Z', now)).toBe(Date.UTC(2026, 0, 1));
    expect(() => parseExpiry('2024-01-01', now)).toThrow(/not in the future/);
    expect(() => parseExpiry('soon', now)).toThrow(/Invalid expiry/);
  });
});

describe('tenants', () => {
  it('creates, lists and deletes tenants with every registered domain’s data', async () => {
    const { db } = database();
    const keyStore = new SqliteApiKeyStore(db);
    const tenants = new TenantService(new SqliteTenantStore(db));
    const keys = new ApiKeyService(keyStore);
    const deleted: string[] = [];
    tenants.registerDataDeleter('api_keys', (tenant) => keyStore.deleteTenant(tenant));
    tenants.registerDataDeleter('fixture', async (tenant) => {
      deleted.push(tenant);
      return 7;
    });
    await tenants.create('acme', 'first customer');
    await expect(tenants.create('acme')).rejects.toMatchObject({ code: 'TENANT_EXISTS' });
    await expect(tenants.create('bad id!')).rejects.toMatchObject({ code: 'USAGE_ERROR' });
    expect((await tenants.list()).map((tenant) => tenant.id)).toEqual(['acme', 'default']);
    await keys.create({ tenant: 'acme' });
    await keys.create({ tenant: 'default' });
    expect(await tenants.delete('acme')).toEqual({ api_keys: 1, fixture: 7 });
    expect(deleted).toEqual(['acme']);
    expect((await keys.list()).map((key) => key.tenant)).toEqual(['default']);
    expect(await tenants.exists('acme')).toBe(false);
    await expect(tenants.delete('acme')).rejects.toMatchObject({ code: 'TENANT_NOT_FOUND' });
    await expect(tenants.delete('default')).rejects.toMatchObject({ code: 'USAGE_ERROR' });
  });
});
