import { constants, mkdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { rename, symlink, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/index.js';
import { NexusError } from '../../src/errors/index.js';
import { createLogger, createSilentLogger } from '../../src/logging/index.js';
import { createRuntime } from '../../src/runtime/runtime.js';
import { PathSandbox, resolveLinks } from '../../src/security/path-sandbox.js';
import { isWithin } from '../../src/security/roots.js';
import { tempDir } from '../support/runtime.js';

let base: { dir: string; remove(): void };
let root: string;
let outside: string;

beforeEach(() => {
  base = tempDir('nexus-sandbox-');
  root = path.join(base.dir, 'root');
  outside = path.join(base.dir, 'outside');
  mkdirSync(path.join(root, 'dir'), { recursive: true });
  mkdirSync(outside);
  writeFileSync(path.join(root, 'dir', 'file.txt'), 'inside');
  writeFileSync(path.join(outside, 'file.txt'), 'SECRET');
});
afterEach(() => base.remove());

function sandbox(): PathSandbox {
  return new PathSandbox({ readPaths: [root], writePaths: [root], logger: createSilentLogger() });
}

describe('resolveLinks', () => {
  it('resolves links, .., and missing tails like realpath -m', async () => {
    symlinkSync(outside, path.join(root, 'out'));
    symlinkSync('../dir', path.join(root, 'dir', 'loop-back'));
    expect(await resolveLinks(path.join(root, 'out', 'new', 'file'))).toBe(path.join(outside, 'new', 'file'));
    expect(await resolveLinks(path.join(root, 'dir', 'loop-back', 'file.txt'))).toBe(path.join(root, 'dir', 'file.txt'));
    expect(await resolveLinks(path.join(root, 'missing', '..', 'dir'))).toBe(path.join(root, 'dir'));
  });

  it('follows a dangling link to where it points', async () => {
    symlinkSync(path.join(outside, 'nothing'), path.join(root, 'dangling'));
    expect(await resolveLinks(path.join(root, 'dangling'))).toBe(path.join(outside, 'nothing'));
  });

  it('gives up on a link loop', async () => {
    symlinkSync(path.join(root, 'b'), path.join(root, 'a'));
    symlinkSync(path.join(root, 'a'), path.join(root, 'b'));
    await expect(resolveLinks(path.join(root, 'a'))).rejects.toThrow(/too many symbolic links/);
  });
});

describe('isWithin', () => {
  it('treats a name that merely starts with .. as inside', () => {
    expect(isWithin('/r', '/r/..hidden')).toBe(true);
    expect(isWithin('/r', '/r')).toBe(true);
    expect(isWithin('/r', '/r2/x')).toBe(false);
    expect(isWithin('/r', '/x')).toBe(false);
  });
});

describe('PathSandbox', () => {
  it('ignores roots that do not exist, with a warning', () => {
    const lines: string[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const guarded = new PathSandbox({ readPaths: [root, path.join(base.dir, 'ghost')], writePaths: [], logger: createLogger({ level: 'warn', destination }) });
    expect(guarded.readRoots).toEqual([root]);
    expect(lines.join('')).toContain('ghost');
  });

  it('checks the opened descriptor, not the path string: a folder swapped for a link after the check is refused', async () => {
    const guarded = sandbox();
    const checked = await guarded.resolve('dir/file.txt', 'read');
    expect(checked).toBe(path.join(root, 'dir', 'file.txt'));
    // Between check and use, the folder is replaced by a link to the outside.
    renameSync(path.join(root, 'dir'), path.join(root, 'dir-old'));
    symlinkSync(outside, path.join(root, 'dir'));
    const error = await guarded.openVerified(checked, 'read', constants.O_RDONLY).catch((caught: unknown) => caught);
    expect(NexusError.is(error) && error.code).toBe('PATH_NOT_ALLOWED');
  });

  it('refuses a final component swapped for a link after the check (O_NOFOLLOW)', async () => {
    const guarded = sandbox();
    const checked = await guarded.resolve('dir/file.txt', 'read');
    rmSync(checked);
    symlinkSync(path.join(outside, 'file.txt'), checked);
    const error = await guarded.openVerified(checked, 'read', constants.O_RDONLY).catch((caught: unknown) => caught);
    expect(NexusError.is(error) ? error.code : guarded.mapOpenError(error, 'dir/file.txt', 'read')).toMatchObject({ code: 'PATH_NOT_ALLOWED' });
  });

  it('never returns outside content while a file is swapped with a link in a tight loop', async () => {
    const runtime = await createRuntime(parseConfig({ data_dir: path.join(base.dir, 'data'), security: { allowed_read_paths: [root] } }), { logger: createSilentLogger() });
    const target = path.join(root, 'dir', 'racy.txt');
    const spare = path.join(root, 'dir', 'racy.next');
    await writeFile(target, 'inside');
    let swapping = true;
    let swaps = 0;
    const swapper = (async () => {
      while (swapping) {
        // Alternate between a regular file and a link to the secret, each installed by rename.
        await symlink(path.join(outside, 'file.txt'), spare);
        await rename(spare, target);
        await writeFile(spare, 'inside');
        await rename(spare, target);
        swaps += 1;
      }
    })();
    const seen = new Set<string>();
    try {
      for (let attempt = 0; attempt < 300; attempt += 1) {
        const result = await runtime.callTool('fs.read_file', { path: 'dir/racy.txt' });
        const content = result.structuredContent as { content?: string; code?: string };
        seen.add(content.content ?? content.code ?? 'unknown');
      }
    } finally {
      swapping = false;
      await swapper;
      await unlink(spare).catch(() => undefined);
      await runtime.close();
    }
    expect(swaps).toBeGreaterThan(0);
    expect([...seen].filter((outcome) => !['inside', 'PATH_NOT_ALLOWED'].includes(outcome))).toEqual([]);
    expect(seen.has('SECRET')).toBe(false);
  });
});
