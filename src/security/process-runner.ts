import { spawn } from 'node:child_process';
import { StringDecoder } from 'node:string_decoder';
import { NexusError } from '../errors/index.js';

/** One line of a child's output, as it arrives. */
export interface OutputLine {
  stream: 'stdout' | 'stderr';
  line: string;
}

export interface RunProcessOptions {
  /** Absolute path of the program, already checked by the caller's policy. Never a shell. */
  file: string;
  args: readonly string[];
  cwd: string;
  /** The complete child environment: nothing is inherited from the server. */
  env: Readonly<Record<string, string>>;
  /** Written to the child's stdin, which is then closed; without it stdin is empty (immediate EOF). */
  stdin?: string | undefined;
  timeoutMs: number;
  /** Cancellation: aborting kills the whole process group. */
  signal: AbortSignal;
  /** Cap per stream; output past it is read and discarded so the child never blocks on a full pipe. */
  maxOutputBytes: number;
  onLine?: ((line: OutputLine) => void) | undefined;
  /** Time between SIGTERM and SIGKILL. */
  killGraceMs?: number;
}

export interface ProcessOutcome {
  /** Exit status, or null when the child ended by a signal. */
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  truncatedStdout: boolean;
  truncatedStderr: boolean;
  durationMs: number;
  /** Set when Nexus stopped the child: its deadline passed or the caller aborted. */
  stoppedBy: 'timeout' | 'abort' | null;
}

const DEFAULT_KILL_GRACE_MS = 2000;
/** After the child exits, pipes held open by an escaped descendant are closed after this long. */
const DRAIN_AFTER_EXIT_MS = 1000;
/** A line longer than this is delivered in pieces, so a newline-free flood cannot grow memory. */
const MAX_LINE_CHARS = 4096;

/**
 * Runs a program in its own process group with a scrubbed environment, reads stdout and stderr
 * concurrently with a cap each, and kills the whole group (SIGTERM, then SIGKILL after a grace)
 * on timeout or abort. Whatever the group leaves behind when the leader exits is killed too, so a
 * call never leaves orphans that hold its pipes open. Resolves once the child and its pipes are
 * gone; rejects only when the program could not be started.
 */
export function runProcess(options: RunProcessOptions): Promise<ProcessOutcome> {
  if ([...options.args, ...Object.keys(options.env), ...Object.values(options.env)].some((value) => value.includes('\0'))) {
    // The kernel takes C strings: a NUL would silently cut the value, so refuse it.
    return Promise.reject(new NexusError('INVALID_ARGUMENTS', 'Command arguments and environment values must not contain NUL characters', { details: { command: options.file } }));
  }
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(options.file, [...options.args], {
      cwd: options.cwd,
      env: { ...options.env },
      // Its own process group: one kill(-pid) reaches every descendant that did not setsid().
      detached: true,
      shell: false,
      windowsHide: true,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const stdout = new CappedOutput('stdout', options.maxOutputBytes, options.onLine);
    const stderr = new CappedOutput('stderr', options.maxOutputBytes, options.onLine);
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));

    let stoppedBy: ProcessOutcome['stoppedBy'] = null;
    let exited = false;
    let killTimer: NodeJS.Timeout | undefined;
    let drainTimer: NodeJS.Timeout | undefined;
    const signalGroup = (signal: NodeJS.Signals): void => {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, signal);
      } catch {
        // ESRCH: the group is already gone.
      }
    };
    const stop = (reason: 'timeout' | 'abort'): void => {
      if (stoppedBy !== null || exited) return;
      stoppedBy = reason;
      signalGroup('SIGTERM');
      killTimer = setTimeout(() => signalGroup('SIGKILL'), options.killGraceMs ?? DEFAULT_KILL_GRACE_MS);
    };
    const timeoutTimer = setTimeout(() => stop('timeout'), options.timeoutMs);
    const onAbort = (): void => stop('abort');
    options.signal.addEventListener('abort', onAbort, { once: true });
    if (options.signal.aborted) stop('abort');

    const cleanup = (): void => {
      clearTimeout(timeoutTimer);
      clearTimeout(killTimer);
      clearTimeout(drainTimer);
      options.signal.removeEventListener('abort', onAbort);
    };

    child.on('error', (error: NodeJS.ErrnoException) => {
      if (child.pid !== undefined) return; // errors after start (e.g. EPIPE on stdin) are not fatal
      cleanup();
      reject(
        new NexusError('TOOL_EXECUTION_FAILED', `Could not start ${options.file}: ${error.message}`, {
          details: { command: options.file, errno: error.code ?? null },
          cause: error,
        }),
      );
    });
    child.once('exit', () => {
      exited = true;
      // Descendants left in the group would keep running and keep our pipes open.
      signalGroup('SIGKILL');
      drainTimer = setTimeout(() => {
        child.stdout.destroy();
        child.stderr.destroy();
      }, DRAIN_AFTER_EXIT_MS);
    });
    child.once('close', (exitCode: number | null, signal: NodeJS.Signals | null) => {
      cleanup();
      stdout.end();
      stderr.end();
      resolve({
        exitCode,
        signal,
        stdout: stdout.text(),
        stderr: stderr.text(),
        truncatedStdout: stdout.truncated,
        truncatedStderr: stderr.truncated,
        durationMs: Math.round(performance.now() - started),
        stoppedBy,
      });
    });

    // A child that exits without reading its input makes the write fail with EPIPE: not our error.
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.stdin ?? '');
  });
}

/** Keeps the first `limit` bytes of a stream and splits them into lines for live delivery. */
class CappedOutput {
  private readonly chunks: Buffer[] = [];
  private size = 0;
  private pending = '';
  private readonly decoder = new StringDecoder('utf8');
  truncated = false;

  constructor(
    private readonly stream: OutputLine['stream'],
    private readonly limit: number,
    private readonly onLine: ((line: OutputLine) => void) | undefined,
  ) {}

  push(chunk: Buffer): void {
    const room = this.limit - this.size;
    if (chunk.length > room) this.truncated = true;
    if (room <= 0) return;
    const kept = chunk.length > room ? chunk.subarray(0, room) : chunk;
    this.chunks.push(kept);
    this.size += kept.length;
    if (this.onLine) this.splitLines(this.decoder.write(kept));
  }

  end(): void {
    if (!this.onLine) return;
    this.splitLines(this.truncated ? '' : this.decoder.end());
    if (this.pending.length > 0) this.emit(this.pending);
    this.pending = '';
  }

  /** The kept bytes as text; a character cut in half by the cap is dropped rather than mangled. */
  text(): string {
    return new TextDecoder().decode(Buffer.concat(this.chunks), { stream: this.truncated });
  }

  private splitLines(text: string): void {
    this.pending += text;
    let newline = this.pending.indexOf('\n');
    while (newline !== -1) {
      this.emit(this.pending.slice(0, newline));
      this.pending = this.pending.slice(newline + 1);
      newline = this.pending.indexOf('\n');
    }
    while (this.pending.length > MAX_LINE_CHARS) {
      this.emit(this.pending.slice(0, MAX_LINE_CHARS));
      this.pending = this.pending.slice(MAX_LINE_CHARS);
    }
  }

  private emit(line: string): void {
    this.onLine?.({ stream: this.stream, line: line.endsWith('\r') ? line.slice(0, -1) : line });
  }
}

/** The child environment: only the named variables, copied from the server's environment. */
export function scrubbedEnv(names: readonly string[], source: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of names) {
    const value = source[name];
    if (value !== undefined) env[name] = value;
  }
  return env;
}
