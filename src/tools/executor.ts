import { randomUUID } from 'node:crypto';
import type { CallToolResult, ContentBlock, LoggingLevel } from '@modelcontextprotocol/sdk/types.js';
import { NexusError, toToolErrorResult } from '../errors/index.js';
import { redactSecrets, type Logger } from '../logging/index.js';
import type { Principal } from '../auth/principal.js';
import { CallAbort } from './call-abort.js';
import { ToolMetrics } from './metrics.js';
import type { RegisteredTool, ToolRegistry } from './registry.js';
import type { ClientLink, ToolContext, ToolOutput } from './types.js';

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
export class ToolExecutor {
  readonly metrics = new ToolMetrics();
  private readonly hooks: ExecutorHook[] = [];
  private readonly inFlight = new Map<string, { abort: CallAbort; done: Promise<unknown> }>();
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
    const abort = new CallAbort();
    let toolName = request.name;
    let validatedArgs: unknown = request.args;
    const done = this.run(request, { traceId, depth, abort }, (name, args) => {
      toolName = name;
      validatedArgs = args;
    });
    // Shutdown waits for the whole call (hooks and result included), not just the tool's run.
    let markFinished!: () => void;
    this.inFlight.set(traceId, { abort, done: new Promise<void>((resolve) => (markFinished = resolve)) });
    try {
      const result = await done;
      await this.finish({ tool: toolName, args: validatedArgs, principal: request.principal, traceId, depth, durationMs: performance.now() - started, outcome: 'ok' });
      return withTrace(result, traceId);
    } catch (error) {
      const nexusError = NexusError.from(error, 'TOOL_EXECUTION_FAILED');
      const durationMs = performance.now() - started;
      if (nexusError.code === 'INTERNAL_ERROR' || nexusError.code === 'OUTPUT_INVALID') {
        this.options.logger.error({ err: error, tool: toolName, traceId }, 'tool failed unexpectedly');
      }
      await this.finish({ tool: toolName, args: validatedArgs, principal: request.principal, traceId, depth, durationMs, outcome: 'error', errorCode: nexusError.code });
      const withTraceDetails = new NexusError(nexusError.code, nexusError.message, { details: { ...nexusError.details, traceId }, cause: nexusError.cause });
      return withTrace(toToolErrorResult(withTraceDetails), traceId);
    } finally {
      this.inFlight.delete(traceId);
      markFinished();
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
    await Promise.race([Promise.allSettled(pending.map((entry) => entry.done)), graceOver]);
    clearTimeout(timer);
    for (const entry of this.inFlight.values()) entry.abort.abort(new NexusError('SHUTTING_DOWN', 'Nexus is shutting down'));
    await Promise.allSettled([...this.inFlight.values()].map((entry) => entry.done));
    // The protocol layer hands each result to its transport a few promise steps after the call
    // returns; let that happen before the caller closes transports, or the results are lost.
    await new Promise<void>((resolve) => setImmediate(resolve));
  }

  private async run(
    request: ToolCallRequest,
    call: { traceId: string; depth: number; abort: CallAbort },
    onResolved: (name: string, args: unknown) => void,
  ): Promise<CallToolResult> {
    if (!this.accepting) throw new NexusError('SHUTTING_DOWN', 'Nexus is shutting down and accepts no new calls');
    const maxDepth = this.options.maxDepth ?? 8;
    if (call.depth > maxDepth) {
      throw new NexusError('INVALID_ARGUMENTS', `Calls nest deeper than ${maxDepth} levels`, { details: { depth: call.depth } });
    }
    const entry = this.options.registry.resolve(request.name);
    const tool = entry.tool;
    const validation = entry.input.validate(request.args ?? {});
    if (!validation.ok) {
      const summary = validation.problems.map((p) => `${p.field}: ${p.message}`).join('; ');
      throw new NexusError('INVALID_ARGUMENTS', `Invalid arguments for ${tool.name}: ${summary}`, { details: { tool: tool.name, problems: validation.problems } });
    }
    onResolved(tool.name, validation.value);
    const info: ToolCallInfo = { tool: tool.name, args: validation.value, principal: request.principal, traceId: call.traceId, depth: call.depth };
    for (const hook of this.hooks) await hook.before?.(info);

    const timeoutSecs = tool.timeoutSecs ?? this.options.defaultTimeoutSecs;
    // The call is stopped with whichever reason comes first: timeout, the caller's cancellation,
    // shutdown. A timer and a listener, both released when the call ends, cost far less than
    // AbortSignal.timeout + AbortSignal.any per call (weak refs, a 30 s timer left pending per
    // call, GC), which dominated the executor's CPU profile.
    const { abort } = call;
    const timer = setTimeout(() => {
      abort.abort(new NexusError('TOOL_TIMEOUT', `${tool.name} did not finish within ${timeoutSecs} s`, { details: { tool: tool.name, timeoutSecs } }));
    }, timeoutSecs * 1000);
    timer.unref();
    const onCallerAbort = (): void => abort.abort(new NexusError('CANCELLED', `${tool.name} was cancelled`, { details: { tool: tool.name } }));
    if (request.signal?.aborted) onCallerAbort();
    else request.signal?.addEventListener('abort', onCallerAbort, { once: true });
    try {
      // The call's child logger is made when first used: most calls never log, and a pino child
      // (bindings serialized, redaction set up) was a visible share of a short call's CPU.
      let callLogger: Logger | undefined;
      const logger = (): Logger => (callLogger ??= this.options.logger.child({ tool: tool.name, traceId: call.traceId }));
      if (this.options.debug) logger().debug({ args: redactSecrets(validation.value), principal: request.principal.id, depth: call.depth }, 'tool call start');

      const context = this.createContext({ request, abort, logger, traceId: call.traceId, depth: call.depth });
      let output: ToolOutput;
      try {
        // A tool that ignores its signal still cannot hold the caller past the deadline.
        output = await Promise.race([tool.execute(validation.value, context), abort.stopped]);
      } catch (error) {
        throw abort.reason ?? error;
      }
      if (abort.reason !== undefined) throw abort.reason;
      return this.toResult(entry, output);
    } finally {
      clearTimeout(timer);
      request.signal?.removeEventListener('abort', onCallerAbort);
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
    const content: ContentBlock[] = output.content ?? [{ type: 'text', text: output.text ?? (output.data === undefined ? '' : JSON.stringify(output.data, null, 2)) }];
    return {
      content,
      ...(structured === undefined ? {} : { structuredContent: structured }),
      ...(output.isError === true ? { isError: true } : {}),
    };
  }

  private createContext(options: { request: ToolCallRequest; abort: CallAbort; logger: () => Logger; traceId: string; depth: number }): ToolContext {
    const { request, abort, logger, traceId, depth } = options;
    const link = request.link;
    return {
      get signal() {
        return abort.signal;
      },
      traceId,
      principal: request.principal,
      get logger() {
        return logger();
      },
      depth,
      client: link,
      progress: (update) => link.progress(update),
      log: (level: LoggingLevel, data: unknown) => link.log(level, data, request.name),
      elicit: (params) => link.elicit(params, { signal: abort.signal }),
      sample: (params) => link.sample(params, { signal: abort.signal }),
      callTool: (name, args, nested) =>
        this.call({
          name,
          args,
          principal: request.principal,
          link: nested?.link ?? link,
          signal: nested?.signal ? AbortSignal.any([abort.signal, nested.signal]) : abort.signal,
          depth: depth + 1,
          traceId: `${traceId}.${randomUUID().slice(0, 8)}`,
        }),
    };
  }

  private async finish(record: ToolCallRecord): Promise<void> {
    this.metrics.record(record.tool, { durationMs: record.durationMs, errorCode: record.errorCode });
    if (this.options.debug) {
      // One trace per call, refused and failed ones included: tool, redacted args, duration, outcome.
      const { tool, traceId, durationMs, outcome, errorCode, depth } = record;
      this.options.logger.debug({ tool, traceId, args: redactSecrets(record.args), durationMs: Math.round(durationMs * 100) / 100, outcome, ...(errorCode === undefined ? {} : { errorCode }), depth }, 'tool call end');
    }
    for (const hook of this.hooks) {
      try {
        await hook.after?.(record);
      } catch (error) {
        this.options.logger.error({ err: error, traceId: record.traceId }, 'executor hook failed');
      }
    }
  }
}

function withTrace(result: CallToolResult, traceId: string): CallToolResult {
  return { ...result, _meta: { ...(result._meta ?? {}), [TRACE_META_KEY]: traceId } };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
