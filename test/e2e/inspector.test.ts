import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { childEnv, exitOf, NEXUS_BIN, spawnCli, StderrLines } from '../support/cli.js';
import { tempDir } from '../support/runtime.js';

// A real third-party client: the official MCP Inspector CLI (v2) drives Nexus's built binary
// over stdio and over Streamable HTTP. Needs `npm run build` first, as `npm test` does.

const run = promisify(execFile);
const require = createRequire(import.meta.url);
const INSPECTOR = path.join(path.dirname(require.resolve('@modelcontextprotocol/inspector/package.json')), 'clients/launcher/build/index.js');

interface ListedTool {
  name: string;
  inputSchema: { required?: string[] };
}

interface CallResult {
  content: Array<{ type: string; text?: string }>;
  structuredContent?: unknown;
  isError?: boolean;
}

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A scratch folder for data and HOME, so no user config or data is touched. */
function scratch(): string {
  const temp = tempDir('nexus-inspector-');
  cleanups.push(() => temp.remove());
  return temp.dir;
}

/** Runs `inspector --cli TARGET... ARGS` and parses the JSON it prints. */
async function inspector(dir: string, args: string[]): Promise<unknown> {
  const { stdout } = await run(process.execPath, [INSPECTOR, '--cli', ...args], { cwd: dir, env: childEnv({ HOME: dir }), timeout: 25_000, maxBuffer: 16 * 1024 * 1024 });
  return JSON.parse(stdout) as unknown;
}

function expectEcho(listed: unknown, called: unknown): void {
  const tools = (listed as { tools: ListedTool[] }).tools;
  const echo = tools.find((tool) => tool.name === 'echo');
  expect(echo?.inputSchema.required).toEqual(['text']);
  expect(tools.map((tool) => tool.name)).toContain('get_time');
  const result = called as CallResult;
  expect(result.isError).toBeUndefined();
  expect(result.content).toEqual([{ type: 'text', text: 'hello from the inspector' }]);
  expect(result.structuredContent).toEqual({ text: 'hello from the inspector' });
}

describe('MCP Inspector CLI against the nexus binary', () => {
  it('lists tools and calls echo over stdio', async () => {
    const dir = scratch();
    const server = ['node', NEXUS_BIN, '--stdio', '--data-dir', path.join(dir, 'data')];
    const listed = await inspector(dir, [...server, '--method', 'tools/list']);
    const called = await inspector(dir, [...server, '--method', 'tools/call', '--tool-name', 'echo', '--tool-arg', 'text=hello from the inspector']);
    expectEcho(listed, called);
  });

  it('lists tools and calls echo over Streamable HTTP', async () => {
    const dir = scratch();
    const child = spawnCli(['serve', '--port', '0', '--data-dir', path.join(dir, 'data')], { cwd: dir, env: { HOME: dir } });
    child.stdin.end();
    cleanups.push(async () => {
      child.kill('SIGTERM');
      await exitOf(child);
    });
    const stderr = new StderrLines(child);
    const listening = await stderr.waitFor((record) => typeof record['url'] === 'string' && typeof record['health'] === 'string');
    const url = String(listening['url']);
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/mcp$/);

    const listed = await inspector(dir, [url, '--transport', 'http', '--method', 'tools/list']);
    const called = await inspector(dir, [url, '--transport', 'http', '--method', 'tools/call', '--tool-name', 'echo', '--tool-arg', 'text=hello from the inspector']);
    expectEcho(listed, called);
  });
});
