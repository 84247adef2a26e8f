import { randomUUID } from 'node:crypto';
import type { CallToolResult, ContentBlock } from '@modelcontextprotocol/sdk/types.js';
import { NexusError, toToolErrorResult } from '../errors/index.js';
import { redactSecrets, type Logger } from '../logging/index.js';
import type { Principal } from '../auth/principal.js';
import { CallAbort } from './call-abort.js';
import { CallContext, type CallContextOwner } from './call-context.js';
import { ToolMetrics } from './metrics.js';
import type { RegisteredTool, ToolRegistry } from './registry.js';
import type { ClientLink, Tool, ToolOutput } from './types.js';

/** Key under which results carry the call's trace id in `_meta`. */
export const TRACE_META_KEY = 'dev.nexus/traceId';

export interface ToolCallRequest {
  name: string;
  args: unknown;
  principal: Principal;
  link: ClientLink;
  /** Aborted when the client cancels (notifications/cancelled) or disconnects. */
  signal?: AbortSignal | undefined;
  depth?: number;
  traceId?: string;
}

/** What hooks see about a call; `args` are already validated. */
export interface ToolCallInfo {
  readonly tool: string;
  readonly args: unknown;
  readonly principal: Principal;
  readonly traceId: string;
  readonly depth: number;
}

export interface ToolCallRecord extends ToolCallInfo {
  readonly durationMs: number;
  readonly outcome: 'ok' | 'error';
  readonly errorCode?: string | undefined;
}

/**
 * Hooks let other capabilities (auth scopes, rate limits, quotas, audit) sit inside the single
 * executor without the executor knowing them. `before` may throw a NexusError to refuse a call;
 * `after` observes every call, refused ones included.
 */
export interface ExecutorHook {
  before?(call: ToolCallInfo): void | Promise<void>;
  after?(record: ToolCallRecord): void | Promise<void>;
}

export interface ToolExecutorOptions {
  registry: ToolRegistry;
  logger: Logger;
  /** Default per-call limit, seconds (security.tool_timeout_secs). */
  defaultTimeoutSecs: number;
  /** Per-call traces with redacted arguments (--debug). */
  debug: boolean;
  /** Refuse deeper nesting (workflows calling workflows). */
  maxDepth?: number;
}

/**
 * Runs every tool call: resolve, validate, hooks, timeout + cancellation, output checks,
 * metrics and traces, and maps failures to tool results with structured errors. Nothing calls
 * a tool's `execute` except this class.
 */
export class ToolExecutor implements CallContextOwner {
  readonly metrics = new ToolMetrics();
  private readonly hooks: ExecutorHook[] = [];
  private readonly inFlight = new Map<string, InFlightCall>();
  private accepting = true;

  constructor(private readonly options: ToolExecutorOptions) {}

  addHook(hook: ExecutorHook): void {
    this.hooks.push(hook);
  }

  get inFlightCount(): number {
    return this.inFlight.size;
  }

  /** Runs a call and always resolves to a CallToolResult (errors become isError results). */
  async call(request: ToolCallRequest): Promise<CallToolResult> {
    const traceId = request.traceId ?? randomUUID();
    const depth = request.depth ?? 0;
    const started = performance.now();
    const flight = new InFlightCall(request.name, request.args);
    this.inFlight.set(traceId, flight);
    try {
      const result = await this.run(request, traceId, depth, flight);
      const finishing = this.finish({ tool: flight.tool, args: flight.args, principal: request.principal, traceId, depth, durationMs: performance.now() - started, outcome: 'ok' });
      if (finishing !== undefined) await finishing;
      return withTrace(result, traceId);
    } catch (error) {
      const nexusError = NexusError.from(error, 'TOOL_EXECUTION_FAILED');
      const durationMs = performance.now() - started;
      if (nexusError.code === 'INTERNAL_ERROR' || nexusError.code === 'OUTPUT_INVALID') {
        this.options.logger.error({ err: error, tool: flight.tool, traceId }, 'tool failed unexpectedly');
      }
      const finishing = this.finish({ tool: flight.tool, args: flight.args, principal: request.principal, traceId, depth, durationMs, outcome: 'error', errorCode: nexusError.code });
      if (finishing !== undefined) await finishing;
      const withTraceDetails = new NexusError(nexusError.code, nexusError.message, { details: { ...nexusError.details, traceId }, cause: nexusError.cause });
      return withTrace(toToolErrorResult(withTraceDetails), traceId);
    } finally {
      // Shutdown waits for the whole call (hooks and result included), not just the tool's run.
      this.inFlight.delete(traceId);
      flight.markFinished();
    }
  }

  /**
   * Stops accepting calls, waits up to `graceMs` for in-flight ones, then cancels the rest and
   * waits for them to settle.
   */
  async shutdown(graceMs: number): Promise<void> {
    this.accepting = false;
    const pending = [...this.inFlight.values()];
    if (pending.length === 0) return;
    let timer: NodeJS.Timeout | undefined;
    const graceOver = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, graceMs);
    });
    await Promise.race([Promise.all(pending.map((flight) => flight.finished())), graceOver]);
    clearTimeout(timer);
    for (const flight of this.inFlight.values()) flight.abort.abort(new NexusError('SHUTTING_DOWN', 'Nexus is shutting down'));
    await Promise.all([...this.inFlight.values()].map((flight) => flight.finished()));
    // The protocol layer hands each result to its transport a few promise steps after the call
    // returns; let that happen before the caller closes transports, or the results are lost.
    await new Promise<void>((resolve) => setImmediate(resolve));
  }

  private async run(request: ToolCallRequest, traceId: string, depth: number, flight: InFlightCall): Promise<CallToolResult> {
    if (!this.accepting) throw new NexusError('SHUTTING_DOWN', 'Nexus is shutting down and accepts no new calls');
    const maxDepth = this.options.maxDepth ?? 8;
    if (depth > maxDepth) {
      throw new NexusError('INVALID_ARGUMENTS', `Calls nest deeper than ${maxDepth} levels`, { details: { depth } });
    }
    const entry = this.options.registry.resolve(request.name);
    const tool = entry.tool;
    const validation = entry.input.validate(request.args ?? {});
    if (!validation.ok) {
      const summary = validation.problems.map((p) => `${p.field}: ${p.message}`).join('; ');
      throw new NexusError('INVALID_ARGUMENTS', `Invalid arguments for ${tool.name}: ${summary}`, { details: { tool: tool.name, problems: validation.problems } });
    }
    flight.tool = tool.name;
    flight.args = validation.value;
    const info: ToolCallInfo = { tool: tool.name, args: validation.value, principal: request.principal, traceId, depth };
    for (const hook of this.hooks) {
      // Most hooks decide synchronously; awaiting only real promises keeps a call's path short.
      const pending = hook.before?.(info);
      if (pending !== undefined) await pending;
    }

    const { abort } = flight;
    if (request.signal?.aborted) throw cancelled(tool.name);
    const context = new CallContext(this, request, abort, this.options.logger, tool.name, traceId, depth);
    if (this.options.debug) context.logger.debug({ args: redactSecrets(validation.value), principal: request.principal.id, depth }, 'tool call start');
    const began = performance.now();
    const returned = tool.execute(validation.value, context);
    // A tool that answers synchronously cannot be timed out or cancelled while it runs (nothing
    // else runs meanwhile), so the deadline and the caller's signal are watched only for a
    // promise. Arming them for every call (a timer, a listener, a race and the extra awaits)
    // was a third of an echo call's time in the runtime.
    const output = isPromiseLike(returned) ? await this.guard(returned, { tool, abort, signal: request.signal, began }) : returned;
    if (abort.reason !== undefined) throw abort.reason;
    return this.toResult(entry, output);
  }

  /**
   * Waits for a tool's promise until it settles or the call is stopped, whichever comes first:
   * its deadline (measured from when it began), the caller's cancellation, or shutdown. A timer
   * and a listener, both released when the wait ends, cost far less than AbortSignal.timeout +
   * AbortSignal.any per call (weak refs, a 30 s timer left pending per call, GC).
   */
  private async guard(returned: PromiseLike<ToolOutput>, call: { tool: Tool; abort: CallAbort; signal: AbortSignal | undefined; began: number }): Promise<ToolOutput> {
    const { tool, abort, signal } = call;
    const timeoutSecs = tool.timeoutSecs ?? this.options.defaultTimeoutSecs;
    const timer = setTimeout(
      () => abort.abort(new NexusError('TOOL_TIMEOUT', `${tool.name} did not finish within ${timeoutSecs} s`, { details: { tool: tool.name, timeoutSecs } })),
      Math.max(0, timeoutSecs * 1000 - (performance.now() - call.began)),
    );
    timer.unref();
    const onCallerAbort = (): void => abort.abort(cancelled(tool.name));
    signal?.addEventListener('abort', onCallerAbort, { once: true });
    try {
      // A tool that ignores its signal still cannot hold the caller past the deadline.
      return await Promise.race([returned, abort.stopped]);
    } catch (error) {
      throw abort.reason ?? error;
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onCallerAbort);
    }
  }

  private toResult(entry: RegisteredTool, output: ToolOutput): CallToolResult {
    const structured = isPlainObject(output.data) ? output.data : undefined;
    if (entry.output && output.data !== undefined && output.isError !== true) {
      const check = entry.output.validate(output.data);
      if (!check.ok) {
        throw new NexusError('OUTPUT_INVALID', `${entry.tool.name} returned data that does not match its output schema`, { details: { problems: check.problems } });
      }
    }
    // The text twin of structured data is compact JSON: models read it as well as indented JSON,
    // at fewer tokens, and every byte of it is serialized, sent and parsed on both sides.
    const content: ContentBlock[] = output.content ?? [{ type: 'text', text: output.text ?? (output.data === undefined ? '' : JSON.stringify(output.data)) }];
    return {
      content,
      ...(structured === undefined ? {} : { structuredContent: structured }),
      ...(output.isError === true ? { isError: true } : {}),
    };
  }

  /** Metrics, the debug trace and the after hooks; a promise only when a hook returned one. */
  private finish(record: ToolCallRecord): Promise<void> | undefined {
    this.metrics.record(record.tool, { durationMs: record.durationMs, errorCode: record.errorCode });
    if (this.options.debug) {
      // One trace per call, refused and failed ones included: tool, redacted args, duration, outcome.
      const { tool, traceId, durationMs, outcome, errorCode, depth } = record;
      this.options.logger.debug({ tool, traceId, args: redactSecrets(record.args), durationMs: Math.round(durationMs * 100) / 100, outcome, ...(errorCode === undefined ? {} : { errorCode }), depth }, 'tool call end');
    }
    let pending: Array<Promise<void>> | undefined;
    for (const hook of this.hooks) {
      try {
        const result = hook.after?.(record);
        if (result !== undefined) (pending ??= []).push(result.catch((error: unknown) => this.hookFailed(error, record.traceId)));
      } catch (error) {
        this.hookFailed(error, record.traceId);
      }
    }
    return pending === undefined ? undefined : Promise.all(pending).then(() => undefined);
  }

  private hookFailed(error: unknown, traceId: string): void {
    this.options.logger.error({ err: error, traceId }, 'executor hook failed');
  }
}

/** Adds the trace id to a result this executor just built (so it may be changed in place). */
function withTrace(result: CallToolResult, traceId: string): CallToolResult {
  result._meta = { ...result._meta, [TRACE_META_KEY]: traceId };
  return result;
}

/** One call in flight: how to stop it, what it resolved to, and a way to wait for its end. */
class InFlightCall {
  readonly abort = new CallAbort();
  private waiters: Array<() => void> | undefined;
  private done = false;

  constructor(
    /** The canonical tool name and validated arguments once known; as requested until then. */
    public tool: string,
    public args: unknown,
  ) {}

  /** Resolves when the call has fully ended (made only when shutdown asks: most calls never wait). */
  finished(): Promise<void> {
    if (this.done) return Promise.resolve();
    return new Promise((resolve) => (this.waiters ??= []).push(resolve));
  }

  markFinished(): void {
    this.done = true;
    for (const resolve of this.waiters ?? []) resolve();
  }
}

function cancelled(tool: string): NexusError {
  return new NexusError('CANCELLED', `${tool} was cancelled`, { details: { tool } });
}

function isPromiseLike<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
