import type { CallToolResult, LoggingLevel } from '@modelcontextprotocol/sdk/types.js';
import { ERROR_CODES, isErrorCode, NexusError, type ErrorCode } from '../errors/index.js';
import type { ToolRegistry } from '../tools/registry.js';
import type { ClientLink, ToolContext } from '../tools/types.js';
import type { CompiledWorkflow, ParallelStep, Step, ToolStep, WorkflowLimits } from './definition.js';
import { evaluate, ExpressionEvalError, NO_VALUE, truthy } from './expression.js';
import { fillMissing, stepValue, stringsWhereDeclared } from './piping.js';
import { render, type RenderSite } from './template.js';

export type RunStatus = 'running' | 'succeeded' | 'failed' | 'cancelled';
export type StepStatus = 'pending' | 'running' | 'succeeded' | 'failed' | 'skipped' | 'cancelled';

/** What a run record keeps about one step. */
export interface StepRecord {
  id: string;
  kind: 'tool' | 'parallel';
  tool?: string | undefined;
  /** The parallel group a step belongs to. */
  group?: string | undefined;
  status: StepStatus;
  attempts: number;
  started_at?: string | undefined;
  finished_at?: string | undefined;
  duration_ms?: number | undefined;
  error?: { code: string; message: string } | undefined;
  /** foreach steps: how the items went. */
  items?: { total: number; succeeded: number; failed: number } | undefined;
}

export interface RunResult {
  readonly status: Exclude<RunStatus, 'running'>;
  readonly output?: unknown;
  readonly error?: NexusError | undefined;
  readonly steps: readonly StepRecord[];
  readonly durationMs: number;
}

export interface RunHooks {
  /** Called whenever a step starts or settles (run records are kept current with it). */
  stepsChanged?(steps: readonly StepRecord[]): void;
  /** Wraps each nested tool call (the workflow service uses it to track the call chain). */
  wrapCall?(call: () => Promise<CallToolResult>): Promise<CallToolResult>;
}

export interface EngineDeps {
  readonly registry: ToolRegistry;
  readonly limits: WorkflowLimits;
}

type StepOutcome = { status: 'succeeded'; value: unknown } | { status: 'skipped' } | { status: 'failed'; error: NexusError; continued: boolean };
type CallOutcome = { ok: true; value: unknown } | { ok: false; error: NexusError };

/** Steps whose error says "try again later": server-side faults, timeouts, rate limits. */
function retryable(code: ErrorCode): boolean {
  const status = ERROR_CODES[code].httpStatus;
  return code !== 'SHUTTING_DOWN' && code !== 'WORKFLOW_TIMEOUT' && (status >= 500 || status === 429 || status === 408);
}

/**
 * Runs one compiled workflow. Every step goes through `context.callTool`, i.e. the same executor,
 * principal, validation, sandbox, hooks and limits as a direct call from the client, one level
 * deeper. `run` never throws: the outcome (with the failing step's error) is returned for the
 * caller to record and report.
 */
export class WorkflowEngine {
  constructor(private readonly deps: EngineDeps) {}

  async run(options: { workflow: CompiledWorkflow; input: Record<string, unknown>; context: ToolContext; runId: string; hooks?: RunHooks }): Promise<RunResult> {
    return new Run(this.deps, options).execute();
  }
}

class Run {
  private readonly started = performance.now();
  private readonly controller = new AbortController();
  private readonly records = new Map<string, StepRecord>();
  private readonly steps: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  private readonly errors: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  private prev: unknown = NO_VALUE;
  private readonly quietLink: ClientLink;
  private readonly workflow: CompiledWorkflow;
  private readonly context: ToolContext;
  private readonly input: Record<string, unknown>;
  private readonly hooks: RunHooks;
  private readonly runId: string;

  constructor(
    private readonly deps: EngineDeps,
    options: { workflow: CompiledWorkflow; input: Record<string, unknown>; context: ToolContext; runId: string; hooks?: RunHooks },
  ) {
    this.workflow = options.workflow;
    this.context = options.context;
    this.input = options.input;
    this.hooks = options.hooks ?? {};
    this.runId = options.runId;
    this.quietLink = quietLink(options.context.client);
    for (const step of this.workflow.steps) {
      this.records.set(step.id, { id: step.id, kind: step.kind, ...(step.kind === 'tool' ? { tool: step.tool } : {}), status: 'pending', attempts: 0 });
      if (step.kind === 'parallel') {
        for (const child of step.children) this.records.set(child.id, { id: child.id, kind: 'tool', tool: child.tool, group: step.id, status: 'pending', attempts: 0 });
      }
    }
  }

  async execute(): Promise<RunResult> {
    const limit = Math.min(this.workflow.timeoutSecs ?? this.deps.limits.timeout_secs, this.deps.limits.timeout_secs);
    const deadline = setTimeout(
      () => this.controller.abort(new NexusError('WORKFLOW_TIMEOUT', `Workflow "${this.workflow.name}" did not finish within ${limit} s`, { details: { workflow: this.workflow.name, timeoutSecs: limit } })),
      limit * 1000,
    );
    const outer = this.context.signal;
    const onOuterAbort = (): void => this.controller.abort(cancellation(outer.reason, this.workflow.name));
    if (outer.aborted) onOuterAbort();
    else outer.addEventListener('abort', onOuterAbort, { once: true });

    let failure: NexusError | undefined;
    try {
      const total = this.workflow.steps.length;
      for (const [index, step] of this.workflow.steps.entries()) {
        if (this.controller.signal.aborted) break;
        await this.progress({ progress: index, total, message: `step ${index + 1} of ${total}: ${step.id} (${step.kind === 'tool' ? step.tool : 'parallel'})` });
        const outcome = await this.executeStep(step, { top: true });
        if (outcome.status === 'failed' && !outcome.continued) {
          failure = outcome.error;
          break;
        }
      }
    } finally {
      clearTimeout(deadline);
      outer.removeEventListener('abort', onOuterAbort);
    }

    if (this.controller.signal.aborted) {
      const reason = NexusError.from(this.controller.signal.reason, 'CANCELLED');
      this.settleUnfinished(reason.code === 'WORKFLOW_TIMEOUT' ? 'failed' : 'cancelled', reason);
      return this.finish(reason.code === 'CANCELLED' || reason.code === 'SHUTTING_DOWN' ? 'cancelled' : 'failed', { error: reason });
    }
    if (failure) {
      this.settleUnfinished('skipped');
      return this.finish('failed', { error: failure });
    }
    try {
      const output = this.workflow.output === undefined ? (this.prev === NO_VALUE ? null : this.prev) : render(this.workflow.output, this.scope(), { step: 'output' });
      await this.progress({ progress: this.workflow.steps.length, total: this.workflow.steps.length, message: 'workflow finished' });
      return this.finish('succeeded', { output });
    } catch (error) {
      return this.finish('failed', { error: NexusError.from(error) });
    }
  }

  private finish(status: RunResult['status'], result: { output?: unknown; error?: NexusError }): RunResult {
    return { status, ...result, steps: this.recordList(), durationMs: Math.round(performance.now() - this.started) };
  }

  private scope(extra: { item: unknown; index: number } | undefined = undefined): Record<string, unknown> {
    return { input: this.input, steps: this.steps, errors: this.errors, prev: this.prev, ...(extra ?? {}) };
  }

  /** Runs one step (tool, foreach or parallel group) and records how it went. */
  private async executeStep(step: Step, options: { top: boolean; signal?: AbortSignal }): Promise<StepOutcome> {
    const signal = options.signal ?? this.controller.signal;
    const record = this.record(step.id);
    record.status = 'running';
    record.started_at = new Date().toISOString();
    const began = performance.now();
    this.changed();
    const outcome = await this.attemptStep(step, signal, record);
    record.finished_at = new Date().toISOString();
    record.duration_ms = Math.round(performance.now() - began);
    if (outcome.status === 'succeeded') {
      record.status = 'succeeded';
      this.steps[step.id] = outcome.value;
      if (options.top) this.prev = outcome.value;
    } else if (outcome.status === 'skipped') {
      record.status = 'skipped';
      this.steps[step.id] = NO_VALUE;
      if (step.kind === 'parallel') for (const child of step.children) this.markSkipped(child.id);
    } else {
      // A step cut short by the run's own abort carries the run's reason (cancelled, timed out).
      const runReason = this.controller.signal.aborted ? NexusError.from(this.controller.signal.reason, 'CANCELLED') : undefined;
      const error = runReason ?? outcome.error;
      record.status = error.code === 'CANCELLED' || error.code === 'SHUTTING_DOWN' ? 'cancelled' : 'failed';
      record.error = { code: error.code, message: error.message };
      this.steps[step.id] = NO_VALUE;
      this.errors[step.id] = record.error;
    }
    this.changed();
    await this.logStep(step, record);
    return outcome;
  }

  private async attemptStep(step: Step, signal: AbortSignal, record: StepRecord): Promise<StepOutcome> {
    if (step.condition) {
      try {
        if (!truthy(evaluate(step.condition.node, this.scope()))) return { status: 'skipped' };
      } catch (error) {
        return this.failed(step, conditionError(error, step, step.condition.source));
      }
    }
    try {
      if (step.kind === 'parallel') return await this.runParallel(step, signal);
      if (step.foreach !== undefined) return await this.runForeach(step, signal, record);
      const outcome = await this.call(step, this.scope(), signal, record, this.prev === NO_VALUE ? undefined : { value: this.prev });
      return outcome.ok ? { status: 'succeeded', value: outcome.value } : this.failed(step, outcome.error);
    } catch (error) {
      return this.failed(step, NexusError.from(error));
    }
  }

  /** A step's failure, naming the step (unless a nested step or template already did). */
  private failed(step: Step, error: NexusError): StepOutcome {
    const tool = step.kind === 'tool' ? step.tool : 'parallel';
    const named = error.details['step'] !== undefined ? error : new NexusError(error.code, `Step "${step.id}" (${tool}) failed: ${error.message}`, { details: { ...error.details, step: step.id, tool }, cause: error.cause });
    return { status: 'failed', error: named, continued: step.onError === 'continue' && !this.controller.signal.aborted };
  }

  /** One tool call with the step's timeout and retries. */
  private async call(step: ToolStep, scope: Record<string, unknown>, signal: AbortSignal, record: StepRecord, pipeFrom: { value: unknown } | undefined): Promise<CallOutcome> {
    const site: RenderSite = { step: step.id, tool: step.tool };
    let args: Record<string, unknown>;
    try {
      const entry = this.deps.registry.resolve(step.tool);
      args = stringsWhereDeclared(entry, step.args, render(step.args, scope, site) as Record<string, unknown>);
      args = fillMissing(entry, args, pipeFrom);
    } catch (error) {
      return { ok: false, error: NexusError.from(error) };
    }
    for (let attempt = 0; ; attempt += 1) {
      record.attempts += 1;
      const outcome = await this.callOnce(step, args, signal, scope);
      if (outcome.ok || signal.aborted) return outcome;
      if (attempt >= step.retries || !retryable(outcome.error.code)) return outcome;
      const delay = step.backoffMs * 2 ** attempt;
      await this.log('warning', { event: 'step_retry', step: step.id, tool: step.tool, attempt: attempt + 1, delay_ms: delay, error: { code: outcome.error.code, message: outcome.error.message } });
      if (!(await sleep(delay, signal))) return outcome;
    }
  }

  private async callOnce(step: ToolStep, args: Record<string, unknown>, signal: AbortSignal, scope: Record<string, unknown>): Promise<CallOutcome> {
    const stepController = new AbortController();
    const timer = step.timeoutSecs === undefined ? undefined : setTimeout(() => stepController.abort(), step.timeoutSecs * 1000);
    let result: CallToolResult;
    try {
      const callSignal = AbortSignal.any([signal, stepController.signal]);
      const invoke = (): Promise<CallToolResult> => this.context.callTool(step.tool, args, { signal: callSignal, link: this.quietLink });
      result = await (this.hooks.wrapCall ? this.hooks.wrapCall(invoke) : invoke());
    } finally {
      clearTimeout(timer);
    }
    if (stepController.signal.aborted && !signal.aborted) {
      return {
        ok: false,
        error: new NexusError('TOOL_TIMEOUT', `Step "${step.id}" (${step.tool}) did not finish within its timeout_secs of ${step.timeoutSecs} s`, {
          details: { step: step.id, tool: step.tool, timeoutSecs: step.timeoutSecs },
        }),
      };
    }
    if (result.isError === true) return { ok: false, error: errorFromResult(result, step) };
    const value = stepValue(result);
    if (step.failIf) {
      try {
        if (truthy(evaluate(step.failIf.node, { ...scope, result: value }))) {
          return {
            ok: false,
            error: new NexusError('TOOL_EXECUTION_FAILED', `Step "${step.id}" (${step.tool}): fail_if "${step.failIf.source}" is true for the result`, {
              details: { step: step.id, tool: step.tool, fail_if: step.failIf.source, ...smallResult(value) },
            }),
          };
        }
      } catch (error) {
        return { ok: false, error: conditionError(error, step, step.failIf.source) };
      }
    }
    return { ok: true, value };
  }

  private async runForeach(step: ToolStep, signal: AbortSignal, record: StepRecord): Promise<StepOutcome> {
    const site: RenderSite = { step: step.id, tool: step.tool };
    const items = render(step.foreach, this.scope(), site);
    if (!Array.isArray(items)) {
      throw new NexusError('WORKFLOW_TEMPLATE_ERROR', `In step "${step.id}" (${step.tool}), foreach must resolve to an array, got ${items === null ? 'null' : typeof items}`, {
        details: { step: step.id, tool: step.tool, reference: typeof step.foreach === 'string' ? step.foreach : undefined },
      });
    }
    const max = this.deps.limits.max_foreach_items;
    if (items.length > max) {
      throw new NexusError('WORKFLOW_LIMIT_EXCEEDED', `Step "${step.id}" would iterate ${items.length} items; workflows.max_foreach_items allows ${max}`, {
        details: { step: step.id, limit: 'max_foreach_items', value: items.length, max },
      });
    }
    const results: unknown[] = new Array<unknown>(items.length).fill(null);
    const counts = { total: items.length, succeeded: 0, failed: 0 };
    record.items = counts;
    const group = new AbortController();
    const groupSignal = AbortSignal.any([signal, group.signal]);
    let firstError: NexusError | undefined;
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < items.length && !groupSignal.aborted) {
        const index = next;
        next += 1;
        const item: unknown = items[index];
        const outcome = await this.call(step, this.scope({ item, index }), groupSignal, record, { value: item });
        if (outcome.ok) {
          results[index] = outcome.value;
          counts.succeeded += 1;
          continue;
        }
        counts.failed += 1;
        if (step.onError === 'continue') {
          this.errors[step.id] ??= { code: outcome.error.code, message: outcome.error.message, index };
          continue;
        }
        firstError ??= withItem(outcome.error, index);
        group.abort();
      }
    };
    await Promise.all(Array.from({ length: Math.min(step.concurrency, Math.max(items.length, 1)) }, () => worker()));
    if (firstError) return this.failed(step, firstError);
    return { status: 'succeeded', value: results };
  }

  private async runParallel(step: ParallelStep, signal: AbortSignal): Promise<StepOutcome> {
    const group = new AbortController();
    const groupSignal = AbortSignal.any([signal, group.signal]);
    let firstError: NexusError | undefined;
    const outcomes = await Promise.all(
      step.children.map(async (child) => {
        const outcome = await this.executeStep(child, { top: false, signal: groupSignal });
        if (outcome.status === 'failed' && !outcome.continued && firstError === undefined) {
          firstError = outcome.error;
          group.abort();
        }
        return outcome;
      }),
    );
    if (firstError) return this.failed(step, firstError);
    return { status: 'succeeded', value: outcomes.map((outcome) => (outcome.status === 'succeeded' ? outcome.value : null)) };
  }

  private record(id: string): StepRecord {
    const record = this.records.get(id);
    if (record === undefined) throw new NexusError('INTERNAL_ERROR', `No record for step ${id}`);
    return record;
  }

  private markSkipped(id: string): void {
    this.record(id).status = 'skipped';
    this.steps[id] = NO_VALUE;
  }

  /** After a failure or abort: what never ran is skipped, what was running is cancelled. */
  private settleUnfinished(running: StepStatus, reason?: NexusError): void {
    const now = new Date().toISOString();
    for (const record of this.records.values()) {
      if (record.status === 'pending') record.status = 'skipped';
      if (record.status === 'running') {
        record.status = running;
        record.finished_at = now;
        if (reason) record.error = { code: reason.code, message: reason.message };
      }
    }
    this.changed();
  }

  private recordList(): StepRecord[] {
    return [...this.records.values()].map((record) => ({ ...record, ...(record.items ? { items: { ...record.items } } : {}) }));
  }

  private changed(): void {
    this.hooks.stepsChanged?.(this.recordList());
  }

  private async progress(update: { progress: number; total: number; message: string }): Promise<void> {
    if (!this.context.client.wantsProgress) return;
    await this.context.progress(update).catch((error: unknown) => this.context.logger.debug({ err: error }, 'progress notification failed'));
  }

  private async logStep(step: Step, record: StepRecord): Promise<void> {
    const level: LoggingLevel = record.status === 'failed' ? (step.onError === 'continue' ? 'warning' : 'error') : 'info';
    await this.log(level, {
      event: 'step_finished',
      step: step.id,
      ...(record.tool ? { tool: record.tool } : {}),
      status: record.status,
      duration_ms: record.duration_ms,
      attempts: record.attempts,
      ...(record.items ? { items: record.items } : {}),
      ...(record.error ? { error: record.error } : {}),
    });
  }

  private async log(level: LoggingLevel, data: Record<string, unknown>): Promise<void> {
    await this.context.log(level, { workflow: this.workflow.name, run_id: this.runId, ...data }).catch(() => undefined);
  }
}

/**
 * Nested calls see the client's channel without progress: the workflow owns the progress
 * sequence (step n of N), and a step's own progress numbers would break its monotonic order.
 */
function quietLink(link: ClientLink): ClientLink {
  return {
    wantsProgress: false,
    sessionId: link.sessionId,
    progress: async () => undefined,
    log: (level, data, logger) => link.log(level, data, logger),
    elicit: (params, options) => link.elicit(params, options),
    sample: (params, options) => link.sample(params, options),
  };
}

/** A failed call's error: the structured {code, message, details} when the tool gave one. */
function errorFromResult(result: CallToolResult, step: ToolStep): NexusError {
  const structured = result.structuredContent;
  if (structured && typeof structured['code'] === 'string' && isErrorCode(structured['code']) && typeof structured['message'] === 'string') {
    const details = typeof structured['details'] === 'object' && structured['details'] !== null ? (structured['details'] as Record<string, unknown>) : {};
    return new NexusError(structured['code'], structured['message'], { details });
  }
  const text = result.content
    .filter((block): block is Extract<typeof block, { type: 'text' }> => block.type === 'text')
    .map((block) => block.text)
    .join('\n');
  return new NexusError('TOOL_EXECUTION_FAILED', `${step.tool} reported an error${text ? `: ${text.slice(0, 500)}` : ''}`, {
    details: { tool: step.tool, ...smallResult(structured) },
  });
}

const MAX_DETAIL_BYTES = 8 * 1024;

/** A failed call's result travels in the error only when small (errors are stored in run records). */
function smallResult(value: unknown): { result?: unknown } {
  if (value === undefined) return {};
  const size = Buffer.byteLength(JSON.stringify(value) ?? '');
  return size <= MAX_DETAIL_BYTES ? { result: value } : {};
}

function conditionError(error: unknown, step: Step, source: string): NexusError {
  if (error instanceof ExpressionEvalError) {
    return new NexusError('WORKFLOW_TEMPLATE_ERROR', `In step "${step.id}", the condition "${source}" could not be evaluated: ${error.message}`, {
      details: { step: step.id, condition: source },
    });
  }
  return NexusError.from(error);
}

function withItem(error: NexusError, index: number): NexusError {
  return new NexusError(error.code, `${error.message} (foreach item ${index})`, { details: { ...error.details, index }, cause: error.cause });
}

function cancellation(reason: unknown, workflow: string): NexusError {
  if (NexusError.is(reason)) return reason;
  if (reason instanceof DOMException && reason.name === 'TimeoutError') {
    return new NexusError('TOOL_TIMEOUT', `Workflow "${workflow}" ran past the executor's time limit`, { details: { workflow } });
  }
  return new NexusError('CANCELLED', `Workflow "${workflow}" was cancelled`, { details: { workflow } });
}

/** Waits, or returns false as soon as the signal aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal.aborted) {
      resolve(false);
      return;
    }
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve(false);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
