import { randomBytes } from 'node:crypto';
import type { Stats } from 'node:fs';
import { lstat, opendir, rename, unlink } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import type { NexusConfig } from '../../config/index.js';
import { NexusError } from '../../errors/index.js';
import { APPEND_OR_CREATE, CREATE_EXCLUSIVE, OPEN_DIRECTORY, type OpenedEntry, type PathSandbox } from '../../security/path-sandbox.js';
import type { SandboxResolver } from '../../security/sandbox-resolver.js';
import { defineTool, type Tool } from '../types.js';
import { READ_ONLY_LOCAL } from './annotations.js';
import { decodeBase64Strict, decodeUtf8Strict } from './base64.js';

type EntryType = 'file' | 'directory' | 'symlink' | 'other';

function typeOf(stats: Stats): EntryType {
  if (stats.isSymbolicLink()) return 'symlink';
  if (stats.isFile()) return 'file';
  if (stats.isDirectory()) return 'directory';
  return 'other';
}

async function withEntry<T>(opened: Promise<OpenedEntry>, use: (entry: OpenedEntry) => Promise<T>): Promise<T> {
  const entry = await opened;
  try {
    return await use(entry);
  } finally {
    await entry.handle.close();
  }
}

/** Bytes `[0, end)` of `buffer` that end on a UTF-8 character boundary (a chunk may split one). */
function utf8Boundary(buffer: Buffer): number {
  for (let back = 1; back <= Math.min(3, buffer.length); back += 1) {
    const byte = buffer[buffer.length - back] ?? 0;
    if ((byte & 0xc0) === 0x80) continue; // continuation byte: keep looking for the lead
    const needed = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1;
    return needed > back ? buffer.length - back : buffer.length;
  }
  return buffer.length;
}

function looksBinary(bytes: Buffer): boolean {
  if (bytes.includes(0)) return true;
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return false;
  } catch {
    return true;
  }
}

const pathArg = z.string().min(1).describe('File path: absolute, or relative to the first allowed root');

function readFile(sandboxes: SandboxResolver, maxReadBytes: number): Tool {
  return defineTool({
    name: 'fs.read_file',
    title: 'Read a file',
    description:
      `Reads a file inside security.allowed_read_paths. Returns at most ${maxReadBytes} bytes (security.max_read_bytes) per call: use offset/length ` +
      'and next_offset for more. Text comes back as UTF-8; binary files as base64 (encoding "auto", the default), or ask for "utf8"/"base64". ' +
      'The text result is the raw content.',
    inputSchema: z.strictObject({
      path: pathArg,
      encoding: z.enum(['auto', 'utf8', 'base64']).default('auto').describe('auto: UTF-8 unless the bytes are binary, then base64'),
      offset: z.number().int().min(0).default(0).describe('Byte offset to start at'),
      length: z.number().int().min(1).optional().describe(`Bytes to read (default and maximum ${maxReadBytes})`),
    }),
    outputSchema: z.object({
      path: z.string(),
      content: z.string(),
      encoding: z.enum(['utf8', 'base64']),
      size: z.number().int().describe('File size in bytes'),
      offset: z.number().int(),
      bytes_returned: z.number().int(),
      truncated: z.boolean().describe('More bytes follow this chunk'),
      eof: z.boolean(),
      next_offset: z.number().int().nullable(),
    }),
    annotations: READ_ONLY_LOCAL,
    async execute({ path: input, encoding, offset, length }, context) {
      const sandbox = sandboxes.forTenant(context.principal.tenant);
      return withEntry(sandbox.openExisting(input, 'read'), async ({ handle, stats }) => {
        if (stats.isDirectory()) throw new NexusError('NOT_A_FILE', `${input} is a folder (use fs.list_dir)`, { details: { path: input } });
        if (!stats.isFile()) throw new NexusError('NOT_A_FILE', `${input} is not a regular file`, { details: { path: input } });
        const want = Math.min(length ?? maxReadBytes, maxReadBytes);
        const buffer = Buffer.alloc(want);
        let filled = 0;
        while (filled < want) {
          context.signal.throwIfAborted();
          const { bytesRead } = await handle.read(buffer, filled, want - filled, offset + filled);
          if (bytesRead === 0) break;
          filled += bytesRead;
        }
        let chunk = buffer.subarray(0, filled);
        const more = offset + filled < stats.size;
        const chosen = encoding === 'auto' ? (looksBinary(chunk.subarray(0, more ? utf8Boundary(chunk) : chunk.length)) ? 'base64' : 'utf8') : encoding;
        if (chosen === 'utf8' && more) chunk = chunk.subarray(0, utf8Boundary(chunk));
        const content = chosen === 'base64' ? chunk.toString('base64') : decodeUtf8Strict(chunk, 'read it with encoding "base64"');
        const end = offset + chunk.length;
        const eof = end >= stats.size;
        const data = { path: input, content, encoding: chosen, size: stats.size, offset, bytes_returned: chunk.length, truncated: !eof, eof, next_offset: eof ? null : end };
        return { text: content, data };
      });
    },
  });
}

function writeFile(sandboxes: SandboxResolver, maxWriteBytes: number): Tool {
  return defineTool({
    name: 'fs.write_file',
    title: 'Write a file',
    description:
      'Writes a file inside security.allowed_write_paths, atomically (temporary file, fsync, rename), or appends with append: true. ' +
      `Content is UTF-8 text or base64 bytes, at most ${maxWriteBytes} bytes (security.max_write_bytes). create_dirs makes missing parent folders inside the root.`,
    inputSchema: z.strictObject({
      path: pathArg,
      content: z.string().describe('Text, or base64 when encoding is "base64"'),
      append: z.boolean().default(false).describe('Append instead of replacing'),
      encoding: z.enum(['utf8', 'base64']).default('utf8'),
      create_dirs: z.boolean().default(false).describe('Create missing parent folders (inside the root)'),
    }),
    outputSchema: z.object({ success: z.literal(true), path: z.string(), bytes_written: z.number().int(), created: z.boolean(), appended: z.boolean() }),
    annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false },
    async execute({ path: input, content, append, encoding, create_dirs: createDirs }, context) {
      const sandbox = sandboxes.forTenant(context.principal.tenant);
      const bytes = encoding === 'base64' ? decodeBase64Strict(content) : Buffer.from(content, 'utf8');
      if (bytes.byteLength > maxWriteBytes) {
        throw new NexusError('FILE_TOO_LARGE', `Content is ${bytes.byteLength} bytes; security.max_write_bytes allows ${maxWriteBytes}`, { details: { bytes: bytes.byteLength, limit: maxWriteBytes } });
      }
      const real = await sandbox.resolve(input, 'write');
      const name = path.basename(real);
      return withEntry(sandbox.openParentForWrite(input, real, createDirs), async (folder) => {
        context.signal.throwIfAborted();
        const target = path.join(folder.childBase, name);
        const existing = await lstat(target).catch(() => undefined);
        if (existing?.isDirectory()) throw new NexusError('NOT_A_FILE', `${input} is a folder`, { details: { path: input } });
        if (append) {
          await withEntry(sandbox.openVerified(target, 'write', APPEND_OR_CREATE, 0o666), async ({ handle, stats }) => {
            if (!stats.isFile()) throw new NexusError('NOT_A_FILE', `${input} is not a regular file`, { details: { path: input } });
            await handle.writeFile(bytes);
            await handle.datasync();
          });
        } else {
          await replaceAtomically({ sandbox, folder, name, bytes, keepMode: existing?.isFile() ? existing.mode & 0o7777 : undefined });
        }
        const data = { success: true as const, path: input, bytes_written: bytes.byteLength, created: existing === undefined, appended: append };
        return { text: JSON.stringify({ success: true, path: input, bytes_written: bytes.byteLength }), data };
      }).catch((error: unknown) => {
        throw sandbox.mapOpenError(error, input, 'write');
      });
    },
  });
}

/** Temp file in the same folder, fsync, rename over the target, fsync the folder. */
async function replaceAtomically(options: { sandbox: PathSandbox; folder: OpenedEntry; name: string; bytes: Buffer; keepMode: number | undefined }): Promise<void> {
  const { sandbox, folder, name, bytes, keepMode } = options;
  const temp = path.join(folder.childBase, `.${name}.${randomBytes(6).toString('hex')}.tmp`);
  let renamed = false;
  try {
    await withEntry(sandbox.openVerified(temp, 'write', CREATE_EXCLUSIVE, 0o666), async ({ handle }) => {
      await handle.writeFile(bytes);
      // A replaced file keeps its permissions; a new one gets 0666 less the umask.
      if (keepMode !== undefined) await handle.chmod(keepMode);
      await handle.sync();
    });
    await rename(temp, path.join(folder.childBase, name));
    renamed = true;
    // The rename is durable only once the folder itself is synced.
    await folder.handle.sync();
  } finally {
    if (!renamed) await unlink(temp).catch(() => undefined);
  }
}

const entryShape = z.object({ name: z.string(), type: z.enum(['file', 'directory', 'symlink', 'other']), size: z.number().int(), mtime: z.string() });
type Entry = z.infer<typeof entryShape>;

function listDir(sandboxes: SandboxResolver): Tool {
  return defineTool({
    name: 'fs.list_dir',
    title: 'List a folder',
    description:
      'Lists a folder inside security.allowed_read_paths: name, type (file, directory, symlink, other), size and mtime of each entry, sorted by name. ' +
      'recursive descends into sub-folders up to max_depth (symlinks are listed, never followed); at most max_entries entries (then truncated: true).',
    inputSchema: z.strictObject({
      path: pathArg,
      recursive: z.boolean().default(false),
      max_depth: z.number().int().min(1).max(20).default(5).describe('Levels below the folder when recursive'),
      max_entries: z.number().int().min(1).max(10_000).default(1000),
    }),
    outputSchema: z.object({ path: z.string(), entries: z.array(entryShape), count: z.number().int(), truncated: z.boolean() }),
    annotations: READ_ONLY_LOCAL,
    async execute({ path: input, recursive, max_depth: maxDepth, max_entries: maxEntries }, context) {
      const sandbox = sandboxes.forTenant(context.principal.tenant);
      return withEntry(sandbox.openExisting(input, 'read'), async (folder) => {
        if (!folder.stats.isDirectory()) throw new NexusError('NOT_A_DIRECTORY', `${input} is not a folder`, { details: { path: input } });
        const entries: Entry[] = [];
        const state = { truncated: false };
        await walk({ sandbox, folder, prefix: '', depthLeft: recursive ? maxDepth : 1, entries, maxEntries, state, signal: context.signal });
        return { data: { path: input, entries, count: entries.length, truncated: state.truncated } };
      });
    },
  });
}

interface WalkOptions {
  sandbox: PathSandbox;
  folder: OpenedEntry;
  prefix: string;
  depthLeft: number;
  entries: Entry[];
  maxEntries: number;
  state: { truncated: boolean };
  signal: AbortSignal;
}

/** Depth-first listing; each sub-folder is opened through its verified parent, never through a link. */
async function walk(options: WalkOptions): Promise<void> {
  const { sandbox, folder, prefix, entries, maxEntries, state, signal } = options;
  signal.throwIfAborted();
  const names: string[] = [];
  for await (const dirent of await opendir(folder.childBase)) names.push(dirent.name);
  names.sort();
  for (const name of names) {
    if (entries.length >= maxEntries) {
      state.truncated = true;
      return;
    }
    const childPath = path.join(folder.childBase, name);
    const stats = await lstat(childPath).catch(() => undefined);
    if (stats === undefined) continue; // removed while listing
    const relative = prefix ? `${prefix}/${name}` : name;
    entries.push({ name: relative, type: typeOf(stats), size: stats.size, mtime: stats.mtime.toISOString() });
    if (stats.isDirectory() && options.depthLeft > 1) {
      const child = await sandbox.openVerified(childPath, 'read', OPEN_DIRECTORY).catch(() => undefined);
      if (child === undefined) continue;
      await withEntry(Promise.resolve(child), (opened) => walk({ ...options, folder: opened, prefix: relative, depthLeft: options.depthLeft - 1 }));
    }
  }
}

function statTool(sandboxes: SandboxResolver): Tool {
  return defineTool({
    name: 'fs.stat',
    title: 'File information',
    description: 'Describes a file or folder inside security.allowed_read_paths (symlinks followed): type, size, times, permissions and its real path.',
    inputSchema: z.strictObject({ path: pathArg }),
    outputSchema: z.object({
      path: z.string(),
      real_path: z.string(),
      type: z.enum(['file', 'directory', 'symlink', 'other']),
      size: z.number().int(),
      mode: z.string().describe('Permission bits in octal, e.g. "0644"'),
      mtime: z.string(),
      ctime: z.string(),
      atime: z.string(),
      birthtime: z.string().nullable(),
    }),
    annotations: READ_ONLY_LOCAL,
    async execute({ path: input }, context) {
      return withEntry(sandboxes.forTenant(context.principal.tenant).openExisting(input, 'read'), async ({ realPath, stats }) => ({
        data: {
          path: input,
          real_path: realPath,
          type: typeOf(stats),
          size: stats.size,
          mode: `0${(stats.mode & 0o7777).toString(8).padStart(3, '0')}`,
          mtime: stats.mtime.toISOString(),
          ctime: stats.ctime.toISOString(),
          atime: stats.atime.toISOString(),
          birthtime: stats.birthtimeMs > 0 ? stats.birthtime.toISOString() : null,
        },
      }));
    },
  });
}

/** fs.read_file, fs.write_file, fs.list_dir and fs.stat, each call in its tenant's sandbox. */
export function fsTools(deps: { sandboxes: SandboxResolver; config: NexusConfig }): Tool[] {
  const { sandboxes, config } = deps;
  return [readFile(sandboxes, config.security.max_read_bytes), writeFile(sandboxes, config.security.max_write_bytes), listDir(sandboxes), statTool(sandboxes)];
}
