// Starts `bin/nexus` as a child process and finds its HTTP address: shared by
// scripts/conformance.mjs, the benchmarks and the e2e tests (types in nexus-process.d.mts).

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import path from 'node:path';
import { createInterface } from 'node:readline';

/**
 * Spawns `node bin/nexus ...args` (give `--port 0` for a free port) and resolves once its
 * "listening" log line named the URL and /health answers. Rejects with the server's stderr
 * when it exits first or takes longer than `timeoutMs`.
 */
export async function startNexus({ repoRoot, args, env = process.env, timeoutMs = 20_000 }) {
  const child = spawn(process.execPath, [path.join(repoRoot, 'bin/nexus'), ...args], { cwd: repoRoot, env, stdio: ['ignore', 'ignore', 'pipe'] });
  const stderr = [];
  let announced;
  const urlSeen = new Promise((resolve) => {
    announced = resolve;
  });
  createInterface({ input: child.stderr }).on('line', (line) => {
    stderr.push(line);
    if (stderr.length > 200) stderr.shift();
    const url = listeningUrl(line);
    if (url !== undefined) announced(url);
  });
  const exited = once(child, 'exit').then(([code, signal]) => {
    throw new Error(`nexus exited (${signal ?? `code ${code}`}) before it was ready:\n${stderr.join('\n')}`);
  });
  exited.catch(() => undefined);
  let timer;
  const timedOut = new Promise((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`nexus was not ready within ${timeoutMs} ms:\n${stderr.join('\n')}`)), timeoutMs);
  });
  const stop = () => stopChild(child);
  try {
    const url = await Promise.race([urlSeen, exited, timedOut]);
    await Promise.race([waitForHttp(`${url}/health`, { timeoutMs }), exited, timedOut]);
    return { url, child, stop, stderr: () => stderr.join('\n') };
  } catch (error) {
    await stop();
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

/** The MCP base URL from Nexus's pino "listening" line, e.g. http://127.0.0.1:41234. */
function listeningUrl(line) {
  if (!line.startsWith('{')) return undefined;
  try {
    const entry = JSON.parse(line);
    return typeof entry.url === 'string' && typeof entry.health === 'string' ? entry.url.replace(/\/mcp$/, '') : undefined;
  } catch {
    return undefined;
  }
}

/** Polls a URL until it answers with any HTTP status (the server is accepting connections). */
export async function waitForHttp(url, { timeoutMs = 20_000, intervalMs = 50 } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      await response.body?.cancel();
      return response.status;
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`${url} did not answer within ${timeoutMs} ms: ${error instanceof Error ? error.message : String(error)}`);
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  }
}

/** A TCP port free on 127.0.0.1 right now (for servers that cannot be told to pick one). */
export async function freePort() {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address();
  server.close();
  await once(server, 'close');
  return port;
}

/** SIGTERM, then SIGKILL if the process has not exited after `graceMs`. */
export async function stopChild(child, graceMs = 10_000) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}
