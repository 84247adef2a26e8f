#!/usr/bin/env node
// `npm run conformance`: runs the official MCP conformance suite against a real Nexus.
//
// Starts `bin/nexus serve` on a free loopback port with the fixture plugin
// (examples/conformance/nexus.json) and a throwaway data dir, waits for /health, runs the
// shared wrapper `../shared/tools/conformance/conformance.sh <url>/mcp --suite all` with its
// output streamed, stops the server and exits with the suite's status.
// It builds nothing: run `npm run build` first (`npm test` does).
// Extra arguments go to the wrapper: `npm run conformance -- --scenario tools-call-image`
// (a --scenario or --suite given there replaces the default `--suite all`).

import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startNexus } from './nexus-process.mjs';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
// The shared folder sits beside the checkout (locally and in CI); an env var may point elsewhere.
const suiteScript = process.env.NEXUS_CONFORMANCE_SCRIPT ?? path.resolve(repoRoot, '../shared/tools/conformance/conformance.sh');
const configFile = path.join(repoRoot, 'examples/conformance/nexus.json');

function fail(message) {
  console.error(`conformance: ${message}`);
  process.exit(2);
}

if (!existsSync(suiteScript)) {
  fail(`the conformance runner is missing: ${suiteScript}\n` + 'It is expected in the shared folder next to the repository (../shared/tools/conformance/conformance.sh); set NEXUS_CONFORMANCE_SCRIPT to use another copy.');
}
if (!existsSync(path.join(repoRoot, 'dist/bundle/nexus.js'))) fail('dist/ is missing: run `npm run build` first.');

const extraArgs = process.argv.slice(2);
const chooses = extraArgs.some((arg) => arg === '--scenario' || arg === '--suite');
const suiteArgs = chooses ? extraArgs : ['--suite', 'all', ...extraArgs];

const dataDir = mkdtempSync(path.join(tmpdir(), 'nexus-conformance-'));
let nexus;
let exitCode = 1;
try {
  nexus = await startNexus({ repoRoot, args: ['serve', '--port', '0', '--config', configFile, '--data-dir', dataDir] });
  console.error(`conformance: Nexus ${nexus.url} (pid ${nexus.child.pid}), suite ${suiteScript}`);
  exitCode = await runSuite([`${nexus.url}/mcp`, ...suiteArgs]);
} catch (error) {
  console.error(`conformance: ${error instanceof Error ? error.message : String(error)}`);
  if (nexus === undefined || nexus.child.exitCode !== null) exitCode = 2;
} finally {
  await nexus?.stop();
  rmSync(dataDir, { recursive: true, force: true });
}
process.exit(exitCode);

/** Runs the wrapper with inherited stdio (output streams live); resolves to its exit status. */
function runSuite(args) {
  return new Promise((resolve, reject) => {
    const child = spawn(suiteScript, args, { stdio: 'inherit' });
    const forward = (signal) => child.kill(signal);
    process.on('SIGINT', forward);
    process.on('SIGTERM', forward);
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      process.off('SIGINT', forward);
      process.off('SIGTERM', forward);
      resolve(code ?? (signal ? 1 : 0));
    });
  });
}
