// The offline GloVe embedder: building its table on first use, loading it from the data-dir cache,
// the memory it holds, and how fast it embeds. Each measurement runs in a fresh child process so
// RSS is the embedder's alone (plus Node itself, shown as the baseline).
// Targets (reported, not asserted): warm load < 1 s, RSS < 150 MB.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { formatBytes, formatMs, median } from './support/stats.mjs';

export const title = 'embedder: offline GloVe table (build, load, memory, speed)';

const WARM_RUNS = 5;
const SENTENCES = 5000;

/** Runs in the child: loads the table, embeds sample sentences, prints one JSON line. */
const CHILD = `
const [moduleUrl, dataDir, sentences] = process.argv.slice(1);
const baseline = process.memoryUsage().rss;
const { GloveEmbedder, gloveCachePath } = await import(moduleUrl);
const embedder = new GloveEmbedder({ dataDir });
const started = performance.now();
await embedder.load();
const loadMs = performance.now() - started;
const afterLoad = process.memoryUsage().rss;
const words = ['we', 'adopted', 'a', 'puppy', 'from', 'the', 'shelter', 'last', 'weekend', 'and', 'she', 'loves', 'long', 'walks', 'by', 'river'];
const texts = Array.from({ length: Number(sentences) }, (_, i) => Array.from({ length: 12 }, (_, j) => words[(i * 7 + j * 3) % words.length]).join(' '));
const embedStart = performance.now();
await embedder.embed(texts);
const embedMs = performance.now() - embedStart;
console.log(JSON.stringify({ loadMs, baseline, afterLoad, maxRss: process.resourceUsage().maxRSS * 1024, embedMs, file: gloveCachePath(dataDir) }));
`;

function measure(repoRoot, dataDir) {
  const moduleUrl = pathToFileURL(path.join(repoRoot, 'dist/memory/embedders/index.js')).href;
  const output = execFileSync(process.execPath, ['--input-type=module', '-e', CHILD, moduleUrl, dataDir, String(SENTENCES)], { encoding: 'utf8', maxBuffer: 1 << 20 });
  return JSON.parse(output.trim().split('\n').at(-1));
}

export async function run(report) {
  const { repoRoot } = report.options;
  const dataDir = mkdtempSync(path.join(tmpdir(), 'nexus-bench-glove-'));
  try {
    const cold = measure(repoRoot, dataDir);
    const warm = Array.from({ length: WARM_RUNS }, () => measure(repoRoot, dataDir));
    const loadMs = median(warm.map((run) => run.loadMs));
    const rss = median(warm.map((run) => run.afterLoad));
    const maxRss = Math.max(...warm.map((run) => run.maxRss));
    const baseline = median(warm.map((run) => run.baseline));
    const perSecond = SENTENCES / (median(warm.map((run) => run.embedMs)) / 1000);
    report.note(`cache file ${path.basename(cold.file)}: ${formatBytes(statSync(cold.file).size)}; warm figures are medians of ${WARM_RUNS} fresh processes.`);
    report.table(
      ['measure', 'value', 'target'],
      [
        ['first use: build table from the package (once per data dir)', formatMs(cold.loadMs), ''],
        ['first use: peak RSS while building (in a worker thread)', formatBytes(cold.maxRss), ''],
        ['first use: RSS once built and loaded', formatBytes(cold.afterLoad), '< 150 MB'],
        ['warm load from the cache', formatMs(loadMs), '< 1 s'],
        ['RSS after warm load', formatBytes(rss), '< 150 MB'],
        ['peak RSS, warm load + embedding', formatBytes(maxRss), '< 150 MB'],
        ['Node baseline RSS (before loading)', formatBytes(baseline), ''],
        [`embedding speed (${SENTENCES} texts of 12 words)`, `${Math.round(perSecond).toLocaleString('en')} texts/s`, ''],
      ],
    );
    report.record('embedder', 'build_ms', cold.loadMs);
    report.record('embedder', 'build_peak_rss_bytes', cold.maxRss);
    report.record('embedder', 'built_rss_bytes', cold.afterLoad);
    report.record('embedder', 'warm_load_ms', loadMs);
    report.record('embedder', 'warm_rss_bytes', rss);
    report.record('embedder', 'warm_peak_rss_bytes', maxRss);
    report.record('embedder', 'texts_per_second', perSecond);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}
