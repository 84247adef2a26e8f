import { mkdirSync, realpathSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { isRunning, lifelineServer } from '../support/processes.js';
import { startTestRuntime, tempDir, type TestRuntime } from '../support/runtime.js';

const NODE = process.execPath;
let harness: TestRuntime | undefined;
const cleanups: Array<() => Promise<void> | void> = [];

afterEach(async () => {
  await harness?.close();
  harness = undefined;
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function start(security: Record<string, unknown> = {}): Promise<{ harness: TestRuntime; root: string }> {
  const temp = tempDir('nexus-cmd-');
  cleanups.push(() => temp.remove());
  const root = realpathSync(temp.dir);
  harness = await startTestRuntime({ security: { allowed_commands: ['echo', 'sh', 'sleep', NODE], allowed_read_paths: [root], ...security } });
  return { harness, root };
}

interface CmdData {
  exit_code: number;
  success: boolean;
  stdout: string;
  stderr: string;
  signal: string | null;
  truncated_stdout: boolean;
  truncated_stderr: boolean;
  duration_ms: number;
}

const data = (result: CallToolResult): CmdData => result.structuredContent as unknown as CmdData;
const errorOf = (result: CallToolResult): { code: string; message: string; details: Record<string, unknown> } => {
  expect(result.isError).toBe(true);
  return result.structuredContent as { code: string; message: string; details: Record<string, unknown> };
};

async function exec(args: Record<string, unknown>): Promise<CallToolResult> {
  if (!harness) throw new Error('no runtime');
  return (await harness.client.callTool({ name: 'cmd.exec', arguments: args })) as CallToolResult;
}

describe('cmd.exec', () => {
  it('runs an allowed program with argv passed verbatim (no shell) and reports the original fields', async () => {
    await start();
    const result = await exec({ command: 'echo', args: ['$(id)', '; rm -rf /', '`x`'] });
    expect(result.isError).toBeFalsy();
    expect(data(result)).toMatchObject({ exit_code: 0, success: true, stdout: '$(id) ; rm -rf / `x`\n', stderr: '', signal: null, truncated_stdout: false });
    expect(JSON.parse((result.content[0] as { text: string }).text)).toMatchObject({ exit_code: 0, success: true });
  });

  it('refuses programs that are not on the allow-list, whatever the spelling', async () => {
    await start({ allowed_commands: ['echo'] });
    for (const command of ['ls', 'sh', '/bin/sh', './echo', '../bin/echo', 'echo ', 'ECHO']) {
      const error = errorOf(await exec({ command, args: ['-c', 'id'] }));
      expect(error.code, command).toBe('COMMAND_NOT_ALLOWED');
    }
    // The same program reached by absolute path is the allowed one.
    const echoPath = realpathSync('/usr/bin/echo');
    const result = await exec({ command: echoPath, args: ['by path'] });
    expect(data(result).stdout).toBe('by path\n');
  });

  it('refuses everything when the allow-list is empty (the default)', async () => {
    harness = await startTestRuntime({});
    const error = errorOf(await exec({ command: 'echo', args: ['hi'] }));
    expect(error.code).toBe('COMMAND_NOT_ALLOWED');
  });

  it('gives the child only the variables named in security.command_env', async () => {
    await start({ command_env: ['PATH'] });
    const result = await exec({ command: NODE, args: ['-e', 'process.stdout.write(JSON.stringify(Object.keys(process.env)))'] });
    expect(JSON.parse(data(result).stdout)).toEqual(['PATH']);
  });

  it('reports a non-zero exit as an error result that still carries the data', async () => {
    await start();
    const result = await exec({ command: NODE, args: ['-e', 'console.log("out"); console.error("err"); process.exit(3)'] });
    expect(result.isError).toBe(true);
    expect(data(result)).toMatchObject({ exit_code: 3, success: false, stdout: 'out\n', stderr: 'err\n' });
  });

  it('passes stdin text and closes it', async () => {
    await start();
    const result = await exec({ command: NODE, args: ['-e', 'process.stdin.pipe(process.stdout)'], stdin: 'from stdin' });
    expect(data(result).stdout).toBe('from stdin');
  });

  it('caps a flood on both streams at max_output_bytes without deadlocking', async () => {
    await start({ max_output_bytes: 65_536 });
    // 50 MB on stdout and 5 MB on stderr: far past any pipe buffer, interleaved.
    const script = 'const a = "y".repeat(1 << 20) + "\\n"; for (let i = 0; i < 50; i++) { process.stdout.write(a); if (i % 10 === 0) process.stderr.write(a); }';
    const result = await exec({ command: NODE, args: ['-e', script] });
    expect(data(result)).toMatchObject({ exit_code: 0, truncated_stdout: true, truncated_stderr: true });
    expect(Buffer.byteLength(data(result).stdout)).toBe(65_536);
    expect(Buffer.byteLength(data(result).stderr)).toBe(65_536);
  });

  it('kills a command that never ends when its timeout passes', async () => {
    await start();
    const error = errorOf(await exec({ command: 'sleep', args: ['100'], timeout_secs: 0.5 }));
    expect(error.code).toBe('TOOL_TIMEOUT');
    expect(error.details['timeout_secs']).toBe(0.5);
  });

  it('kills the whole process group on timeout: a grandchild dies too', async () => {
    await start();
    const error = errorOf(await exec({ command: 'sh', args: ['-c', 'sleep 100 & echo $!; wait'], timeout_secs: 0.5 }));
    expect(error.code).toBe('TOOL_TIMEOUT');
    const grandchild = Number.parseInt(String(error.details['stdout']), 10);
    expect(grandchild).toBeGreaterThan(1);
    expect(isRunning(grandchild)).toBe(false);
  });

  it('kills what a command leaves running in its group when it exits', async () => {
    await start();
    const result = await exec({ command: 'sh', args: ['-c', 'sleep 100 & echo $!'] });
    expect(data(result).exit_code).toBe(0);
    const leftover = Number.parseInt(data(result).stdout, 10);
    expect(isRunning(leftover)).toBe(false);
  });

  it("kills the child and its grandchild when the client's AbortSignal cancels the call", async () => {
    await start();
    const lifeline = await lifelineServer();
    cleanups.push(() => lifeline.close());
    const connect = `require("net").connect(${lifeline.port}, "127.0.0.1"); setInterval(() => {}, 1e9);`;
    const script = `require("child_process").spawn(process.execPath, ["-e", ${JSON.stringify(connect)}], { stdio: "ignore" }); ${connect}`;
    const controller = new AbortController();
    const call = harness!.client.callTool({ name: 'cmd.exec', arguments: { command: NODE, args: ['-e', script], timeout_secs: 120 } }, undefined, { signal: controller.signal });
    await lifeline.connected(2);
    controller.abort();
    await expect(call).rejects.toThrow();
    // Both processes' connections close only when the processes are gone.
    await lifeline.allClosed();
  });

  it('streams output lines as progress notifications when the client asks for progress', async () => {
    await start();
    const messages: string[] = [];
    const result = await harness!.client.callTool(
      { name: 'cmd.exec', arguments: { command: NODE, args: ['-e', 'console.log("one"); console.error("two"); console.log("three")'] } },
      undefined,
      { onprogress: (progress) => messages.push(progress.message ?? '') },
    );
    expect((result.structuredContent as CmdData).exit_code).toBe(0);
    expect(messages).toContain('one');
    expect(messages).toContain('three');
    expect(messages).toContain('[stderr] two');
    expect(messages.indexOf('one')).toBeLessThan(messages.indexOf('three'));
  });

  it('runs in a working directory inside the read roots and refuses one outside', async () => {
    const { root } = await start();
    mkdirSync(path.join(root, 'sub'));
    const inside = await exec({ command: NODE, args: ['-e', 'process.stdout.write(process.cwd())'], cwd: 'sub' });
    expect(data(inside).stdout).toBe(path.join(root, 'sub'));
    const defaulted = await exec({ command: NODE, args: ['-e', 'process.stdout.write(process.cwd())'] });
    expect(data(defaulted).stdout).toBe(root);
    for (const cwd of ['/', '..', '/etc']) {
      expect(errorOf(await exec({ command: 'echo', cwd })).code, cwd).toBe('PATH_NOT_ALLOWED');
    }
    symlinkSync('/', path.join(root, 'escape'));
    expect(errorOf(await exec({ command: 'echo', cwd: 'escape' })).code).toBe('PATH_NOT_ALLOWED');
  });

  it('keeps serving after hostile calls', async () => {
    await start();
    await exec({ command: 'sleep', args: ['100'], timeout_secs: 0.2 });
    const result = await harness!.client.callTool({ name: 'echo', arguments: { text: 'still here' } });
    expect(result.structuredContent).toEqual({ text: 'still here' });
  });
});
