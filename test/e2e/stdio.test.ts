import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { LATEST_PROTOCOL_VERSION } from '@modelcontextprotocol/sdk/types.js';
import { LineTransport } from '../../src/transport/stdio.js';
import { childEnv, exitOf, JsonLines, NEXUS_BIN, spawnCli } from '../support/cli.js';
import { writeE2eConfig } from '../support/e2e-plugin.js';
import { tempDir } from '../support/runtime.js';
import { deferred } from '../support/tools.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function temp(): string {
  const made = tempDir('nexus-stdio-');
  cleanups.push(() => made.remove());
  return made.dir;
}

/** The real CLI over stdio, driven by the SDK's own StdioClientTransport. */
async function sdkClient(args: string[] = []): Promise<{ client: Client; dir: string }> {
  const dir = temp();
  const config = writeE2eConfig(dir);
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [NEXUS_BIN, '--stdio', '--data-dir', dir, '-c', config, ...args],
    cwd: dir,
    env: childEnv({ HOME: dir }),
    stderr: 'pipe',
  });
  const client = new Client({ name: 'e2e-stdio', version: '1.0.0' });
  await client.connect(transport);
  cleanups.push(() => client.close());
  return { client, dir };
}

/** The real CLI as a child whose exit code and raw stdout the test can see. */
function spawnStdio(extraConfig: Record<string, unknown> = {}, args: string[] = []): { child: ChildProcessWithoutNullStreams; stdout: JsonLines; stderr: JsonLines; dir: string } {
  const dir = temp();
  const config = writeE2eConfig(dir, extraConfig);
  const child = spawnCli(['--stdio', '--data-dir', dir, '-c', config, ...args], { cwd: dir, env: { HOME: dir } });
  cleanups.push(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exitOf(child);
    }
  });
  return { child, stdout: new JsonLines(child.stdout), stderr: new JsonLines(child.stderr), dir };
}

describe('stdio end to end (real CLI, SDK StdioClientTransport)', () => {
  it('initializes, lists tools and calls echo', async () => {
    const { client } = await sdkClient();
    expect(client.getServerVersion()?.name).toBe('nexus');
    const names = (await client.listTools()).tools.map((tool) => tool.name);
    expect(names).toEqual(expect.arrayContaining(['echo', 'get_time', 'test.barrier']));
    const result = await client.callTool({ name: 'echo', arguments: { text: 'over stdio' } });
    expect(result.content).toEqual([{ type: 'text', text: 'over stdio' }]);
    expect(result.structuredContent).toEqual({ text: 'over stdio' });
  });

  it('runs concurrent calls on one connection concurrently', async () => {
    const { client } = await sdkClient();
    const count = 5;
    const results = await Promise.all(Array.from({ length: count }, () => client.callTool({ name: 'test.barrier', arguments: { count } })));
    // Each call waited until all five were in flight at once: a one-at-a-time server would see 1.
    expect(results.map((result) => (result.structuredContent as { maxInFlight: number }).maxInFlight)).toEqual(Array(count).fill(count));
  });
});

describe('stdio: shutdown', () => {
  async function connectTo(child: ChildProcessWithoutNullStreams): Promise<Client> {
    const client = new Client({ name: 'e2e-shutdown', version: '1.0.0' });
    await client.connect(new LineTransport(child.stdout, child.stdin));
    return client;
  }

  /** Starts test.sleep, waits until it runs (its first progress), sends SIGTERM, returns the call's result. */
  async function sigtermDuringSleep(child: ChildProcessWithoutNullStreams, ms: number): Promise<Awaited<ReturnType<Client['callTool']>>> {
    const client = await connectTo(child);
    const running = deferred();
    const call = client.callTool({ name: 'test.sleep', arguments: { ms } }, undefined, { onprogress: () => running.resolve() });
    await running.promise;
    child.kill('SIGTERM');
    return call;
  }

  it('SIGTERM lets an in-flight call finish (grace), then exits 0', async () => {
    const { child } = spawnStdio();
    const result = await sigtermDuringSleep(child, 300);
    expect(result.isError).toBeUndefined();
    expect(result.structuredContent).toEqual({ slept: 300 });
    expect(await exitOf(child)).toBe(0);
  });

  it('after the grace period an in-flight call is cancelled with SHUTTING_DOWN, and the exit is still 0', async () => {
    const { child, stderr } = spawnStdio({ shutdown_grace_secs: 0.1 });
    const result = await sigtermDuringSleep(child, 600_000);
    expect(result.isError).toBe(true);
    expect((result.structuredContent as { code: string }).code).toBe('SHUTTING_DOWN');
    expect(await exitOf(child)).toBe(0);
    expect(stderr.records().some((record) => record['msg'] === 'shutting down' && record['reason'] === 'SIGTERM')).toBe(true);
  });

  it('closing stdin shuts down cleanly with exit 0', async () => {
    const { child } = spawnStdio();
    const client = await connectTo(child);
    await client.ping();
    child.stdin.end();
    expect(await exitOf(child)).toBe(0);
  });
});

describe('stdio: the protocol channel', () => {
  const initialize = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: LATEST_PROTOCOL_VERSION, capabilities: {}, clientInfo: { name: 'raw', version: '1' } } };

  function send(child: ChildProcessWithoutNullStreams, line: string | object): void {
    child.stdin.write(`${typeof line === 'string' ? line : JSON.stringify(line)}\n`);
  }

  it('stdout carries only JSON-RPC, every log line goes to stderr', async () => {
    const { child, stdout, stderr } = spawnStdio({}, ['--debug']);
    send(child, initialize);
    await stdout.waitFor((message) => message['id'] === 1);
    send(child, { jsonrpc: '2.0', method: 'notifications/initialized' });
    send(child, { jsonrpc: '2.0', id: 2, method: 'tools/list' });
    send(child, { jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'echo', arguments: { text: 'hi' } } });
    send(child, { jsonrpc: '2.0', id: 4, method: 'tools/call', params: { name: 'echo', arguments: { text: 5 } } });
    await stdout.waitFor((message) => message['id'] === 4);
    child.stdin.end();
    expect(await exitOf(child)).toBe(0);

    expect(stdout.lines.length).toBeGreaterThanOrEqual(4);
    for (const line of stdout.lines) {
      const message = JSON.parse(line) as Record<string, unknown>;
      expect(message['jsonrpc'], line).toBe('2.0');
    }
    // --debug produced traces, and they went to stderr as JSON log records.
    const traces = stderr.records().filter((record) => record['msg'] === 'tool call end');
    // The two calls run concurrently, so their traces may come in either order.
    expect(traces.map((record) => [record['tool'], record['outcome'], record['errorCode']]).sort()).toEqual([
      ['echo', 'error', 'INVALID_ARGUMENTS'],
      ['echo', 'ok', undefined],
    ]);
    expect(stdout.text).not.toContain('tool call');
  });

  it('answers a malformed line with -32700 (id null) and keeps serving', async () => {
    const { child, stdout } = spawnStdio();
    send(child, '{"jsonrpc": "2.0", "id": 9, "method": ');
    const parseError = await stdout.waitFor((message) => 'error' in message);
    expect(parseError).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: -32700 } });

    send(child, initialize);
    expect(await stdout.waitFor((message) => message['id'] === 1)).toMatchObject({ result: { serverInfo: { name: 'nexus' } } });
    send(child, { jsonrpc: '2.0', method: 'notifications/initialized' });
    send(child, 'not json at all');
    send(child, { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'echo', arguments: { text: 'alive' } } });
    expect(await stdout.waitFor((message) => message['id'] === 2)).toMatchObject({ result: { structuredContent: { text: 'alive' } } });
    expect(stdout.records().filter((message) => (message['error'] as { code?: number } | undefined)?.code === -32700)).toHaveLength(2);
  });

  it('answers an invalid JSON-RPC message that has an id with -32600 and that id', async () => {
    const { child, stdout } = spawnStdio();
    send(child, { jsonrpc: '1.0', id: 'req-7', method: 'tools/list' });
    expect(await stdout.waitFor((message) => message['id'] === 'req-7')).toMatchObject({ error: { code: -32600 } });
    send(child, { jsonrpc: '2.0', id: 8, method: 42 });
    expect(await stdout.waitFor((message) => message['id'] === 8)).toMatchObject({ error: { code: -32600 } });
    send(child, [{ jsonrpc: '2.0', id: 9, method: 'ping' }]);
    expect(await stdout.waitFor((message) => message['id'] === null && (message['error'] as { code: number }).code === -32600)).toBeDefined();
    send(child, initialize);
    expect(await stdout.waitFor((message) => message['id'] === 1)).toHaveProperty('result');
  });
});
