// Authenticated load over Streamable HTTP: 20 000 echo calls at 32 in flight with an API key
// (4 sessions of one key), while a second, deliberately throttled tenant hammers the same server
// and collects 429s. Checks (reported, not asserted): zero errors for the first tenant, only 429s
// for the second, and as many tool-call audit records as calls that ran, once the server stopped.
// A shorter anonymous run without audit on a fresh server gives the baseline for the server CPU
// each call costs, so the auth + limits + audit overhead is visible even on a loaded machine.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { startNexus } from '../scripts/nexus-process.mjs';
import { concurrent } from './support/load.mjs';
import { cpuMsOf, rssOf, serverEnv } from './support/servers.mjs';
import { formatBytes, formatMs, formatRate, percentile } from './support/stats.mjs';

export const title = 'auth: 20k API-key calls at 32 in flight, a throttled tenant beside it, audit completeness';

const CALLS = 20_000;
const CONCURRENCY = 32;
const SESSIONS = 4;
const NOISY_CALLS = 2_000;
const NOISY_CONCURRENCY = 4;
const BASELINE_CALLS = 4_000;

/** The main tenant is effectively unlimited; "noisy" gets 5 requests/s with a burst of 10. */
const CONFIG = {
  rate_limit: { enabled: true, requests_per_second: 100_000, burst_size: 100_000 },
  tenants: { noisy: { rate_limit: { requests_per_second: 5, burst_size: 10 } } },
};

export async function run(report) {
  const { repoRoot } = report.options;
  const dist = (file) => import(pathToFileURL(path.join(repoRoot, 'dist', file)).href);
  const scratch = mkdtempSync(path.join(tmpdir(), 'nexus-bench-auth-'));
  const dataDir = path.join(scratch, 'data');
  const configFile = path.join(scratch, 'nexus.json');
  const start = (config, dir) => {
    writeFileSync(configFile, JSON.stringify(config));
    return startNexus({ repoRoot, args: ['serve', '--host', '127.0.0.1', '--port', '0', '--data-dir', dir, '-c', configFile], env: serverEnv({ HOME: scratch }) });
  };
  try {
    const baseline = await start({ audit: { enabled: false } }, path.join(scratch, 'baseline'));
    let baselineCpuMsPerCall;
    try {
      const client = await connect(baseline.url, undefined);
      const before = cpuMsOf(baseline.child.pid);
      await concurrent((index) => client.callTool({ name: 'echo', arguments: { text: `call ${index}` } }), BASELINE_CALLS, CONCURRENCY);
      baselineCpuMsPerCall = (cpuMsOf(baseline.child.pid) - before) / BASELINE_CALLS;
      await client.close();
    } finally {
      await baseline.stop();
    }
    const keys = await provision(dist, { dataDir, config: CONFIG });
    const server = await start(CONFIG, dataDir);
    let measured;
    try {
      const before = cpuMsOf(server.child.pid);
      measured = await load(server.url, keys);
      measured.rssBytes = rssOf(server.child.pid);
      measured.serverCpuMs = cpuMsOf(server.child.pid) - before;
    } finally {
      // A clean shutdown must flush every buffered audit record.
      await server.stop();
    }
    const audit = await countAudit(dist, { dataDir, config: CONFIG });
    publish(report, { ...measured, baselineCpuMsPerCall }, audit);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** Tenants and keys, created the way `nexus tenants create` / `nexus keys create` do. */
async function provision(dist, { dataDir, config }) {
  const { runtime, close } = await openRuntime(dist, { dataDir, config });
  try {
    await runtime.auth.tenants.create('bench');
    await runtime.auth.tenants.create('noisy');
    const main = await runtime.auth.keys.create({ tenant: 'bench', scopes: ['echo'] });
    const noisy = await runtime.auth.keys.create({ tenant: 'noisy', scopes: ['echo'] });
    return { main: main.key, noisy: noisy.key };
  } finally {
    await close();
  }
}

async function openRuntime(dist, { dataDir, config }) {
  const [{ createRuntime }, { parseConfig }, { createSilentLogger }] = await Promise.all([dist('runtime/runtime.js'), dist('config/index.js'), dist('logging/index.js')]);
  const runtime = await createRuntime(parseConfig({ ...config, data_dir: dataDir }), { logger: createSilentLogger() });
  return { runtime, close: () => runtime.close() };
}

async function connect(url, key) {
  const client = new Client({ name: 'nexus-bench-auth', version: '1.0.0' });
  const headers = key === undefined ? {} : { authorization: `Bearer ${key}` };
  await client.connect(new StreamableHTTPClientTransport(new URL(`${url}/mcp`), { requestInit: { headers } }));
  return client;
}

function statusOf(error) {
  return typeof error?.code === 'number' ? error.code : undefined;
}

async function load(url, keys) {
  const sessions = await Promise.all(Array.from({ length: SESSIONS }, () => connect(url, keys.main)));
  const noisy = await connect(url, keys.noisy);
  const durations = new Array(CALLS);
  const errors = new Map();
  const noisyOutcome = { ok: 0, limited: 0, other: new Map() };
  try {
    const main = concurrent(async (index) => {
      const started = performance.now();
      try {
        const result = await sessions[index % SESSIONS].callTool({ name: 'echo', arguments: { text: `call ${index}` } });
        if (result.isError) throw new Error(String(result.structuredContent?.code ?? 'tool error'));
      } catch (error) {
        const label = statusOf(error) === undefined ? (error instanceof Error ? error.message : String(error)) : `HTTP ${statusOf(error)}`;
        errors.set(label, (errors.get(label) ?? 0) + 1);
      }
      durations[index] = performance.now() - started;
    }, CALLS, CONCURRENCY);
    const throttled = concurrent(async (index) => {
      try {
        await noisy.callTool({ name: 'echo', arguments: { text: `noise ${index}` } });
        noisyOutcome.ok += 1;
      } catch (error) {
        if (statusOf(error) === 429) noisyOutcome.limited += 1;
        else {
          const label = error instanceof Error ? error.message : String(error);
          noisyOutcome.other.set(label, (noisyOutcome.other.get(label) ?? 0) + 1);
        }
      }
    }, NOISY_CALLS, NOISY_CONCURRENCY);
    const [timing] = await Promise.all([main, throttled]);
    return { seconds: timing.seconds, durations, errors, noisy: noisyOutcome };
  } finally {
    await Promise.all([...sessions, noisy].map((client) => client.close().catch(() => undefined)));
  }
}

/** Tool-call audit records per tenant, read from the database after the server exited. */
async function countAudit(dist, { dataDir, config }) {
  const { runtime, close } = await openRuntime(dist, { dataDir, config });
  try {
    const store = runtime.auth.audit.store;
    return {
      main: await store.count({ tenant: 'bench', event: 'tool_call' }),
      mainOk: await store.count({ tenant: 'bench', event: 'tool_call', outcome: 'ok' }),
      noisy: await store.count({ tenant: 'noisy', event: 'tool_call' }),
      limited: await store.count({ event: 'auth', outcome: 'denied' }),
    };
  } finally {
    await close();
  }
}

function publish(report, measured, audit) {
  const errorCount = [...measured.errors.values()].reduce((sum, count) => sum + count, 0);
  const noisyOther = [...measured.noisy.other.values()].reduce((sum, count) => sum + count, 0);
  const auditComplete = audit.main === CALLS && audit.mainOk === CALLS - errorCount && audit.noisy === measured.noisy.ok;
  const rows = [
    ['calls (tenant bench, 1 key, 4 sessions)', String(CALLS)],
    ['in flight', String(CONCURRENCY)],
    ['wall time', `${measured.seconds.toFixed(1)} s`],
    ['throughput', formatRate(CALLS / measured.seconds)],
    ['latency p50', formatMs(percentile(measured.durations, 50))],
    ['latency p99', formatMs(percentile(measured.durations, 99))],
    ['errors (bench)', errorCount === 0 ? '0' : `${errorCount}: ${[...measured.errors].map(([label, count]) => `${label} ×${count}`).join(', ')}`],
    [`throttled tenant: ok / 429 / other of ${NOISY_CALLS}`, `${measured.noisy.ok} / ${measured.noisy.limited} / ${noisyOther}`],
    ['audit tool_call records (bench, noisy)', `${audit.main}, ${audit.noisy} ${auditComplete ? '= calls made' : 'MISMATCH'}`],
    ['audit 429 records', `${audit.limited} (client saw ${measured.noisy.limited})`],
    ['server CPU per request (auth, limits, audit)', formatMs(measured.serverCpuMs / (CALLS + NOISY_CALLS))],
    [`server CPU per call, anonymous, no audit (${BASELINE_CALLS} calls)`, formatMs(measured.baselineCpuMsPerCall)],
    ['server RSS after load', formatBytes(measured.rssBytes)],
  ];
  report.table(['metric', 'value'], rows);
  report.record('auth', 'load', {
    calls: CALLS,
    concurrency: CONCURRENCY,
    seconds: measured.seconds,
    throughput: CALLS / measured.seconds,
    p50_ms: percentile(measured.durations, 50),
    p99_ms: percentile(measured.durations, 99),
    errors: errorCount,
    noisy: { ok: measured.noisy.ok, limited: measured.noisy.limited, other: noisyOther },
    audit: { ...audit, complete: auditComplete },
    server_cpu_ms: measured.serverCpuMs,
    baseline_cpu_ms_per_call: measured.baselineCpuMsPerCall,
    rss_bytes: measured.rssBytes,
  });
}
