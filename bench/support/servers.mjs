// How to start each MCP server under test, over stdio or Streamable HTTP, and connect an SDK
// client to it, timing spawn → initialized. Other bench sections reuse these to drive Nexus.

import { spawn } from 'node:child_process';
import { setMaxListeners } from 'node:events';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { freePort, stopChild } from '../../scripts/nexus-process.mjs';

/**
 * The servers compared: Nexus from this checkout (built dist/) and the reference
 * @modelcontextprotocol/server-everything. `echo(text)` is each one's echo call.
 */
export function servers({ repoRoot, dataDir }) {
  const everything = path.join(repoRoot, 'node_modules/@modelcontextprotocol/server-everything/dist/index.js');
  const nexus = path.join(repoRoot, 'bin/nexus');
  return {
    nexus: {
      label: 'nexus',
      stdioArgs: [nexus, '--stdio', '--data-dir', dataDir],
      httpArgs: (port) => [nexus, 'serve', '--host', '127.0.0.1', '--port', String(port), '--data-dir', dataDir],
      httpEnv: {},
      echo: (text) => ({ name: 'echo', arguments: { text } }),
    },
    reference: {
      label: 'server-everything',
      stdioArgs: [everything, 'stdio'],
      // It reads its port from PORT and binds every interface; the client only uses 127.0.0.1.
      httpArgs: () => [everything, 'streamableHttp'],
      httpEnv: (port) => ({ PORT: String(port) }),
      echo: (text) => ({ name: 'echo', arguments: { message: text } }),
    },
  };
}

/** The environment for a server child: ours minus NEXUS_* (which would reconfigure Nexus). */
export function serverEnv(extra = {}) {
  const env = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (value !== undefined && !name.startsWith('NEXUS_')) env[name] = value;
  }
  return { ...env, ...extra };
}

// The SDK's HTTP client transport hands one AbortSignal to every fetch; under sustained load
// against an SSE server, undici's abort listeners on it pile up past the default limit of the
// warning (client-side bookkeeping, not the servers being measured), so the limit is lifted
// for signals created in the benchmark process.
setMaxListeners(0);

function newClient() {
  return new Client({ name: 'nexus-bench', version: '1.0.0' });
}

/** Spawns the server as a stdio child and initializes a client; `ms` = spawn → initialized. */
export async function connectStdio(server, { cwd, env }) {
  const started = performance.now();
  const transport = new StdioClientTransport({ command: process.execPath, args: server.stdioArgs, cwd, env, stderr: 'ignore' });
  const client = newClient();
  await client.connect(transport);
  const ms = performance.now() - started;
  return { client, ms, pid: transport.pid, cpuMs: cpuMsOf(transport.pid), close: () => client.close() };
}

/** Spawns the server on a free port, waits until it accepts, initializes a client over HTTP. */
export async function connectHttp(server, { cwd, env }) {
  const port = await freePort();
  const started = performance.now();
  const extraEnv = typeof server.httpEnv === 'function' ? server.httpEnv(port) : server.httpEnv;
  const child = spawn(process.execPath, server.httpArgs(port), { cwd, env: { ...env, ...extraEnv }, stdio: 'ignore' });
  try {
    await waitForPort(port, child);
    const client = newClient();
    await client.connect(new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${port}/mcp`)));
    const ms = performance.now() - started;
    return {
      client,
      ms,
      pid: child.pid,
      cpuMs: cpuMsOf(child.pid),
      async close() {
        await client.close();
        await stopChild(child);
      },
    };
  } catch (error) {
    await stopChild(child);
    throw error;
  }
}

/** Tries a TCP connect every few ms until the port accepts (fine-grained, unlike HTTP polling). */
async function waitForPort(port, child, timeoutMs = 20_000) {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited with code ${child.exitCode} before listening on ${port}`);
    const open = await new Promise((resolve) => {
      const socket = connect({ host: '127.0.0.1', port });
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    if (performance.now() > deadline) throw new Error(`nothing listened on 127.0.0.1:${port} within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/**
 * CPU time (user + system, ms) a process has used so far (Linux /proc), NaN where unavailable.
 * Unlike wall time it barely moves when other processes compete for the cores.
 */
export function cpuMsOf(pid) {
  try {
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15, in clock ticks.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return Number.NaN;
  }
}

// USER_HZ: 100 on every mainstream Linux build (getconf CLK_TCK).
const CLOCK_TICKS_PER_SECOND = 100;

/** Resident set size of a process in bytes (Linux /proc), NaN where unavailable. */
export function rssOf(pid) {
  try {
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}
