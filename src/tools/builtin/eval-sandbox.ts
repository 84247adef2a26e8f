import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { NexusError } from '../../errors/index.js';

/**
 * Runs user-controlled regular expressions and JSONPath queries on worker threads that are killed
 * at a deadline. V8's regex engine backtracks, so a pattern such as `(a+)+$` on a long string can
 * spin for hours; on the main thread that would freeze every session. A worker can be terminated
 * mid-match (V8 checks for termination while backtracking), so the server keeps serving.
 *
 * The worker source is a plain string (an `eval` worker) rather than a file: the same code then
 * runs from `src/` under vitest and from `dist/` after the build, with no loader tricks. It is kept
 * deliberately small: patterns are translated, replacement templates parsed and byte offsets
 * computed on the main thread (all linear-time work); the worker only runs the engine.
 */

/** One piece of a parsed replacement template. */
export type ReplacementPart = { literal: string } | { group: number } | { name: string };

export interface RegexJobMatch {
  /** UTF-16 index of the match in the text. */
  index: number;
  match: string;
  /** Whole match first, then each group; null for a group that did not participate. */
  groups: Array<string | null>;
  named: Record<string, string | null>;
}

export type EvalJob =
  | { kind: 'regex.match'; source: string; flags: string; text: string; global: boolean; limit: number }
  | { kind: 'regex.replace'; source: string; flags: string; text: string; global: boolean; replacement: ReplacementPart[]; maxChars: number }
  | { kind: 'jsonpath'; path: string; value: unknown; limit: number };

export type EvalResult =
  | { kind: 'regex.match'; matches: RegexJobMatch[]; truncated: boolean }
  | { kind: 'regex.replace'; result: string; replacements: number }
  | { kind: 'jsonpath'; values: unknown[]; paths: string[]; truncated: boolean };

/** Failures the worker reports as data (everything else is a crash). */
type WorkerFailure = { failure: 'invalid_regex' | 'invalid_jsonpath' | 'too_large'; message: string; index?: number };
type WorkerReply = { ok: true; result: EvalResult } | ({ ok: false } & WorkerFailure);

const WORKER_SOURCE = String.raw`
const { parentPort, workerData } = require('node:worker_threads');
const { jsonpath } = require(workerData.jsonP3);
function compile(source, flags) {
  try { return new RegExp(source, flags); }
  catch (error) { throw { failure: 'invalid_regex', message: error.message }; }
}
function describe(m) {
  const groups = Array.from(m, (g) => (g === undefined ? null : g));
  const named = {};
  for (const [key, value] of Object.entries(m.groups || {})) named[key] = value === undefined ? null : value;
  return { index: m.index, match: m[0], groups, named };
}
function expand(parts, m) {
  let out = '';
  for (const part of parts) {
    if ('literal' in part) out += part.literal;
    else if ('group' in part) out += m[part.group] === undefined ? '' : m[part.group];
    else out += m.groups && m.groups[part.name] !== undefined ? m.groups[part.name] : '';
  }
  return out;
}
function run(job) {
  if (job.kind === 'regex.match') {
    const re = compile(job.source, job.flags + (job.global ? 'g' : ''));
    if (!job.global) {
      const m = re.exec(job.text);
      return { kind: job.kind, matches: m ? [describe(m)] : [], truncated: false };
    }
    const matches = [];
    for (const m of job.text.matchAll(re)) {
      if (matches.length === job.limit) return { kind: job.kind, matches, truncated: true };
      matches.push(describe(m));
    }
    return { kind: job.kind, matches, truncated: false };
  }
  if (job.kind === 'regex.replace') {
    const re = compile(job.source, job.flags + (job.global ? 'g' : ''));
    const matches = job.global ? job.text.matchAll(re) : [re.exec(job.text)].filter(Boolean);
    let out = '';
    let last = 0;
    let replacements = 0;
    for (const m of matches) {
      out += job.text.slice(last, m.index) + expand(job.replacement, m);
      last = m.index + m[0].length;
      replacements += 1;
      if (out.length > job.maxChars) throw { failure: 'too_large', message: 'the result grew past ' + job.maxChars + ' characters' };
    }
    out += job.text.slice(last);
    if (out.length > job.maxChars) throw { failure: 'too_large', message: 'the result grew past ' + job.maxChars + ' characters' };
    return { kind: job.kind, result: out, replacements };
  }
  let compiled;
  try { compiled = jsonpath.compile(job.path); }
  catch (error) {
    throw { failure: 'invalid_jsonpath', message: error.message, index: error.token ? error.token.index : undefined };
  }
  const values = [];
  const paths = [];
  for (const node of compiled.lazyQuery(job.value)) {
    if (values.length === job.limit) return { kind: job.kind, values, paths, truncated: true };
    values.push(node.value);
    paths.push(node.getPath({ form: 'canonical' }));
  }
  return { kind: job.kind, values, paths, truncated: false };
}
parentPort.on('message', (job) => {
  try { parentPort.postMessage({ ok: true, result: run(job) }); }
  catch (error) {
    if (error && typeof error.failure === 'string') parentPort.postMessage({ ok: false, ...error });
    else throw error;
  }
});
parentPort.postMessage({ ready: true });
`;

export interface EvalSandboxOptions {
  /** Per-job deadline (security.regex_timeout_ms). */
  timeoutMs: number;
  /** Jobs running at once; further jobs wait for a free slot. */
  maxWorkers?: number;
  /** Heap cap per worker, so a result that explodes fails alone. */
  maxHeapMb?: number;
}

/** How a job failed, so each tool can pick its own error code. */
export class EvalFailure extends Error {
  constructor(
    readonly reason: WorkerFailure['failure'] | 'timeout' | 'out_of_memory',
    message: string,
    readonly index?: number,
  ) {
    super(message);
  }
}

/** A pool of evaluation workers; idle ones are reused, a worker past its deadline is terminated. */
export class EvalSandbox {
  private readonly idle: Worker[] = [];
  private readonly busy = new Set<Worker>();
  private readonly waiting: Array<() => void> = [];
  private readonly ready = new WeakMap<Worker, Promise<void>>();
  private readonly jsonP3 = createRequire(import.meta.url).resolve('json-p3');
  private closed = false;

  constructor(private readonly options: EvalSandboxOptions) {}

  /** Runs one job; rejects with EvalFailure, or a NexusError (CANCELLED) when `signal` aborts. */
  async run<Kind extends EvalJob['kind']>(job: Extract<EvalJob, { kind: Kind }>, signal: AbortSignal): Promise<Extract<EvalResult, { kind: Kind }>> {
    await this.slot(signal);
    const worker = this.idle.pop() ?? this.spawn();
    worker.ref();
    this.busy.add(worker);
    let keep = false;
    try {
      // Start-up (thread, module load) is not the job's time: the deadline starts once it is ready.
      await this.ready.get(worker);
      const reply = await this.exchange(worker, job, signal);
      keep = true;
      // The worker answers a job with a result of the same kind (see WORKER_SOURCE).
      if (reply.ok) return reply.result as Extract<EvalResult, { kind: Kind }>;
      throw new EvalFailure(reply.failure, reply.message, reply.index);
    } finally {
      this.busy.delete(worker);
      if (keep && !this.closed) {
        worker.unref();
        this.idle.push(worker);
      } else {
        void worker.terminate();
      }
      this.waiting.shift()?.();
    }
  }

  /** Terminates every worker; later jobs are refused. */
  async close(): Promise<void> {
    this.closed = true;
    const all = [...this.idle.splice(0), ...this.busy];
    await Promise.all(all.map((worker) => worker.terminate()));
  }

  private async slot(signal: AbortSignal): Promise<void> {
    const max = this.options.maxWorkers ?? 4;
    while (this.busy.size >= max) {
      signal.throwIfAborted();
      await new Promise<void>((resolve, reject) => {
        const onAbort = (): void => reject(cancelled(signal));
        signal.addEventListener('abort', onAbort, { once: true });
        this.waiting.push(() => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        });
      });
    }
    if (this.closed) throw new NexusError('SHUTTING_DOWN', 'Nexus is shutting down');
  }

  private spawn(): Worker {
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { jsonP3: this.jsonP3 },
      resourceLimits: { maxOldGenerationSizeMb: this.options.maxHeapMb ?? 256 },
    });
    const ready = new Promise<void>((resolve, reject) => {
      worker.once('message', () => resolve());
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(`evaluation worker exited with code ${code} while starting`)));
    });
    ready.catch(() => undefined);
    this.ready.set(worker, ready);
    return worker;
  }

  private exchange(worker: Worker, job: EvalJob, signal: AbortSignal): Promise<WorkerReply> {
    return new Promise<WorkerReply>((resolve, reject) => {
      const cleanup = (): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        worker.off('message', onMessage);
        worker.off('error', onError);
        worker.off('exit', onExit);
      };
      const fail = (error: Error): void => {
        cleanup();
        reject(error);
      };
      const onMessage = (reply: WorkerReply): void => {
        cleanup();
        resolve(reply);
      };
      const onError = (error: Error & { code?: string }): void =>
        fail(error.code === 'ERR_WORKER_OUT_OF_MEMORY' ? new EvalFailure('out_of_memory', 'the evaluation ran out of its memory limit') : error);
      const onExit = (code: number): void => fail(new Error(`evaluation worker exited with code ${code}`));
      const onAbort = (): void => fail(cancelled(signal));
      const timer = setTimeout(() => fail(new EvalFailure('timeout', `the evaluation did not finish within ${this.options.timeoutMs} ms`)), this.options.timeoutMs);
      if (signal.aborted) return fail(cancelled(signal));
      signal.addEventListener('abort', onAbort, { once: true });
      worker.on('message', onMessage);
      worker.on('error', onError);
      worker.on('exit', onExit);
      worker.postMessage(job);
    });
  }
}

function cancelled(signal: AbortSignal): NexusError {
  const reason: unknown = signal.reason;
  return NexusError.is(reason) ? reason : new NexusError('CANCELLED', 'The call was cancelled');
}

/** Maps a failed evaluation to the catalogued error the calling tool reports. */
export function evalError(error: unknown, codes: { timeout: 'REGEX_TIMEOUT' | 'JSON_QUERY_TIMEOUT'; details: Record<string, unknown> }): unknown {
  if (!(error instanceof EvalFailure)) return error;
  const details = { ...codes.details, ...(error.index === undefined ? {} : { position: error.index }) };
  switch (error.reason) {
    case 'timeout':
      return new NexusError(codes.timeout, `Stopped: ${error.message} (security.regex_timeout_ms); simplify the pattern or shorten the input`, { details });
    case 'invalid_regex':
      return new NexusError('INVALID_REGEX', `Invalid regex: ${error.message}`, { details });
    case 'invalid_jsonpath':
      return new NexusError('INVALID_JSON_PATH', `Invalid JSONPath: ${error.message}`, { details });
    case 'too_large':
    case 'out_of_memory':
      return new NexusError('RESULT_TOO_LARGE', `Result too large: ${error.message}`, { details });
  }
}
