import { execFileSync } from 'node:child_process';
import { chmodSync, closeSync, mkdirSync, openSync, readdirSync, readFileSync, statSync, symlinkSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestRuntime, tempDir, type TestRuntime } from '../support/runtime.js';

type Result = Awaited<ReturnType<TestRuntime['client']['callTool']>>;

let harness: TestRuntime;
let base: { dir: string; remove(): void };
let root: string;
let outside: string;

function call(name: string, args: Record<string, unknown>): Promise<Result> {
  return harness.client.callTool({ name, arguments: args });
}
function text(result: Result): string {
  const [first] = result.content as Array<{ type: string; text: string }>;
  return first?.text ?? '';
}
function data<T = Record<string, unknown>>(result: Result): T {
  expect(result.isError, JSON.stringify(result.structuredContent)).not.toBe(true);
  return result.structuredContent as T;
}
function errorOf(result: Result): { code: string; message: string; details: Record<string, unknown> } {
  expect(result.isError).toBe(true);
  return result.structuredContent as { code: string; message: string; details: Record<string, unknown> };
}
async function expectServing(): Promise<void> {
  expect(text(await call('echo', { text: 'alive' }))).toBe('alive');
}

beforeAll(async () => {
  base = tempDir('nexus-fs-');
  root = path.join(base.dir, 'root');
  outside = path.join(base.dir, 'outside');
  mkdirSync(path.join(root, 'docs', 'deep', 'deeper'), { recursive: true });
  mkdirSync(outside);
  writeFileSync(path.join(outside, 'secret.txt'), 'TOP SECRET');
  writeFileSync(path.join(root, 'hello.txt'), 'hello world\n');
  writeFileSync(path.join(root, 'docs', 'a.md'), '# A');
  writeFileSync(path.join(root, 'docs', 'deep', 'b.md'), '# B');
  writeFileSync(path.join(root, 'docs', 'deep', 'deeper', 'c.md'), '# C');
  symlinkSync(path.join(outside, 'secret.txt'), path.join(root, 'link-out'));
  symlinkSync(outside, path.join(root, 'dir-link'));
  symlinkSync('hello.txt', path.join(root, 'link-in'));
  symlinkSync(path.join(outside, 'missing.txt'), path.join(root, 'dangling-out'));
  harness = await startTestRuntime({ security: { allowed_read_paths: [root], allowed_write_paths: [root], max_write_bytes: 4096 } });
});
afterAll(async () => {
  await harness.close();
  base.remove();
});

describe('fs tools are listed with full metadata', () => {
  it('every fs tool has a title, four annotations and an output schema; only write is destructive', async () => {
    const { tools } = await harness.client.listTools();
    for (const name of ['fs.read_file', 'fs.write_file', 'fs.list_dir', 'fs.stat']) {
      const tool = tools.find((candidate) => candidate.name === name);
      expect(tool?.title, name).toBeTruthy();
      expect(tool?.outputSchema?.type).toBe('object');
      expect(tool?.annotations?.destructiveHint).toBe(name === 'fs.write_file');
      expect(tool?.annotations?.readOnlyHint).toBe(name !== 'fs.write_file');
      expect(tool?.annotations?.openWorldHint).toBe(false);
    }
  });
});

describe('fs.read_file', () => {
  it('returns the raw content as text, relative to the first root or absolute', async () => {
    const result = await call('fs.read_file', { path: 'hello.txt' });
    expect(text(result)).toBe('hello world\n');
    expect(data(result)).toEqual({ path: 'hello.txt', content: 'hello world\n', encoding: 'utf8', size: 12, offset: 0, bytes_returned: 12, truncated: false, eof: true, next_offset: null });
    expect(text(await call('fs.read_file', { path: path.join(root, 'docs', 'a.md') }))).toBe('# A');
  });

  it('follows a symlink that stays inside the root', async () => {
    expect(text(await call('fs.read_file', { path: 'link-in' }))).toBe('hello world\n');
  });

  it.each([
    ['../ traversal', () => '../outside/secret.txt'],
    ['an absolute path outside the roots', () => path.join(outside, 'secret.txt')],
    ['a symlink inside the root pointing out', () => 'link-out'],
    ['a path through a symlinked folder pointing out', () => 'dir-link/secret.txt'],
    ['a dotted escape inside a longer path', () => 'docs/../../outside/secret.txt'],
    ['/etc/passwd', () => '/etc/passwd'],
  ])('refuses %s with PATH_NOT_ALLOWED', async (_label, target) => {
    const error = errorOf(await call('fs.read_file', { path: target() }));
    expect(error.code).toBe('PATH_NOT_ALLOWED');
    expect(JSON.stringify(error)).not.toContain('TOP SECRET');
    await expectServing();
  });

  it('gives no existence oracle outside the roots: missing and existing look the same', async () => {
    const existing = errorOf(await call('fs.read_file', { path: path.join(outside, 'secret.txt') }));
    const missing = errorOf(await call('fs.read_file', { path: path.join(outside, 'nothing-here.txt') }));
    const viaDangling = errorOf(await call('fs.read_file', { path: 'dangling-out' }));
    const viaLink = errorOf(await call('fs.read_file', { path: 'link-out' }));
    expect(missing.code).toBe(existing.code);
    expect(missing.message.replace('nothing-here', 'secret')).toBe(existing.message);
    expect(viaDangling.code).toBe('PATH_NOT_ALLOWED');
    expect(viaDangling.message.replace('dangling-out', 'link-out')).toBe(viaLink.message);
  });

  it('reports FILE_NOT_FOUND only inside the roots', async () => {
    expect(errorOf(await call('fs.read_file', { path: 'nope.txt' })).code).toBe('FILE_NOT_FOUND');
    expect(errorOf(await call('fs.read_file', { path: 'docs/nope/deeper.txt' })).code).toBe('FILE_NOT_FOUND');
  });

  it('refuses a file that was swapped for a symlink to the outside between calls', async () => {
    const swap = path.join(root, 'swap.txt');
    writeFileSync(swap, 'innocent');
    expect(text(await call('fs.read_file', { path: 'swap.txt' }))).toBe('innocent');
    unlinkSync(swap);
    symlinkSync(path.join(outside, 'secret.txt'), swap);
    const error = errorOf(await call('fs.read_file', { path: 'swap.txt' }));
    expect(error.code).toBe('PATH_NOT_ALLOWED');
    expect(errorOf(await call('fs.write_file', { path: 'swap.txt', content: 'overwrite' })).code).toBe('PATH_NOT_ALLOWED');
    expect(readFileSync(path.join(outside, 'secret.txt'), 'utf8')).toBe('TOP SECRET');
    unlinkSync(swap);
  });

  it('caps a 100 MB file at max_read_bytes and pages with offset/length', async () => {
    const big = path.join(root, 'big.bin');
    closeSync(openSync(big, 'w'));
    truncateSync(big, 100 * 1024 * 1024);
    writeFileSync(path.join(root, 'big-tail.txt'), '');
    const first = data<{ size: number; bytes_returned: number; truncated: boolean; eof: boolean; next_offset: number; encoding: string; content: string }>(await call('fs.read_file', { path: 'big.bin' }));
    expect(first).toMatchObject({ size: 100 * 1024 * 1024, bytes_returned: 1024 * 1024, truncated: true, eof: false, next_offset: 1024 * 1024, encoding: 'base64' });
    expect(Buffer.from(first.content, 'base64').length).toBe(1024 * 1024);
    const tail = data(await call('fs.read_file', { path: 'big.bin', offset: 100 * 1024 * 1024 - 10, length: 100 }));
    expect(tail).toMatchObject({ bytes_returned: 10, eof: true, truncated: false, next_offset: null });
    const huge = data(await call('fs.read_file', { path: 'big.bin', length: 50 * 1024 * 1024 }));
    expect(huge['bytes_returned']).toBe(1024 * 1024);
    unlinkSync(big);
    await expectServing();
  });

  it('returns binary data as base64, refuses it as utf8, and keeps UTF-8 characters whole across chunks', async () => {
    const bytes = Buffer.from(Array.from({ length: 256 }, (_v, index) => index));
    writeFileSync(path.join(root, 'all-bytes.bin'), bytes);
    const auto = data<{ encoding: string; content: string }>(await call('fs.read_file', { path: 'all-bytes.bin' }));
    expect(auto.encoding).toBe('base64');
    expect(Buffer.from(auto.content, 'base64').equals(bytes)).toBe(true);
    expect(errorOf(await call('fs.read_file', { path: 'all-bytes.bin', encoding: 'utf8' })).code).toBe('NOT_UTF8');

    writeFileSync(path.join(root, 'accents.txt'), 'ééé');
    const chunk = data(await call('fs.read_file', { path: 'accents.txt', length: 3 }));
    expect(chunk).toMatchObject({ content: 'é', bytes_returned: 2, next_offset: 2, truncated: true });
    const rest = data(await call('fs.read_file', { path: 'accents.txt', offset: 2 }));
    expect(rest).toMatchObject({ content: 'éé', eof: true });
  });

  it('refuses folders and special files without blocking on them', async () => {
    expect(errorOf(await call('fs.read_file', { path: 'docs' })).code).toBe('NOT_A_FILE');
    const fifo = path.join(root, 'pipe');
    execFileSync('mkfifo', [fifo]);
    expect(errorOf(await call('fs.read_file', { path: 'pipe' })).code).toBe('NOT_A_FILE');
    unlinkSync(fifo);
  });
});

describe('fs.write_file', () => {
  it('writes atomically, leaves no temporary files and keeps an existing file\'s mode', async () => {
    const target = path.join(root, 'notes.txt');
    const created = await call('fs.write_file', { path: 'notes.txt', content: 'first' });
    expect(JSON.parse(text(created))).toEqual({ success: true, path: 'notes.txt', bytes_written: 5 });
    expect(data(created)).toMatchObject({ created: true, appended: false });
    chmodSync(target, 0o640);
    const before = statSync(target).ino;
    expect(data(await call('fs.write_file', { path: 'notes.txt', content: 'second' }))).toMatchObject({ created: false });
    expect(readFileSync(target, 'utf8')).toBe('second');
    expect(statSync(target).mode & 0o777).toBe(0o640);
    expect(statSync(target).ino).not.toBe(before); // replaced by rename, not rewritten in place
    expect(readdirSync(root).filter((name) => name.endsWith('.tmp'))).toEqual([]);
  });

  it('appends (the original\'s append flag)', async () => {
    await call('fs.write_file', { path: 'log.txt', content: 'a\n' });
    expect(data(await call('fs.write_file', { path: 'log.txt', content: 'b\n', append: true }))).toMatchObject({ appended: true, bytes_written: 2 });
    expect(readFileSync(path.join(root, 'log.txt'), 'utf8')).toBe('a\nb\n');
  });

  it('writes base64 content byte for byte', async () => {
    const bytes = Buffer.from([0, 255, 1, 254]);
    await call('fs.write_file', { path: 'raw.bin', content: bytes.toString('base64'), encoding: 'base64' });
    expect(readFileSync(path.join(root, 'raw.bin')).equals(bytes)).toBe(true);
    expect(errorOf(await call('fs.write_file', { path: 'raw.bin', content: 'not base64!', encoding: 'base64' })).code).toBe('INVALID_BASE64');
  });

  it('creates parent folders only when asked, and only inside the root', async () => {
    expect(errorOf(await call('fs.write_file', { path: 'new/sub/file.txt', content: 'x' })).code).toBe('FILE_NOT_FOUND');
    expect(data(await call('fs.write_file', { path: 'new/sub/file.txt', content: 'x', create_dirs: true }))).toMatchObject({ success: true });
    expect(readFileSync(path.join(root, 'new', 'sub', 'file.txt'), 'utf8')).toBe('x');
    expect(errorOf(await call('fs.write_file', { path: '../outside/new/evil.txt', content: 'x', create_dirs: true })).code).toBe('PATH_NOT_ALLOWED');
    expect(errorOf(await call('fs.write_file', { path: 'dir-link/evil.txt', content: 'x', create_dirs: true })).code).toBe('PATH_NOT_ALLOWED');
    expect(readdirSync(outside)).toEqual(['secret.txt']);
  });

  it('refuses writes outside the roots, over folders, and past max_write_bytes', async () => {
    expect(errorOf(await call('fs.write_file', { path: path.join(outside, 'x.txt'), content: 'x' })).code).toBe('PATH_NOT_ALLOWED');
    expect(errorOf(await call('fs.write_file', { path: 'link-out', content: 'x' })).code).toBe('PATH_NOT_ALLOWED');
    expect(errorOf(await call('fs.write_file', { path: 'docs', content: 'x' })).code).toBe('NOT_A_FILE');
    expect(errorOf(await call('fs.write_file', { path: 'hello.txt/child', content: 'x' })).code).toBe('NOT_A_DIRECTORY');
    const tooBig = errorOf(await call('fs.write_file', { path: 'big.txt', content: 'x'.repeat(5000) }));
    expect(tooBig).toMatchObject({ code: 'FILE_TOO_LARGE', details: { bytes: 5000, limit: 4096 } });
    expect(readFileSync(path.join(outside, 'secret.txt'), 'utf8')).toBe('TOP SECRET');
    await expectServing();
  });
});

describe('fs.list_dir and fs.stat', () => {
  it('lists entries with type, size and mtime, sorted, without following symlinks', async () => {
    const listing = data<{ entries: Array<{ name: string; type: string; size: number; mtime: string }>; truncated: boolean }>(await call('fs.list_dir', { path: '.' }));
    const byName = Object.fromEntries(listing.entries.map((entry) => [entry.name, entry]));
    expect(byName['hello.txt']).toMatchObject({ type: 'file', size: 12 });
    expect(byName['docs']?.type).toBe('directory');
    expect(byName['dir-link']?.type).toBe('symlink');
    expect(Number.isNaN(Date.parse(byName['hello.txt']?.mtime ?? ''))).toBe(false);
    expect(listing.entries.map((entry) => entry.name)).toEqual([...listing.entries.map((entry) => entry.name)].sort());
    expect(listing.entries.some((entry) => entry.name.includes('secret'))).toBe(false);
  });

  it('recurses to max_depth and stops at max_entries', async () => {
    const shallow = data<{ entries: Array<{ name: string }> }>(await call('fs.list_dir', { path: 'docs', recursive: true, max_depth: 2 }));
    expect(shallow.entries.map((entry) => entry.name)).toEqual(['a.md', 'deep', 'deep/b.md', 'deep/deeper']);
    const full = data<{ entries: Array<{ name: string }> }>(await call('fs.list_dir', { path: 'docs', recursive: true }));
    expect(full.entries.map((entry) => entry.name)).toContain('deep/deeper/c.md');
    const capped = data(await call('fs.list_dir', { path: 'docs', recursive: true, max_entries: 2 }));
    expect(capped).toMatchObject({ count: 2, truncated: true });
  });

  it('refuses listing outside the roots or a file', async () => {
    expect(errorOf(await call('fs.list_dir', { path: 'dir-link' })).code).toBe('PATH_NOT_ALLOWED');
    expect(errorOf(await call('fs.list_dir', { path: '..' })).code).toBe('PATH_NOT_ALLOWED');
    expect(errorOf(await call('fs.list_dir', { path: 'hello.txt' })).code).toBe('NOT_A_DIRECTORY');
  });

  it('describes a file, following in-root links', async () => {
    const info = data(await call('fs.stat', { path: 'link-in' }));
    expect(info).toMatchObject({ path: 'link-in', real_path: path.join(root, 'hello.txt'), type: 'file', size: 12 });
    expect(info['mode']).toMatch(/^0[0-7]{3,4}$/);
    expect(data(await call('fs.stat', { path: 'docs' }))['type']).toBe('directory');
    expect(errorOf(await call('fs.stat', { path: 'link-out' })).code).toBe('PATH_NOT_ALLOWED');
    expect(errorOf(await call('fs.stat', { path: 'ghost' })).code).toBe('FILE_NOT_FOUND');
  });
});

describe('secure defaults', () => {
  it('denies every path when no roots are configured', async () => {
    const bare = await startTestRuntime();
    try {
      const read = await bare.client.callTool({ name: 'fs.read_file', arguments: { path: path.join(root, 'hello.txt') } });
      expect((read.structuredContent as { code: string }).code).toBe('PATH_NOT_ALLOWED');
      const write = await bare.client.callTool({ name: 'fs.write_file', arguments: { path: path.join(root, 'x.txt'), content: 'x' } });
      expect((write.structuredContent as { code: string; message: string }).message).toContain('allowed_write_paths is empty');
    } finally {
      await bare.close();
    }
  });
});
