import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';

/** The real launcher; the e2e tests need `npm run build` (dist/) first, as `npm test` does. */
export const NEXUS_BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/nexus');

export interface CliOptions {
  cwd: string;
  /** Added to a copy of the test's environment with every NEXUS_* variable removed. */
  env?: Record<string, string>;
}

/** The parent's environment minus NEXUS_* (which would change the child's config). */
export function childEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (value !== undefined && !name.startsWith('NEXUS_')) env[name] = value;
  }
  return { ...env, ...extra };
}

/** Starts `node bin/nexus ARGS` with piped stdio. */
export function spawnCli(args: readonly string[], options: CliOptions): ChildProcessWithoutNullStreams {
  return spawn(process.execPath, [NEXUS_BIN, ...args], { cwd: options.cwd, env: childEnv(options.env), stdio: 'pipe' });
}

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI to completion and collects its output. */
export async function runCli(args: readonly string[], options: CliOptions): Promise<CliRun> {
  const child = spawnCli(args, options);
  child.stdin.end();
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const [code] = (await once(child, 'close')) as [number | null];
  return { code, stdout, stderr };
}

/**
 * Collects a stream (a child's stdout or stderr) as lines and lets a test wait for the first
 * JSON object line that matches a predicate: the CLI logs JSON lines on stderr, and stdio MCP
 * is JSON lines on stdout.
 */
export class JsonLines {
  readonly lines: string[] = [];
  private buffer = '';
  private readonly waiters: Array<{ match: (record: Record<string, unknown>) => boolean; resolve: (record: Record<string, unknown>) => void }> = [];

  constructor(stream: Readable) {
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      this.buffer += chunk;
      let newline = this.buffer.indexOf('\n');
      while (newline !== -1) {
        this.accept(this.buffer.slice(0, newline));
        this.buffer = this.buffer.slice(newline + 1);
        newline = this.buffer.indexOf('\n');
      }
    });
  }

  get text(): string {
    return this.lines.join('\n') + this.buffer;
  }

  /** Every line that is a JSON object. */
  records(): Array<Record<string, unknown>> {
    return this.lines.flatMap((line) => {
      const record = parseObject(line);
      return record ? [record] : [];
    });
  }

  /** Resolves with the first record (already seen or future) that matches. */
  waitFor(match: (record: Record<string, unknown>) => boolean): Promise<Record<string, unknown>> {
    const seen = this.records().find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve) => this.waiters.push({ match, resolve }));
  }

  private accept(line: string): void {
    this.lines.push(line);
    const record = parseObject(line);
    if (!record) return;
    for (const waiter of [...this.waiters]) {
      if (waiter.match(record)) {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        waiter.resolve(record);
      }
    }
  }
}

function parseObject(line: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(line);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Resolves with the exit code (or the signal name) once the child has exited. */
export async function exitOf(child: ChildProcessWithoutNullStreams): Promise<number | string | null> {
  if (child.exitCode !== null) return child.exitCode;
  if (child.signalCode !== null) return child.signalCode;
  const [code, signal] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null];
  return code ?? signal;
}

/** A child's stderr log records (JSON lines). */
export class StderrLines extends JsonLines {
  constructor(child: ChildProcessWithoutNullStreams) {
    super(child.stderr);
  }
}
