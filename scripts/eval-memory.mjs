#!/usr/bin/env node
// Memory retrieval quality on LoCoMo (`npm run eval:memory`). Everything goes through the MCP
// tools of a real `bin/nexus --stdio` (built dist/) with a throw-away data dir: one
// memory.conversation.create per LoCoMo conversation, one memory.conversation.add per turn (the
// session date as its timestamp), then memory.conversation.search per question in each mode.
// Metric (see the data's README): hit@k and recall@k of the evidence turns, categories 1–4.
//
//   node scripts/eval-memory.mjs [--data DIR] [--config nexus.json] [--k 10] [--modes fulltext,semantic,hybrid] [--json]
//
// The data is read from ../shared/evals/locomo-dev/ (never copied into the repo). --config points
// Nexus at another embedder, e.g. Ollama: {"memory":{"embedder":{"provider":"openai",…}}}.
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values: options } = parseArgs({
  options: {
    data: { type: 'string', default: path.resolve(repoRoot, '../shared/evals/locomo-dev') },
    config: { type: 'string' },
    k: { type: 'string', default: '10' },
    modes: { type: 'string', default: 'fulltext,semantic,hybrid' },
    json: { type: 'boolean', default: false },
  },
});
const K = Number(options.k);
const CUTOFFS = [5, 10].filter((cutoff) => cutoff <= K);
const MODES = options.modes.split(',').map((mode) => mode.trim()).filter(Boolean);
const CATEGORIES = new Set([1, 2, 3, 4]);
const CATEGORY_NAMES = { 1: 'multi-hop', 2: 'temporal', 3: 'open-domain', 4: 'single-hop' };
const MONTHS = ['january', 'february', 'march', 'april', 'may', 'june', 'july', 'august', 'september', 'october', 'november', 'december'];

/** "1:56 pm on 8 May, 2023" → RFC 3339 (UTC: the data names no zone). */
export function parseSessionDate(text) {
  const match = /(\d{1,2}):(\d{2})\s*(am|pm)\s+on\s+(\d{1,2})\s+([A-Za-z]+),?\s+(\d{4})/i.exec(text);
  if (!match) throw new Error(`unrecognised session date: ${text}`);
  const [, hour, minute, half, day, monthName, year] = match;
  const month = MONTHS.indexOf(monthName.toLowerCase());
  if (month < 0) throw new Error(`unrecognised month in: ${text}`);
  const hours = (Number(hour) % 12) + (half.toLowerCase() === 'pm' ? 12 : 0);
  return new Date(Date.UTC(Number(year), month, Number(day), hours, Number(minute))).toISOString();
}

/** The evidence ids of a question, tolerating the data's few malformed entries ("D8:6; D9:17", "D:11:26"). */
function evidenceOf(question) {
  return [
    ...new Set(
      (question.evidence ?? [])
        .flatMap((entry) => String(entry).split(/[;,\s]+/))
        .map((entry) => entry.replace(/^D:/, 'D'))
        .filter((entry) => /^D\d+:\d+$/.test(entry)),
    ),
  ];
}

function loadConversations(dir) {
  return readdirSync(dir)
    .filter((file) => /^conv-.*\.json$/.test(file))
    .sort()
    .map((file) => {
      const raw = JSON.parse(readFileSync(path.join(dir, file), 'utf8'));
      const turns = [];
      for (let session = 1; Array.isArray(raw[`session_${session}`]); session += 1) {
        const timestamp = parseSessionDate(raw[`session_${session}_date_time`]);
        for (const turn of raw[`session_${session}`]) turns.push({ ...turn, session, timestamp });
      }
      const questions = raw.qa
        .filter((question) => CATEGORIES.has(question.category))
        .map((question) => ({ ...question, evidence: evidenceOf(question) }))
        .filter((question) => question.evidence.length > 0);
      return { name: file.replace(/\.json$/, ''), speakers: [raw.speaker_a, raw.speaker_b], turns, questions };
    });
}

async function call(client, name, args) {
  const result = await client.callTool({ name, arguments: args });
  if (result.isError) throw new Error(`${name} failed: ${JSON.stringify(result.structuredContent ?? result.content)}`);
  return result.structuredContent;
}

async function load(client, conversation) {
  const { conversation_id: id } = await call(client, 'memory.conversation.create', { title: `LoCoMo ${conversation.name}`, metadata: { source: 'locomo', speakers: conversation.speakers } });
  for (const turn of conversation.turns) {
    const metadata = { dia_id: turn.dia_id, session: turn.session, ...(turn.blip_caption ? { blip_caption: turn.blip_caption } : {}) };
    await call(client, 'memory.conversation.add', { conversation_id: id, role: turn.speaker, name: turn.speaker, content: turn.text, timestamp: turn.timestamp, metadata });
  }
  return id;
}

/** Waits until every stored message has its vector (the embedding queue works in the background). */
async function waitForIndex(client, conversationId) {
  for (let round = 0; ; round += 1) {
    const { status } = await call(client, 'memory.conversation.search', { query: 'status', conversation_id: conversationId, mode: 'fulltext', limit: 1 });
    if (status.state === 'ready' || status.state === 'unavailable') return status;
    if (status.state === 'degraded' || status.state === 'embedder_changed') throw new Error(`semantic index not usable: ${status.message}`);
    if (round % 50 === 0) process.stderr.write(`  waiting for ${status.pending} embeddings…\n`);
    await delay(100);
  }
}

function emptyScores() {
  return { questions: 0, ...Object.fromEntries(CUTOFFS.flatMap((cutoff) => [[`hit@${cutoff}`, 0], [`recall@${cutoff}`, 0]])) };
}

function addScores(scores, evidence, retrieved) {
  scores.questions += 1;
  for (const cutoff of CUTOFFS) {
    const found = retrieved.slice(0, cutoff).filter((id) => evidence.includes(id)).length;
    scores[`hit@${cutoff}`] += found > 0 ? 1 : 0;
    scores[`recall@${cutoff}`] += found / evidence.length;
  }
}

function averages(scores) {
  return Object.fromEntries(Object.entries(scores).map(([key, value]) => [key, key === 'questions' ? value : value / Math.max(1, scores.questions)]));
}

async function main() {
  const conversations = loadConversations(options.data);
  const dataDir = mkdtempSync(path.join(tmpdir(), 'nexus-eval-memory-'));
  // The offline embedder builds its word table on first use (tens of seconds); keep it across runs.
  const tableCache = path.join(tmpdir(), 'nexus-eval-embeddings');
  mkdirSync(path.join(dataDir, 'embeddings'), { recursive: true });
  if (existsSync(tableCache)) for (const file of readdirSync(tableCache)) copyFileSync(path.join(tableCache, file), path.join(dataDir, 'embeddings', file));
  const args = [path.join(repoRoot, 'bin/nexus'), '--stdio', '--data-dir', dataDir, ...(options.config ? ['--config', path.resolve(options.config)] : [])];
  const transport = new StdioClientTransport({ command: process.execPath, args, cwd: dataDir, env: { ...process.env, HOME: dataDir, NEXUS_LOG_LEVEL: 'warn' }, stderr: 'inherit' });
  const client = new Client({ name: 'nexus-eval-memory', version: '1.0.0' });
  const started = performance.now();
  try {
    await client.connect(transport);
    const totals = Object.fromEntries(MODES.map((mode) => [mode, emptyScores()]));
    const byCategory = Object.fromEntries(MODES.map((mode) => [mode, {}]));
    const byConversation = Object.fromEntries(MODES.map((mode) => [mode, {}]));
    let status;
    for (const conversation of conversations) {
      const loadStart = performance.now();
      const id = await load(client, conversation);
      status = await waitForIndex(client, id);
      process.stderr.write(`${conversation.name}: ${conversation.turns.length} turns stored and indexed in ${((performance.now() - loadStart) / 1000).toFixed(1)} s; ${conversation.questions.length} questions\n`);
      for (const question of conversation.questions) {
        for (const mode of MODES) {
          const result = await call(client, 'memory.conversation.search', { query: question.question, conversation_id: id, mode, limit: K });
          const retrieved = result.results.map((hit) => hit.metadata.dia_id);
          addScores(totals[mode], question.evidence, retrieved);
          addScores((byCategory[mode][question.category] ??= emptyScores()), question.evidence, retrieved);
          addScores((byConversation[mode][conversation.name] ??= emptyScores()), question.evidence, retrieved);
        }
      }
    }
    const report = {
      data: options.data,
      embedder: status?.embedder ?? null,
      k: K,
      seconds: Math.round((performance.now() - started) / 100) / 10,
      modes: Object.fromEntries(MODES.map((mode) => [mode, averages(totals[mode])])),
      categories: Object.fromEntries(MODES.map((mode) => [mode, Object.fromEntries(Object.entries(byCategory[mode]).map(([category, scores]) => [CATEGORY_NAMES[category] ?? category, averages(scores)]))])),
      conversations: Object.fromEntries(MODES.map((mode) => [mode, Object.fromEntries(Object.entries(byConversation[mode]).map(([name, scores]) => [name, averages(scores)]))])),
    };
    if (options.json) {
      console.log(JSON.stringify(report, null, 2));
      return;
    }
    const columns = CUTOFFS.flatMap((cutoff) => [`hit@${cutoff}`, `recall@${cutoff}`]);
    console.log(`LoCoMo (${path.basename(options.data)}): ${report.modes[MODES[0]]?.questions ?? 0} questions, categories 1-4, embedder ${report.embedder}, ${report.seconds} s`);
    console.log(`| mode | ${columns.join(' | ')} |`);
    console.log(`|---|${columns.map(() => '---').join('|')}|`);
    for (const mode of MODES) console.log(`| ${mode} | ${columns.map((column) => report.modes[mode][column].toFixed(3)).join(' | ')} |`);
    console.log(`\nrecall@${CUTOFFS.at(-1)} by category:`);
    console.log(`| mode | ${Object.values(CATEGORY_NAMES).join(' | ')} |`);
    console.log(`|---|${Object.values(CATEGORY_NAMES).map(() => '---').join('|')}|`);
    for (const mode of MODES) {
      console.log(`| ${mode} | ${Object.values(CATEGORY_NAMES).map((name) => report.categories[mode][name]?.[`recall@${CUTOFFS.at(-1)}`]?.toFixed(3) ?? '-').join(' | ')} |`);
    }
    // The spread between conversations hints at how far a held-out split may land from these figures.
    const names = conversations.map((conversation) => conversation.name);
    console.log(`\nrecall@${CUTOFFS.at(-1)} by conversation:`);
    console.log(`| mode | ${names.join(' | ')} |`);
    console.log(`|---|${names.map(() => '---').join('|')}|`);
    for (const mode of MODES) console.log(`| ${mode} | ${names.map((name) => report.conversations[mode][name]?.[`recall@${CUTOFFS.at(-1)}`]?.toFixed(3) ?? '-').join(' | ')} |`);
  } finally {
    await client.close().catch(() => undefined);
    mkdirSync(tableCache, { recursive: true });
    for (const file of readdirSync(path.join(dataDir, 'embeddings')).filter((name) => name.endsWith('.bin'))) copyFileSync(path.join(dataDir, 'embeddings', file), path.join(tableCache, file));
    rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
