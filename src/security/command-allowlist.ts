import { accessSync, constants, realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import { NexusError } from '../errors/index.js';
import type { Logger } from '../logging/index.js';

/** An allow-list entry as written in config and the absolute path it resolved to at start-up. */
export interface AllowedCommand {
  readonly entry: string;
  readonly file: string;
}

/**
 * The absolute path of an executable: `name` looked up in the absolute directories of `pathEnv`
 * (relative PATH entries such as "." are ignored), or an absolute path checked as is. Undefined
 * when nothing executable is there.
 */
export function findExecutable(name: string, pathEnv: string | undefined): string | undefined {
  if (path.isAbsolute(name)) return isExecutableFile(name) ? path.normalize(name) : undefined;
  if (name.includes('/') || name.includes(path.sep)) return undefined;
  for (const dir of (pathEnv ?? '').split(path.delimiter)) {
    if (!path.isAbsolute(dir)) continue;
    const candidate = path.join(dir, name);
    if (isExecutableFile(candidate)) return candidate;
  }
  return undefined;
}

function isExecutableFile(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

/**
 * The folder resolved through symlinks, the file name kept: `/bin/ls` and `/usr/bin/ls` compare
 * equal on merged-/usr systems, while `ls` and `rm` stay distinct even when both are links to one
 * multi-call binary (which decides what to do from its own name).
 */
function canonicalProgram(file: string): string {
  try {
    return path.join(realpathSync(path.dirname(file)), path.basename(file));
  } catch {
    return file;
  }
}

/**
 * `security.allowed_commands`, resolved once at start-up. A request matches an entry by the name
 * written in config, or by resolving to the same program; what runs is always the entry's
 * resolved absolute path, never something found at call time.
 */
export class CommandAllowList {
  private constructor(
    private readonly commands: readonly AllowedCommand[],
    private readonly pathEnv: string | undefined,
  ) {}

  /** Resolves every entry; ones that are not installed are skipped with a warning. */
  static resolve(entries: readonly string[], options: { pathEnv: string | undefined; logger: Logger }): CommandAllowList {
    const commands: AllowedCommand[] = [];
    for (const entry of entries) {
      const file = findExecutable(entry, options.pathEnv);
      if (file === undefined) {
        options.logger.warn({ command: entry }, 'security.allowed_commands entry is not an executable on PATH (or an absolute path to one); it is ignored');
        continue;
      }
      commands.push({ entry, file });
    }
    return new CommandAllowList(commands, options.pathEnv);
  }

  get entries(): readonly AllowedCommand[] {
    return this.commands;
  }

  /** The program to run for a requested command; COMMAND_NOT_ALLOWED when none matches. */
  match(requested: string): AllowedCommand {
    const byName = this.commands.find((command) => command.entry === requested);
    if (byName) return byName;
    const file = findExecutable(requested, this.pathEnv);
    if (file !== undefined) {
      const wanted = canonicalProgram(file);
      const byProgram = this.commands.find((command) => canonicalProgram(command.file) === wanted);
      if (byProgram) return byProgram;
    }
    throw new NexusError('COMMAND_NOT_ALLOWED', `Command not in allowed list: ${requested} (add it to security.allowed_commands)`, {
      details: { command: requested, allowed: this.commands.map((command) => command.entry) },
    });
  }
}
