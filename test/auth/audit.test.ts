import { describe, expect, it } from 'vitest';
import { AuditLog, type AuditRecord } from '../../src/auth/audit.js';
import { ManualClock } from '../../src/auth/clock.js';
import { SqliteAuditStore } from '../../src/auth/sqlite-audit-store.js';
import { createSilentLogger } from '../../src/logging/index.js';
import { useTempDatabases } from './temp-database.js';

const openTemp = useTempDatabases();

function call(tool: string, overrides: Partial<AuditRecord> = {}): Omit<AuditRecord, 'time'> {
  return { event: 'tool_call', tenant: 'acme', principal: 'key:1', tool, argsDigest: 'd'.repeat(64), outcome: 'ok', errorCode: null, durationMs: 1, traceId: 't', remoteAddress: null, detail: null, ...overrides };
}

describe('audit log', () => {
  it('buffers records off the request path and writes them all by close()', async () => {
    const { db } = openTemp();
    const store = new SqliteAuditStore(db);
    // A flush interval far in the future: only the batch size and close() can write.
    const audit = new AuditLog({ store: () => store, logger: createSilentLogger(), flushIntervalMs: 60_000, batchSize: 1000, retentionDays: 30 });
    for (let i = 0; i < 2500; i += 1) audit.record(call(`tool.${i % 3}`));
    await audit.flush();
    expect(await store.count({})).toBe(2500);
    for (let i = 0; i < 10; i += 1) audit.record(call('late'));
    expect(audit.pending).toBe(10);
    await audit.close();
    expect(audit.pending).toBe(0);
    expect(await store.count({ tool: 'late' })).toBe(10);
  });

  it('answers queries by tenant, tool, outcome, time and id, newest first when asked', async () => {
    const { db } = openTemp();
    const clock = new ManualClock();
    const store = new SqliteAuditStore(db);
    const audit = new AuditLog({ store: () => store, logger: createSilentLogger(), clock, flushIntervalMs: 10, batchSize: 100, retentionDays: 30 });
    audit.record(call('echo'));
    clock.advance(1000);
    audit.record(call('cmd.exec', { outcome: 'denied', errorCode: 'FORBIDDEN' }));
    audit.record(call('echo', { tenant: 'other' }));
    await audit.flush();
    expect((await store.query({ tenant: 'acme', limit: 10, order: 'asc' })).map((r) => r.tool)).toEqual(['echo', 'cmd.exec']);
    expect((await store.query({ outcome: 'denied', limit: 10, order: 'asc' })).map((r) => r.errorCode)).toEqual(['FORBIDDEN']);
    expect(await store.query({ since: clock.now(), limit: 10, order: 'desc' })).toHaveLength(2);
    const [first] = await store.query({ limit: 1, order: 'asc' });
    expect((await store.query({ afterId: first?.id, limit: 10, order: 'asc' })).map((r) => r.tenant)).toEqual(['acme', 'other']);
    expect(await store.countAcceptedCalls('acme', 0)).toBe(1);
  });

  it('sweeps records older than the retention period', async () => {
    const { db } = openTemp();
    const clock = new ManualClock();
    const store = new SqliteAuditStore(db);
    const audit = new AuditLog({ store: () => store, logger: createSilentLogger(), clock, flushIntervalMs: 10, batchSize: 100, retentionDays: 7 });
    audit.record(call('old'));
    await audit.flush();
    clock.advance(8 * 86_400_000);
    audit.record(call('new'));
    await audit.flush();
    expect((await store.query({ limit: 10, order: 'asc' })).map((r) => r.tool)).toEqual(['new']);
    // Sweeps run at most hourly: a stale record written now survives until the next one.
    audit.record({ ...call('stale'), time: clock.now() - 9 * 86_400_000 });
    await audit.flush();
    expect(await store.count({ tool: 'stale' })).toBe(1);
    clock.advance(3_600_000);
    audit.record(call('newer'));
    await audit.flush();
    expect((await store.query({ limit: 10, order: 'asc' })).map((r) => r.tool)).toEqual(['new', 'newer']);
  });

  it('keeps records when the store fails and writes them once it works again', async () => {
    const { db } = openTemp();
    // A real store whose disk "fills up" for a while.
    class FlakyStore extends SqliteAuditStore {
      failing = true;
      override append(records: readonly AuditRecord[]): Promise<void> {
        return this.failing ? Promise.reject(new Error('disk full')) : super.append(records);
      }
    }
    const store = new FlakyStore(db);
    const audit = new AuditLog({ store: () => store, logger: createSilentLogger(), flushIntervalMs: 60_000, batchSize: 100, retentionDays: 30 });
    audit.record(call('a'));
    audit.record(call('b'));
    await audit.flush();
    expect(audit.pending).toBe(2);
    store.failing = false;
    await audit.close();
    expect(await store.count({})).toBe(2);
  });
});
