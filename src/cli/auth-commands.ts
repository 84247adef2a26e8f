import { setTimeout as delay } from 'node:timers/promises';
import { Option, type Command } from 'commander';
import type { ApiKeyRecord } from '../auth/api-keys.js';
import { parseExpiry } from '../auth/api-keys.js';
import type { AuditOutcome, AuditQuery, StoredAuditRecord } from '../auth/audit.js';
import { parseTimeExpression } from '../auth/durations.js';
import { parseToolScopes } from '../auth/scopes.js';
import { NexusError } from '../errors/index.js';
import type { Runtime } from '../runtime/runtime.js';

/** Opens a runtime for one command with the global options in effect, and closes it after. */
export type WithRuntime = (command: Command, work: (runtime: Runtime) => Promise<void>) => Promise<void>;

const formatOption = (): Option => new Option('-f, --format <format>', 'output format').choices(['text', 'json']).default('text');

function print(line: string): void {
  process.stdout.write(`${line}\n`);
}

function printJson(value: unknown): void {
  print(JSON.stringify(value, null, 2));
}

function iso(ms: number | null): string {
  return ms === null ? '-' : new Date(ms).toISOString();
}

/** Prints rows as aligned columns under a header. */
function printTable(header: string[], rows: string[][]): void {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)));
  for (const row of [header, ...rows]) print(row.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join('  ').trimEnd());
}

function keyStatus(key: ApiKeyRecord, now: number): string {
  if (key.revokedAt !== null) return 'revoked';
  if (key.expiresAt !== null && key.expiresAt <= now) return 'expired';
  return 'active';
}

/** `1h`, `7d`, `30m`, `2w` ago, or an ISO date/time → epoch ms. */
export function parseSince(text: string, now: number): number {
  const at = parseTimeExpression(text, now, -1);
  if (!Number.isFinite(at)) throw new NexusError('USAGE_ERROR', `Invalid time "${text}": use a duration like 1h, 7d or an ISO date`);
  return at;
}

function positiveInt(text: string, name: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value <= 0) throw new NexusError('USAGE_ERROR', `${name} must be a positive integer, got "${text}"`);
  return value;
}

function auditLine(record: StoredAuditRecord): string {
  const duration = record.durationMs === null ? '-' : `${record.durationMs.toFixed(1)}ms`;
  const what = record.event === 'tool_call' ? (record.tool ?? '-') : `auth ${record.detail ?? ''}`.trim();
  return [iso(record.time), record.outcome.padEnd(6), record.tenant ?? '-', record.principal ?? record.remoteAddress ?? '-', what, record.errorCode ?? '-', duration, record.traceId ?? '-'].join('  ');
}

/** `nexus keys …`, `nexus tenants …`, `nexus audit …`. */
export function registerAuthCommands(program: Command, withRuntime: WithRuntime): void {
  const keys = program.command('keys').description('API keys for HTTP clients (stored hashed; shown once)');
  keys
    .command('create')
    .description('create an API key and print it once')
    .requiredOption('-t, --tenant <tenant>', 'tenant the key acts in')
    .option('-s, --scopes <globs>', 'comma-separated tool names/globs the key may call, e.g. "memory.*,echo" ("!cmd.*" excludes)')
    .option('-e, --expires <when>', 'expiry: a duration (30d, 12h, 2w) or an ISO date')
    .option('-n, --name <name>', 'a label to recognise the key by')
    .addOption(formatOption())
    .action(async (local: { tenant: string; scopes?: string; expires?: string; name?: string; format: string }, command: Command) => {
      await withRuntime(command, async (runtime) => {
        const now = runtime.auth.clock.now();
        const scopes = parseToolScopes(local.scopes);
        const expiresAt = local.expires === undefined ? undefined : parseExpiry(local.expires, now);
        await runtime.auth.tenants.require(local.tenant);
        const { key, record } = await runtime.auth.keys.create({ tenant: local.tenant, name: local.name, scopes, expiresAt });
        if (local.format === 'json') {
          printJson({ key, ...record });
          return;
        }
        print(key);
        process.stderr.write(`Created key ${record.id} for tenant "${record.tenant}"${scopes ? ` (scopes: ${scopes.join(',')})` : ''}${expiresAt ? `, expires ${iso(expiresAt)}` : ''}.\n`);
        process.stderr.write('This is the only time the key is shown: store it now. Send it as "Authorization: Bearer <key>".\n');
      });
    });
  keys
    .command('list')
    .description('list API keys (never their secrets)')
    .option('-t, --tenant <tenant>', 'only this tenant')
    .addOption(formatOption())
    .action(async (local: { tenant?: string; format: string }, command: Command) => {
      await withRuntime(command, async (runtime) => {
        const now = runtime.auth.clock.now();
        const list = await runtime.auth.keys.list({ tenant: local.tenant });
        if (local.format === 'json') {
          printJson(list.map((key) => ({ ...key, status: keyStatus(key, now) })));
          return;
        }
        printTable(
          ['ID', 'TENANT', 'NAME', 'SCOPES', 'CREATED', 'EXPIRES', 'STATUS'],
          list.map((key) => [key.id, key.tenant, key.name ?? '-', key.scopes?.join(',') ?? '*', iso(key.createdAt), iso(key.expiresAt), keyStatus(key, now)]),
        );
      });
    });
  keys
    .command('revoke <id>')
    .description('revoke an API key (takes effect on the next request)')
    .action(async (id: string, _local, command: Command) => {
      await withRuntime(command, async (runtime) => {
        await runtime.auth.keys.revoke(id);
        print(`revoked ${id}`);
      });
    });

  const tenants = program.command('tenants').description('tenants: isolated data, keys, limits and quotas');
  tenants
    .command('create <id>')
    .description('create a tenant')
    .option('--note <text>', 'a free-text note')
    .action(async (id: string, local: { note?: string }, command: Command) => {
      await withRuntime(command, async (runtime) => {
        await runtime.auth.tenants.create(id, local.note);
        print(`created tenant ${id}`);
      });
    });
  tenants
    .command('list')
    .description('list tenants')
    .addOption(formatOption())
    .action(async (local: { format: string }, command: Command) => {
      await withRuntime(command, async (runtime) => {
        const list = await runtime.auth.tenants.list();
        if (local.format === 'json') {
          printJson(list);
          return;
        }
        printTable(['ID', 'CREATED', 'NOTE'], list.map((tenant) => [tenant.id, iso(tenant.createdAt), tenant.note ?? '']));
      });
    });
  tenants
    .command('delete <id>')
    .description("delete a tenant with all its data (memory, workflows, keys …)")
    .option('--yes', 'confirm: the data cannot be recovered')
    .action(async (id: string, local: { yes?: boolean }, command: Command) => {
      if (!local.yes) throw new NexusError('USAGE_ERROR', `Deleting tenant "${id}" removes all its data for good; add --yes to confirm`);
      await withRuntime(command, async (runtime) => {
        const removed = await runtime.auth.tenants.delete(id);
        const summary = Object.entries(removed).map(([domain, count]) => `${domain}: ${count}`).join(', ');
        print(`deleted tenant ${id}${summary ? ` (${summary})` : ''}`);
      });
    });

  const audit = program.command('audit').description('the audit log of tool calls and auth decisions');
  audit
    .command('tail')
    .description('show the latest audit records')
    .option('-n, --lines <n>', 'how many records', '20')
    .option('--follow', 'keep printing new records until interrupted')
    .addOption(formatOption())
    .action(async (local: { lines: string; follow?: boolean; format: string }, command: Command) => {
      const count = positiveInt(local.lines, '--lines');
      await withRuntime(command, async (runtime) => {
        const store = runtime.auth.audit.store;
        const emit = (record: StoredAuditRecord): void => print(local.format === 'json' ? JSON.stringify(record) : auditLine(record));
        const latest = (await store.query({ limit: count, order: 'desc' })).reverse();
        latest.forEach(emit);
        if (!local.follow) return;
        let lastId = latest.at(-1)?.id ?? (await store.query({ limit: 1, order: 'desc' }))[0]?.id ?? 0;
        const stop = new AbortController();
        const onSignal = (): void => stop.abort();
        process.once('SIGINT', onSignal);
        process.once('SIGTERM', onSignal);
        try {
          while (!stop.signal.aborted) {
            for (const record of await store.query({ afterId: lastId, limit: 1000, order: 'asc' })) {
              emit(record);
              lastId = record.id;
            }
            await delay(500, undefined, { signal: stop.signal }).catch(() => undefined);
          }
        } finally {
          process.off('SIGINT', onSignal);
          process.off('SIGTERM', onSignal);
        }
      });
    });
  audit
    .command('query')
    .description('search the audit log')
    .option('-t, --tenant <tenant>', 'only this tenant')
    .option('--tool <name>', 'only this tool (canonical dotted name)')
    .option('--principal <id>', 'only this principal (e.g. key:<id>)')
    .option('--since <when>', 'from this time: a duration ago (1h, 7d) or an ISO date')
    .option('--until <when>', 'before this time: a duration ago or an ISO date')
    .addOption(new Option('--outcome <outcome>', 'only this outcome').choices(['ok', 'error', 'denied']))
    .addOption(new Option('--event <event>', 'only tool calls or auth decisions').choices(['tool_call', 'auth']))
    .option('-l, --limit <n>', 'at most this many records', '100')
    .addOption(formatOption())
    .action(async (local: { tenant?: string; tool?: string; principal?: string; since?: string; until?: string; outcome?: AuditOutcome; event?: 'tool_call' | 'auth'; limit: string; format: string }, command: Command) => {
      await withRuntime(command, async (runtime) => {
        const now = runtime.auth.clock.now();
        const query: AuditQuery = {
          tenant: local.tenant,
          tool: local.tool,
          principal: local.principal,
          outcome: local.outcome,
          event: local.event,
          since: local.since === undefined ? undefined : parseSince(local.since, now),
          until: local.until === undefined ? undefined : parseSince(local.until, now),
          limit: positiveInt(local.limit, '--limit'),
          order: 'asc',
        };
        const records = await runtime.auth.audit.store.query(query);
        if (local.format === 'json') {
          printJson(records);
          return;
        }
        records.forEach((record) => print(auditLine(record)));
      });
    });
}
