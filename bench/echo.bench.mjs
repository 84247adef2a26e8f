// echo over stdio and over Streamable HTTP: Nexus against @modelcontextprotocol/server-everything,
// in the same run. Spawn → initialized (median of --spawns), sequential p50/p99 of --calls,
// throughput with --concurrency calls in flight, server RSS after the load, and the ratios.
// Targets (reported, not asserted): HTTP p50 ≤ 0.5× the reference, stdio p50 ≤ 1.2×,
// spawn → initialized no slower (≤ 1.0×). Server CPU time (from /proc) is shown beside the wall
// times because it stays meaningful when other processes load the machine.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { concurrent, sequential } from './support/load.mjs';
import { connectHttp, connectStdio, cpuMsOf, rssOf, serverEnv, servers } from './support/servers.mjs';
import { formatBytes, formatMs, formatRate, formatRatio, median, percentile } from './support/stats.mjs';

export const title = 'echo: Nexus vs server-everything (stdio and Streamable HTTP)';

const TARGETS = {
  'stdio.spawn_ms': 1.0,
  'stdio.p50_ms': 1.2,
  'http.spawn_ms': 1.0,
  'http.p50_ms': 0.5,
};

const WARMUP_CALLS = 200;

export async function run(report) {
  const { options } = report;
  const scratch = mkdtempSync(path.join(tmpdir(), 'nexus-bench-'));
  // HOME and cwd point at the scratch folder so no user config (~/.nexus, ./nexus.json) applies.
  const env = serverEnv({ HOME: scratch });
  const compared = servers({ repoRoot: options.repoRoot, dataDir: path.join(scratch, 'data') });
  report.note(
    `${options.spawns} spawns per server and transport (after one unmeasured warm-up spawn), ${options.calls} sequential calls, ` +
      `${options.concurrentCalls} calls at ${options.concurrency} in flight, interleaved in ${options.rounds} rounds.`,
  );
  const rows = [];
  try {
    for (const transport of ['stdio', 'http']) {
      const connect = transport === 'stdio' ? connectStdio : connectHttp;
      const measured = await measureTransport({ connect, compared, options, spawnContext: { cwd: scratch, env } });
      for (const [metric, label, format, higherIsBetter] of [
        ['spawn_ms', 'spawn → initialized (median)', formatMs, false],
        ['startup_cpu_ms', 'server CPU until initialized', formatMs, false],
        ['p50_ms', 'sequential p50', formatMs, false],
        ['p99_ms', 'sequential p99', formatMs, false],
        ['cpu_per_call_ms', 'server CPU per sequential call', formatMs, false],
        ['throughput', `throughput @${options.concurrency}`, formatRate, true],
        ['rss_bytes', 'server RSS after load', formatBytes, false],
      ]) {
        const nexus = measured.nexus[metric];
        const reference = measured.reference[metric];
        const ratio = nexus / reference;
        const key = `${transport}.${metric}`;
        const limit = TARGETS[key];
        const verdict = limit === undefined ? '' : `≤ ${limit.toFixed(1)}× ${ratio <= limit ? 'met' : 'MISSED'}`;
        rows.push([transport, label, format(nexus), format(reference), `${formatRatio(ratio)}${higherIsBetter ? ' (higher is better)' : ''}`, verdict]);
        report.record('echo', key, { nexus, reference, ratio, ...(limit === undefined ? {} : { target: limit, met: ratio <= limit }) });
      }
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  report.table(['transport', 'metric', compared.nexus.label, compared.reference.label, 'nexus/ref', 'target'], rows);
}

/** Spawn timings for both servers (alternating), then latency and throughput on the last pair. */
async function measureTransport({ connect, compared, options, spawnContext }) {
  const keys = ['nexus', 'reference'];
  const spawnMs = { nexus: [], reference: [] };
  const startupCpuMs = { nexus: [], reference: [] };
  for (const key of keys) await (await connect(compared[key], spawnContext)).close();
  const live = {};
  for (let index = 0; index < options.spawns; index += 1) {
    // Alternate who goes first so neither always starts on a warmer machine.
    for (const key of index % 2 === 0 ? keys : [...keys].reverse()) {
      const connection = await connect(compared[key], spawnContext);
      spawnMs[key].push(connection.ms);
      startupCpuMs[key].push(connection.cpuMs);
      if (index === options.spawns - 1) live[key] = connection;
      else await connection.close();
    }
  }
  try {
    const calls = {};
    for (const key of keys) {
      const server = compared[key];
      const { client } = live[key];
      calls[key] = async (index) => {
        const result = await client.callTool(server.echo(`bench ${index}`));
        if (result.isError) throw new Error(`${server.label} echo failed: ${JSON.stringify(result.content)}`);
        return result;
      };
      const check = await calls[key](0);
      const text = check.content?.[0]?.text;
      if (typeof text !== 'string' || !text.includes('bench 0')) throw new Error(`${server.label} echo returned ${JSON.stringify(check.content)}`);
      await sequential(calls[key], WARMUP_CALLS);
    }
    const durations = { nexus: [], reference: [] };
    const sequentialCpuMs = { nexus: 0, reference: 0 };
    const load = { nexus: { calls: 0, seconds: 0 }, reference: { calls: 0, seconds: 0 } };
    for (let round = 0; round < options.rounds; round += 1) {
      for (const key of round % 2 === 0 ? keys : [...keys].reverse()) {
        const cpuBefore = cpuMsOf(live[key].pid);
        durations[key].push(...(await sequential(calls[key], Math.ceil(options.calls / options.rounds))));
        sequentialCpuMs[key] += cpuMsOf(live[key].pid) - cpuBefore;
        const { calls: done, seconds } = await concurrent(calls[key], Math.ceil(options.concurrentCalls / options.rounds), options.concurrency);
        load[key].calls += done;
        load[key].seconds += seconds;
      }
    }
    const result = {};
    for (const key of keys) {
      result[key] = {
        spawn_ms: median(spawnMs[key]),
        startup_cpu_ms: median(startupCpuMs[key]),
        p50_ms: percentile(durations[key], 50),
        p99_ms: percentile(durations[key], 99),
        cpu_per_call_ms: sequentialCpuMs[key] / durations[key].length,
        throughput: load[key].calls / load[key].seconds,
        rss_bytes: rssOf(live[key].pid),
      };
    }
    return result;
  } finally {
    for (const connection of Object.values(live)) await connection.close();
  }
}
