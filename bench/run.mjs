#!/usr/bin/env node
// `npm run bench` (builds first): runs every bench/*.bench.mjs in file-name order. Each exports
// `async function run(report)` (and optionally `title`); `report` carries the options, prints
// tables (support/report.mjs) and collects results for --json.
//
//   node bench/run.mjs [NAME...] [--spawns 7] [--calls 2000] [--concurrent-calls 4000]
//                      [--concurrency 16] [--rounds 2] [--warmup 2000] [--json FILE]
// NAME selects sections by file name (e.g. `echo` runs echo.bench.mjs).

import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { Report } from './support/report.mjs';

const benchDir = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(benchDir, '..');

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    spawns: { type: 'string', default: '7' },
    calls: { type: 'string', default: '2000' },
    'concurrent-calls': { type: 'string', default: '4000' },
    concurrency: { type: 'string', default: '16' },
    rounds: { type: 'string', default: '2' },
    warmup: { type: 'string', default: '2000' },
    json: { type: 'string' },
  },
});

function positiveInt(name) {
  const value = Number(values[name]);
  if (!Number.isInteger(value) || value < 1) {
    console.error(`bench: --${name} must be a positive integer`);
    process.exit(2);
  }
  return value;
}

const options = {
  repoRoot,
  spawns: positiveInt('spawns'),
  calls: positiveInt('calls'),
  concurrentCalls: positiveInt('concurrent-calls'),
  concurrency: positiveInt('concurrency'),
  rounds: positiveInt('rounds'),
  warmup: positiveInt('warmup'),
};

if (!existsSync(path.join(repoRoot, 'dist/bundle/nexus.js'))) {
  console.error('bench: dist/ is missing: run `npm run build` first (`npm run bench` does).');
  process.exit(2);
}

const files = readdirSync(benchDir)
  .filter((name) => name.endsWith('.bench.mjs'))
  .filter((name) => positionals.length === 0 || positionals.some((wanted) => name.startsWith(`${wanted}.`) || name === wanted))
  .sort();
if (files.length === 0) {
  console.error(`bench: no bench/*.bench.mjs matches ${positionals.join(', ')}`);
  process.exit(2);
}

const report = new Report(options);
report.note(`Nexus benchmarks — node ${process.version}, ${process.platform}/${process.arch}`);
for (const file of files) {
  const section = await import(pathToFileURL(path.join(benchDir, file)).href);
  report.section(section.title ?? file);
  const started = performance.now();
  try {
    await section.run(report);
    report.note(`(${file}: ${((performance.now() - started) / 1000).toFixed(1)} s)`);
  } catch (error) {
    console.error(`bench: ${file} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exitCode = 1;
  }
}
if (values.json !== undefined) {
  report.saveJson(path.resolve(values.json));
  report.note(`results written to ${values.json}`);
}
