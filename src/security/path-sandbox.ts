import { constants, existsSync, realpathSync, statSync, type Stats } from 'node:fs';
import { lstat, mkdir, open, readlink, stat, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { NexusError } from '../errors/index.js';
import type { Logger } from '../logging/index.js';
import { isWithin } from './roots.js';

/**
 * The file sandbox. Every file tool goes through it; the rules:
 * - a path is resolved (relative paths against the first root of the list in use; `..` and every
 *   symlink followed, even for parts that do not exist yet) and must land inside a root;
 * - the file is then opened with O_NOFOLLOW and the *opened descriptor's* real path is checked
 *   again (Linux: /proc/self/fd/N), so a path swapped for a link between check and use is caught;
 * - children of an opened folder are reached through /proc/self/fd/N/<name>, which pins the folder
 *   that was checked (writes, new folders, listings);
 * - outside the roots "missing" and "not allowed" are the same PATH_NOT_ALLOWED: no existence oracle.
 * Without /proc (macOS) the descriptor is compared by device and inode with the checked path
 * instead, and children are reached by path: still safe against links, less so against races.
 */

export type Access = 'read' | 'write';

const PROC_FD = '/proc/self/fd';
const MAX_LINKS = 40;
const { O_RDONLY, O_WRONLY, O_CREAT, O_EXCL, O_APPEND, O_NOFOLLOW, O_NONBLOCK, O_DIRECTORY } = constants;
const O_NOCTTY = constants.O_NOCTTY ?? 0;

/** Flags for creating a new file exclusively inside an opened folder. */
export const CREATE_EXCLUSIVE = O_WRONLY | O_CREAT | O_EXCL;
/** Flags for opening a folder to list or descend into. */
export const OPEN_DIRECTORY = O_RDONLY | O_DIRECTORY;
/** Flags for appending to (or creating) a file inside an opened folder. */
export const APPEND_OR_CREATE = O_WRONLY | O_CREAT | O_APPEND;

export interface PathSandboxOptions {
  readPaths: readonly string[];
  writePaths: readonly string[];
  logger: Logger;
  /** Where the roots were configured, for messages: "security" (default) or "tenants.<id>.security". */
  settingPrefix?: string;
}

/** A file or folder opened inside a root. Close `handle` when done. */
export interface OpenedEntry {
  handle: FileHandle;
  /** Its real path, as verified after opening. */
  realPath: string;
  stats: Stats;
  /** Path through which children of an opened folder are reached (pins the checked folder). */
  childBase: string;
}

function errnoOf(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string' ? error.code : undefined;
}

export class PathSandbox {
  readonly readRoots: readonly string[];
  readonly writeRoots: readonly string[];
  private readonly procFd = existsSync(PROC_FD);
  private readonly settingPrefix: string;

  constructor(options: PathSandboxOptions) {
    this.settingPrefix = options.settingPrefix ?? 'security';
    const canonical = (list: readonly string[], setting: string): string[] =>
      list.flatMap((root) => {
        try {
          const real = realpathSync(root);
          if (statSync(real).isDirectory()) return [real];
        } catch {
          // Reported just below.
        }
        options.logger.warn({ root, setting }, 'file sandbox root does not exist or is not a folder; ignored');
        return [];
      });
    this.readRoots = canonical(options.readPaths, this.setting('read'));
    this.writeRoots = canonical(options.writePaths, this.setting('write'));
  }

  private roots(access: Access): readonly string[] {
    return access === 'read' ? this.readRoots : this.writeRoots;
  }

  private setting(access: Access): string {
    return `${this.settingPrefix}.allowed_${access}_paths`;
  }

  private notAllowed(input: string, access: Access): NexusError {
    const setting = this.setting(access);
    const hint = this.roots(access).length === 0 ? ` (${setting} is empty: no path is allowed)` : '';
    return new NexusError('PATH_NOT_ALLOWED', `Path not allowed for ${access}: ${input}${hint}`, { details: { path: input, access, setting } });
  }

  private notFound(input: string): NexusError {
    return new NexusError('FILE_NOT_FOUND', `No such file or folder: ${input}`, { details: { path: input } });
  }

  /**
   * Resolves `input` to the real path it names (following links, including dangling ones, like
   * `realpath -m`) and checks it is inside a root of `access`. Does not require it to exist.
   */
  async resolve(input: string, access: Access): Promise<string> {
    const roots = this.roots(access);
    const base = roots[0];
    if (base === undefined || input.includes('\0')) throw this.notAllowed(input, access);
    const resolved = await resolveLinks(path.resolve(base, input)).catch(() => undefined);
    if (resolved === undefined || !roots.some((root) => isWithin(root, resolved))) throw this.notAllowed(input, access);
    return resolved;
  }

  /** Opens an existing file or folder for reading after resolving and checking it. */
  async openExisting(input: string, access: Access = 'read'): Promise<OpenedEntry> {
    const real = await this.resolve(input, access);
    try {
      return await this.openVerified(real, access, O_RDONLY | O_NONBLOCK | O_NOCTTY);
    } catch (error) {
      throw this.mapOpenError(error, input, access);
    }
  }

  /**
   * Opens an already-resolved path with O_NOFOLLOW and verifies what was opened is inside a root
   * of `access`. This is the check that wins races: whatever the path string pointed to at check
   * time, only the descriptor's own location counts.
   */
  async openVerified(real: string, access: Access, flags: number, mode?: number): Promise<OpenedEntry> {
    const handle = await open(real, flags | O_NOFOLLOW, mode);
    try {
      const stats = await handle.stat();
      const realPath = await this.descriptorPath(handle, real, stats);
      if (realPath === undefined || !this.roots(access).some((root) => isWithin(root, realPath))) {
        throw this.notAllowed(real, access);
      }
      return { handle, realPath, stats, childBase: this.procFd ? path.join(PROC_FD, String(handle.fd)) : realPath };
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  /**
   * Opens (creating with `createDirs`) the folder that will hold `real` — a resolved path inside
   * a write root — walking down from the root one verified folder at a time.
   */
  async openParentForWrite(input: string, real: string, createDirs: boolean): Promise<OpenedEntry> {
    const root = [...this.writeRoots].filter((candidate) => isWithin(candidate, real)).sort((a, b) => b.length - a.length)[0];
    if (root === undefined || root === real) throw this.notAllowed(input, 'write');
    const components = path.relative(root, path.dirname(real)).split(path.sep).filter(Boolean);
    let current = await this.openVerified(root, 'write', OPEN_DIRECTORY);
    try {
      for (const component of components) {
        const child = path.join(current.childBase, component);
        if (createDirs) {
          await mkdir(child).catch((error: unknown) => {
            if (errnoOf(error) !== 'EEXIST') throw error;
          });
        }
        const next = await this.openVerified(child, 'write', OPEN_DIRECTORY).catch((error: unknown) => {
          if (errnoOf(error) === 'ENOENT') {
            throw new NexusError('FILE_NOT_FOUND', `Folder ${path.join(path.relative(root, current.realPath), component) || component} does not exist (pass create_dirs: true to create it)`, { details: { path: input } });
          }
          throw error;
        });
        await current.handle.close();
        current = next;
      }
      return current;
    } catch (error) {
      await current.handle.close();
      throw this.mapOpenError(error, input, 'write');
    }
  }

  /** Maps an open/mkdir failure for a path already known to be inside the roots. */
  mapOpenError(error: unknown, input: string, access: Access): unknown {
    switch (errnoOf(error)) {
      case 'ENOENT':
        return this.notFound(input);
      case 'ENOTDIR':
        return new NexusError('NOT_A_DIRECTORY', `A parent of ${input} is not a folder`, { details: { path: input } });
      case 'EISDIR':
        return new NexusError('NOT_A_FILE', `${input} is a folder, not a file`, { details: { path: input } });
      case 'ELOOP':
      case 'EACCES':
      case 'EPERM':
        // ELOOP: the checked path became a symlink after the check (O_NOFOLLOW refused it).
        return this.notAllowed(input, access);
      default:
        return error;
    }
  }

  private async descriptorPath(handle: FileHandle, checked: string, stats: Stats): Promise<string | undefined> {
    if (this.procFd) {
      const target = await readlink(path.join(PROC_FD, String(handle.fd)));
      return target.endsWith(' (deleted)') || !path.isAbsolute(target) ? undefined : target;
    }
    const current = await stat(checked).catch(() => undefined);
    return current && current.dev === stats.dev && current.ino === stats.ino ? checked : undefined;
  }
}

/**
 * `realpath -m`: resolves every symlink along `absolute`, including links whose targets do not
 * exist, and appends the missing remainder lexically. Rejects after too many links (a loop).
 */
export async function resolveLinks(absolute: string): Promise<string> {
  const { root } = path.parse(absolute);
  let pending = absolute.slice(root.length).split(path.sep);
  let resolved = root;
  let links = 0;
  let missing = false;
  while (pending.length > 0) {
    const part = pending.shift() ?? '';
    if (part === '' || part === '.') continue;
    if (part === '..') {
      resolved = path.dirname(resolved);
      continue;
    }
    const next = path.join(resolved, part);
    const info = missing ? undefined : await lstat(next).catch(() => undefined);
    if (info === undefined) {
      missing = true;
    } else if (info.isSymbolicLink()) {
      links += 1;
      if (links > MAX_LINKS) throw new Error(`too many symbolic links resolving ${absolute}`);
      const target = await readlink(next);
      const targetRoot = path.parse(target).root;
      pending = [...target.slice(targetRoot.length).split(path.sep), ...pending];
      if (path.isAbsolute(target)) resolved = targetRoot;
      continue;
    }
    resolved = next;
  }
  return resolved;
}
