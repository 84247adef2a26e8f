import os from 'node:os';
import picomatch from 'picomatch';
import { z } from 'zod';
import { NexusError } from '../../errors/index.js';
import { NEXUS_VERSION } from '../../runtime/version.js';
import { defineTool, type Tool } from '../types.js';
import { READ_ONLY_LOCAL } from './annotations.js';

export const REDACTED = '[REDACTED]';

/** Names that usually hold credentials; their values are hidden even when allow-listed. */
const SECRET_NAME = /KEY|TOKEN|SECRET|PASS(WORD|WD)?|CREDENTIAL|AUTH|COOKIE|PRIVATE/i;

/** `postgres://user:pw@host` → `postgres://user:[REDACTED]@host`: passwords hide in URLs too. */
function redactUrlPasswords(value: string): string {
  return value.replace(/([a-z][a-z0-9+.-]*:\/\/[^\s/:@]*):[^\s/@]*@/gi, `$1:${REDACTED}@`);
}

/** What env.get/env.list may reveal: allow-listed names only, secret-looking values hidden. */
export class EnvView {
  private readonly allowed: (name: string) => boolean;

  constructor(
    private readonly env: Readonly<Record<string, string | undefined>>,
    allowlist: readonly string[],
  ) {
    // Globs ("APP_*") are matched case-sensitively, as variable names are on Unix.
    this.allowed = allowlist.length === 0 ? () => false : picomatch([...allowlist], { dot: true });
  }

  isAllowed(name: string): boolean {
    return this.allowed(name);
  }

  /** Allowed names that are set, sorted. */
  names(): string[] {
    return Object.keys(this.env)
      .filter((name) => this.env[name] !== undefined && this.allowed(name))
      .sort();
  }

  /** The value as it may be shown, or undefined when unset. */
  read(name: string): { value: string; redacted: boolean } | undefined {
    const value = this.env[name];
    if (value === undefined) return undefined;
    if (SECRET_NAME.test(name)) return { value: REDACTED, redacted: true };
    const shown = redactUrlPasswords(value);
    return { value: shown, redacted: shown !== value };
  }
}

function envGet(view: EnvView): Tool {
  return defineTool({
    name: 'env.get',
    title: 'Read an environment variable',
    description:
      'Reads one environment variable named in security.env_allowlist (others fail with ENV_NOT_ALLOWED). Values of names that look secret ' +
      '(…KEY…, …TOKEN…, …SECRET…, …PASSWORD…) and passwords inside URLs are redacted. Returns {key, value, found}.',
    inputSchema: z.strictObject({ key: z.string().min(1).describe('Variable name'), default: z.string().optional().describe('Value returned when the variable is not set') }),
    outputSchema: z.object({ key: z.string(), value: z.string().nullable(), found: z.boolean(), redacted: z.boolean() }),
    annotations: READ_ONLY_LOCAL,
    execute({ key, default: fallback }) {
      if (!view.isAllowed(key)) {
        throw new NexusError('ENV_NOT_ALLOWED', `Environment variable "${key}" is not in security.env_allowlist`, { details: { key } });
      }
      const shown = view.read(key);
      const data = shown ? { key, value: shown.value, found: true, redacted: shown.redacted } : { key, value: fallback ?? null, found: false, redacted: false };
      return { data };
    },
  });
}

function envList(view: EnvView): Tool {
  return defineTool({
    name: 'env.list',
    title: 'List environment variables',
    description: 'Lists the set environment variables that security.env_allowlist admits (optionally by name prefix); values only with show_values, secret-looking ones redacted.',
    inputSchema: z.strictObject({
      prefix: z.string().optional().describe('Only names starting with this (case-sensitive)'),
      show_values: z.boolean().default(false).describe('Include values (secret-looking ones redacted)'),
    }),
    outputSchema: z.object({
      count: z.number().int(),
      variables: z.array(z.object({ key: z.string(), value: z.string().optional(), redacted: z.boolean().optional() })),
    }),
    annotations: READ_ONLY_LOCAL,
    execute({ prefix, show_values: showValues }) {
      const variables = view
        .names()
        .filter((name) => prefix === undefined || name.startsWith(prefix))
        .map((key) => {
          const shown = view.read(key);
          return showValues && shown ? { key, value: shown.value, redacted: shown.redacted } : { key };
        });
      return { data: { count: variables.length, variables } };
    },
  });
}

/** Rust's `std::env::consts` spellings, which the original reported. */
const RUST_OS: Partial<Record<NodeJS.Platform, string>> = { darwin: 'macos', win32: 'windows', sunos: 'solaris' };
const RUST_ARCH: Record<string, string> = { x64: 'x86_64', arm64: 'aarch64', ia32: 'x86', arm: 'arm', ppc64: 'powerpc64', s390x: 's390x', riscv64: 'riscv64' };

function sysInfo(env: Readonly<Record<string, string | undefined>>): Tool {
  return defineTool({
    name: 'sys.info',
    title: 'System information',
    description: 'Describes the host Nexus runs on: OS, architecture, host name, folders, Node and Nexus versions, CPUs, memory and uptime.',
    inputSchema: z.strictObject({}),
    outputSchema: z.object({
      os: z.string(),
      arch: z.string(),
      family: z.string(),
      hostname: z.string(),
      current_dir: z.string(),
      home_dir: z.string().nullable(),
      temp_dir: z.string(),
      exe_path: z.string(),
      os_release: z.string(),
      node_version: z.string(),
      nexus_version: z.string(),
      cpus: z.number().int(),
      total_memory_bytes: z.number().int(),
      free_memory_bytes: z.number().int(),
      uptime_secs: z.number().int(),
    }),
    annotations: READ_ONLY_LOCAL,
    execute() {
      const data = {
        os: RUST_OS[process.platform] ?? process.platform,
        arch: RUST_ARCH[process.arch] ?? process.arch,
        family: process.platform === 'win32' ? 'windows' : 'unix',
        hostname: os.hostname(),
        current_dir: process.cwd(),
        home_dir: env['HOME'] ?? env['USERPROFILE'] ?? null,
        temp_dir: os.tmpdir(),
        exe_path: process.execPath,
        os_release: os.release(),
        node_version: process.version,
        nexus_version: NEXUS_VERSION,
        cpus: os.availableParallelism(),
        total_memory_bytes: os.totalmem(),
        free_memory_bytes: os.freemem(),
        uptime_secs: Math.floor(os.uptime()),
      };
      return { data };
    },
  });
}

/** env.get, env.list and sys.info over an environment snapshot (never process.env directly). */
export function systemTools(deps: { env: Readonly<Record<string, string | undefined>>; envAllowlist: readonly string[] }): Tool[] {
  const view = new EnvView(deps.env, deps.envAllowlist);
  return [envGet(view), envList(view), sysInfo(deps.env)];
}
