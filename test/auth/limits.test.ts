import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ManualClock } from '../../src/auth/clock.js';
import type { Principal } from '../../src/auth/principal.js';
import { QuotaService } from '../../src/auth/quotas.js';
import { AccessPolicy } from '../../src/auth/policy.js';
import { parseConfig, type NexusConfigInput } from '../../src/config/index.js';
import { createSilentLogger } from '../../src/logging/index.js';
import { createRuntime, type Runtime } from '../../src/runtime/runtime.js';
import { defineTool } from '../../src/tools/types.js';
import { tempDir } from '../support/runtime.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function runtimeOn(dir: string, config: NexusConfigInput, clock: ManualClock): Promise<Runtime> {
  const runtime = await createRuntime(parseConfig({ data_dir: dir, ...config }), { logger: createSilentLogger(), clock });
  cleanups.push(() => runtime.close());
  return runtime;
}

function tempFolder(): string {
  const folder = tempDir('nexus-limits-');
  cleanups.push(() => folder.remove());
  return folder.dir;
}

const acme: Principal = { id: 'key:acme', tenant: 'acme', kind: 'api-key' };
const globex: Principal = { id: 'key:globex', tenant: 'globex', kind: 'api-key' };

function errorCode(result: { structuredContent?: unknown }): string | undefined {
  return (result.structuredContent as { code?: string } | undefined)?.code;
}

describe('daily call quota', () => {
  const config: NexusConfigInput = { quotas: { calls_per_day: 2 }, tenants: { globex: { quotas: { calls_per_day: null } } } };

  it('refuses the call past the quota with QUOTA_EXCEEDED, per tenant, and resets the next UTC day', async () => {
    const clock = new ManualClock(Date.UTC(2025, 2, 3, 23, 0));
    const runtime = await runtimeOn(tempFolder(), config, clock);
    const echo = (principal: Principal) => runtime.callTool('echo', { text: 'x' }, principal);
    expect((await echo(acme)).isError).toBeUndefined();
    expect((await echo(acme)).isError).toBeUndefined();
    const refused = await echo(acme);
    expect(refused.structuredContent).toMatchObject({ code: 'QUOTA_EXCEEDED', details: { quota: 'calls_per_day', limit: 2, used: 2, resetsAt: '2025-03-04T00:00:00.000Z' } });
    for (let i = 0; i < 5; i += 1) expect((await echo(globex)).isError).toBeUndefined();
    clock.advance(3_600_000);
    expect((await echo(acme)).isError).toBeUndefined();
  });

  it('remembers the day’s count across a restart (seeded from the audit log)', async () => {
    const clock = new ManualClock(Date.UTC(2025, 2, 3, 12, 0));
    const dir = tempFolder();
    const first = await runtimeOn(dir, config, clock);
    await first.callTool('echo', { text: 'a' }, acme);
    // A call refused by policy (outside the key's scopes) does not use up the allowance.
    expect(errorCode(await first.callTool('get_time', {}, { ...acme, toolScopes: ['echo'] }))).toBe('FORBIDDEN');
    await first.close();
    const second = await runtimeOn(dir, config, clock);
    const results = [await second.callTool('echo', { text: 'b' }, acme), await second.callTool('echo', { text: 'c' }, acme)];
    expect(results.map(errorCode)).toEqual([undefined, 'QUOTA_EXCEEDED']);
  });
});

describe('concurrency cap per tenant', () => {
  it('refuses a call while the tenant has max calls running, and not other tenants’ calls', async () => {
    const runtime = await runtimeOn(tempFolder(), { rate_limit: { max_concurrent_per_tenant: 1 } }, new ManualClock());
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let started!: () => void;
    const running = new Promise<void>((resolve) => (started = resolve));
    runtime.tools.register(
      defineTool({
        name: 'fixture.block',
        title: 'Block',
        description: 'Waits until the test releases it',
        inputSchema: z.strictObject({}),
        annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
        async execute() {
          started();
          await released;
          return { text: 'released' };
        },
      }),
    );
    const blocked = runtime.callTool('fixture.block', {}, acme);
    await running;
    const refused = await runtime.callTool('echo', { text: 'x' }, acme);
    expect(refused.structuredContent).toMatchObject({ code: 'RATE_LIMITED', details: { limit: 'concurrency', max: 1 } });
    expect((await runtime.callTool('echo', { text: 'x' }, globex)).isError).toBeUndefined();
    release();
    expect((await blocked).isError).toBeUndefined();
    expect((await runtime.callTool('echo', { text: 'x' }, acme)).isError).toBeUndefined();
    expect(runtime.auth.concurrency.keys).toBe(0);
  });
});

describe('storage quotas', () => {
  it('refuses a write past stored bytes or items and allows replacing within the limit', async () => {
    const policy = new AccessPolicy(parseConfig({ quotas: { stored_bytes: 1000, memory_items: 3 } }));
    const quotas = new QuotaService({ policy, countCalls: async () => 0 });
    const usage = new Map([['acme', { bytes: 900, items: 3 }]]);
    quotas.registerUsageSource('memory', async (tenant) => usage.get(tenant) ?? { bytes: 0, items: 0 });
    await expect(quotas.assertCanStore('acme', { bytes: 10, items: 1 })).rejects.toMatchObject({ code: 'QUOTA_EXCEEDED', details: { quota: 'memory_items', limit: 3 } });
    await expect(quotas.assertCanStore('acme', { bytes: 200, items: 0 })).rejects.toMatchObject({ code: 'QUOTA_EXCEEDED', details: { quota: 'stored_bytes', used: 900 } });
    await expect(quotas.assertCanStore('acme', { bytes: 100, items: 0 })).resolves.toBeUndefined();
    await expect(quotas.assertCanStore('globex', { bytes: 100, items: 1 })).resolves.toBeUndefined();
  });
});

describe('the local user', () => {
  it('acts in auth.stdio_tenant, which the tenant overrides then apply to', async () => {
    const runtime = await runtimeOn(tempFolder(), { auth: { stdio_tenant: 'ops' }, tenants: { ops: { tools: { disabled: ['get_time'] } } } }, new ManualClock());
    expect((await runtime.callTool('echo', { text: 'x' })).isError).toBeUndefined();
    expect(errorCode(await runtime.callTool('get_time', {}))).toBe('TOOL_NOT_FOUND');
    await runtime.auth.audit.flush();
    const records = await runtime.auth.audit.store.query({ limit: 10, order: 'asc' });
    expect(records.map((record) => [record.tenant, record.principal, record.tool, record.outcome])).toEqual([
      ['ops', 'local', 'echo', 'ok'],
      ['ops', 'local', 'get_time', 'denied'],
    ]);
  });
});
