import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { configRows } from '../scripts/gen-config-doc.mjs';
import { END_MARKER, renderToolsTable, START_MARKER } from '../scripts/gen-tools-table.mjs';
import { configSchema, loadConfig, parseConfig } from '../src/config/index.js';
import { createSilentLogger } from '../src/logging/index.js';
import { createRuntime } from '../src/runtime/runtime.js';
import { tempDir } from './support/runtime.js';

// The README's "Tools" and "Security" sections must stay true: the tools table is the generator's
// output for the live registry, every security setting is listed with its real default, and the
// example config does what the text says it does.

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
const cleanups: Array<() => Promise<void> | void> = [];
afterAll(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** The text of one `## ` section of the README. */
function section(title: string): string {
  const start = readme.indexOf(`\n## ${title}\n`);
  expect(start, `README.md has no "## ${title}" section`).toBeGreaterThan(-1);
  const end = readme.indexOf('\n## ', start + 1);
  return readme.slice(start, end === -1 ? undefined : end);
}

/** Rows of the first Markdown table in a text, as cells. */
function tableRows(text: string): string[][] {
  return text
    .split('\n')
    .filter((line) => line.startsWith('| `'))
    .map((line) =>
      line
        .slice(1, -1)
        .split(/(?<!\\)\|/)
        .map((cell) => cell.trim()),
    );
}

describe('README.md: Tools', () => {
  it('the table is what scripts/gen-tools-table.mjs renders for the registry (regenerate: npm run build && node scripts/gen-tools-table.mjs --write)', async () => {
    const temp = tempDir('nexus-readme-');
    cleanups.push(() => temp.remove());
    const runtime = await createRuntime(parseConfig({ data_dir: temp.dir }), { logger: createSilentLogger() });
    cleanups.push(() => runtime.close());
    const tools = runtime.tools.list().map((entry) => runtime.tools.describe(entry));
    const start = readme.indexOf(START_MARKER);
    const end = readme.indexOf(END_MARKER);
    expect(start).toBeGreaterThan(-1);
    expect(readme.slice(start + START_MARKER.length, end).trim()).toBe(renderToolsTable(tools));
    expect(tableRows(section('Tools')).map((cells) => cells[0]?.replace(/`| ⏱/g, ''))).toEqual(tools.map((tool) => tool.name));
  });
});

describe('README.md: Security', () => {
  const rows = new Map(tableRows(section('Security')).map(([key = '', defaultCell = '']) => [key.replaceAll('`', ''), defaultCell]));
  const schemaRows = new Map(configRows(z.toJSONSchema(configSchema, { io: 'input' })).map((row) => [row.path, row]));

  it('lists every setting of the security-relevant sections, and more', () => {
    const sections = ['security', 'http_client', 'auth', 'rate_limit', 'quotas', 'audit', 'tools'];
    const expected = [...schemaRows.values()]
      .filter((row) => sections.includes(row.section) && row.path.split('.').length === 2)
      .map((row) => row.path)
      .concat(['host', 'http.allowed_origins', 'http.allowed_hosts', 'http.max_body_bytes', 'http.legacy_sse', 'http.session_idle_secs', 'tenants', 'plugins', 'request_log']);
    expect(expected.filter((key) => !rows.has(key)), 'settings missing from the README security table').toEqual([]);
  });

  it('states each default exactly as the schema has it', () => {
    for (const [key, defaultCell] of rows) {
      const row = schemaRows.get(key);
      expect(row, `${key} is not a config key`).toBeDefined();
      const shown = /^`([^`]*)`/.exec(defaultCell)?.[1];
      if (shown !== undefined) expect(JSON.parse(shown), key).toEqual(JSON.parse(row?.default ?? ''));
      else if (defaultCell.startsWith('unset')) expect(row?.default, key).toBe('unset');
      else {
        // Prose for a long list default: it must at least give the right count.
        const list: unknown = JSON.parse(row?.default ?? 'null');
        expect(Array.isArray(list) && defaultCell.includes(String(list.length)), `${key}: "${defaultCell}"`).toBe(true);
      }
    }
  });

  it('the example opens the project read/write, allows git and ls and one local HTTP service, and nothing more', async () => {
    const example = /```json\n([\s\S]*?)\n```/.exec(section('Security'))?.[1];
    expect(example).toBeDefined();
    const home = tempDir('nexus-readme-home-');
    cleanups.push(() => home.remove());
    const project = path.join(home.dir, 'projects/my-app');
    mkdirSync(project, { recursive: true });
    writeFileSync(path.join(home.dir, 'private.txt'), 'not for tools');
    const service = createServer((_request, response) => response.end('{"service":"up"}'));
    const other = createServer((_request, response) => response.end('{"service":"other"}'));
    for (const server of [service, other]) {
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    }
    const port = (service.address() as AddressInfo).port;
    const otherPort = (other.address() as AddressInfo).port;
    // The example's local service is 127.0.0.1:8080; the test's listens on a free port instead.
    const file = path.join(home.dir, 'nexus.json');
    writeFileSync(file, (example ?? '').replace('127.0.0.1:8080', `127.0.0.1:${port}`));
    const { config } = loadConfig({ configPath: file, env: { HOME: home.dir, PATH: process.env['PATH'] ?? '' }, overrides: { data_dir: path.join(home.dir, 'data') } });
    const runtime = await createRuntime(config, { logger: createSilentLogger() });
    cleanups.push(() => runtime.close());
    const call = async (tool: string, args: Record<string, unknown>) => {
      const result = await runtime.callTool(tool, args);
      return { ok: result.isError !== true, data: result.structuredContent ?? {} };
    };

    expect(await call('fs.write_file', { path: path.join(project, 'notes.md'), content: '# notes' })).toMatchObject({ ok: true });
    expect(await call('fs.read_file', { path: 'notes.md' })).toMatchObject({ ok: true, data: { content: '# notes' } });
    expect(await call('fs.read_file', { path: path.join(home.dir, 'private.txt') })).toMatchObject({ ok: false, data: { code: 'PATH_NOT_ALLOWED' } });
    expect(await call('cmd.exec', { command: 'ls' })).toMatchObject({ ok: true, data: { stdout: 'notes.md\n' } });
    expect(await call('cmd.exec', { command: 'git', args: ['--version'] })).toMatchObject({ ok: true, data: { stdout: expect.stringMatching(/^git version /) as unknown } });
    expect(await call('cmd.exec', { command: 'cat', args: ['notes.md'] })).toMatchObject({ ok: false, data: { code: 'COMMAND_NOT_ALLOWED' } });
    expect(await call('http.request', { url: `http://127.0.0.1:${port}/status` })).toMatchObject({ ok: true, data: { status: 200, body: { service: 'up' } } });
    expect(await call('http.request', { url: `http://127.0.0.1:${otherPort}/` })).toMatchObject({ ok: false });
    expect(await call('env.get', { key: 'PATH' })).toMatchObject({ ok: false, data: { code: 'ENV_NOT_ALLOWED' } });
  });
});
