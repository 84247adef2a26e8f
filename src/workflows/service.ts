import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { hostname } from 'node:os';
import type { NexusConfig } from '../config/index.js';
import { NexusError } from '../errors/index.js';
import { redactSecrets, type Logger } from '../logging/index.js';
import type { SqliteDatabase } from '../storage/sqlite/database.js';
import { WORKFLOW_MIGRATIONS } from '../storage/sqlite/migrations/workflows.js';
import type { ToolRegistry } from '../tools/registry.js';
import type { Tool, ToolContext } from '../tools/types.js';
import { compileWorkflow, type CompiledWorkflow, type WorkflowLimits } from './definition.js';
import { WorkflowEngine, type RunResult, type StepRecord } from './engine.js';
import { SqliteRunStore, SqliteWorkflowStore } from './sqlite-store.js';
import type { RunRecord, RunStore, SavedWorkflow, WorkflowStore } from './store.js';

/** Names of the built-in workflow tools; a saved workflow cannot take one (its tool would clash). */
export const RESERVED_WORKFLOW_NAMES = new Set(['run', 'define', 'list', 'get', 'delete', 'execute', 'runs', 'run_get']);

const PRUNE_INTERVAL_MS = 6 * 60 * 60 * 1000;
const RECORD_REDACTION = { maxStringLength: 64 * 1024, maxDepth: 32 };

export const INTERRUPTED_MESSAGE = 'Interrupted: the Nexus process running this workflow stopped before it finished (marked failed at the next start)';

/** One workflow on the current call chain (saved ones by name; inline ones cannot be re-entered). */
interface ChainEntry {
  readonly name: string;
  readonly saved: boolean;
}

export interface WorkflowServiceOptions {
  readonly registry: ToolRegistry;
  readonly config: NexusConfig;
  readonly logger: Logger;
  readonly database: () => SqliteDatabase;
  /** Builds the `workflow.<name>` tool of a saved workflow (tools.ts). */
  readonly savedTool: (saved: SavedWorkflow) => Tool;
}

/** A run to start: what to run, for whom, under which name. */
export interface RunRequest {
  readonly workflow: CompiledWorkflow;
  readonly input: Record<string, unknown>;
  readonly context: ToolContext;
  /** Set for saved workflows: cycles are checked by name and the record keeps the version. */
  readonly saved?: { readonly name: string; readonly version: number } | undefined;
}

export interface RunReport extends RunResult {
  readonly runId: string;
}

/**
 * Runs workflows and keeps their records; owns saved definitions and the `workflow.<name>` tools.
 * The chain of workflows calling workflows is carried in an AsyncLocalStorage that only this
 * service writes, so a nested call is recognised however it was made (a `workflow.<name>` step,
 * `workflow.execute` with a computed name) and cannot be forged by arguments.
 */
export class WorkflowService {
  readonly events = new EventEmitter<{ 'run-started': [RunRecord]; 'run-finished': [RunRecord] }>();
  readonly limits: WorkflowLimits;
  /** `host/pid/instance`: which process a running record belongs to. */
  readonly owner = `${hostname()}/${process.pid}/${randomUUID()}`;
  private readonly chain = new AsyncLocalStorage<readonly ChainEntry[]>();
  private readonly engine: WorkflowEngine;
  private readonly active = new Set<Promise<unknown>>();
  private stores: { workflows: WorkflowStore; runs: RunStore } | undefined;
  private pruneTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: WorkflowServiceOptions) {
    this.limits = options.config.workflows;
    this.engine = new WorkflowEngine({ registry: options.registry, limits: this.limits });
  }

  /** Migrates the tables, fails runs a dead process left "running", registers saved workflows as tools. */
  async start(): Promise<void> {
    const database = this.options.database();
    database.migrate('workflows', WORKFLOW_MIGRATIONS);
    this.stores = { workflows: new SqliteWorkflowStore(database), runs: new SqliteRunStore(database, this.owner) };
    const interrupted = await this.stores.runs.failInterrupted(INTERRUPTED_MESSAGE, new Date().toISOString());
    if (interrupted > 0) this.options.logger.warn({ runs: interrupted }, 'workflow runs interrupted by a restart were marked failed');
    this.refreshTools();
    if (this.options.config.workflows.run_retention_days > 0) {
      await this.prune();
      this.pruneTimer = setInterval(() => void this.prune(), PRUNE_INTERVAL_MS);
      this.pruneTimer.unref();
    }
  }

  /** Deletes finished run records past workflows.run_retention_days. */
  async prune(now: number = Date.now()): Promise<number> {
    const cutoff = new Date(now - this.options.config.workflows.run_retention_days * 86_400_000).toISOString();
    try {
      const deleted = await this.runs.prune(cutoff);
      if (deleted > 0) this.options.logger.info({ deleted, cutoff }, 'old workflow runs deleted');
      return deleted;
    } catch (error) {
      this.options.logger.error({ err: error }, 'could not delete old workflow runs');
      return 0;
    }
  }

  /** Waits for runs still finishing their records (the executor has already cancelled them). */
  async close(): Promise<void> {
    clearInterval(this.pruneTimer);
    await Promise.allSettled([...this.active]);
  }

  get workflows(): WorkflowStore {
    return this.started().workflows;
  }

  get runs(): RunStore {
    return this.started().runs;
  }

  /** The tenant whose saved workflows are exposed as tools: the local operator's (auth.stdio_tenant). */
  get toolTenant(): string {
    return this.options.config.auth.stdio_tenant;
  }

  /** Deletes a tenant's saved workflows and run records (`nexus tenants delete`); returns the rows removed. */
  async deleteTenant(tenant: string): Promise<number> {
    const removed = (await this.workflows.deleteTenant(tenant)) + (await this.runs.deleteTenant(tenant));
    if (tenant === this.toolTenant) this.refreshTools();
    return removed;
  }

  /** Re-registers every `workflow.<name>` tool (one tools/list_changed). */
  refreshTools(): void {
    let tools = this.workflows.list(this.toolTenant).map((saved) => this.options.savedTool(saved));
    // A name already taken by a plugin's tool keeps the plugin's tool; the workflow stays runnable
    // through workflow.execute. Each clash is dropped and the rest registered.
    for (;;) {
      try {
        this.options.registry.replaceSource('workflow', tools);
        return;
      } catch (error) {
        const clash = NexusError.is(error) && error.code === 'DUPLICATE_TOOL' ? error.details['tool'] : undefined;
        if (typeof clash !== 'string' || !tools.some((tool) => tool.name === clash)) throw error;
        this.options.logger.warn({ tool: clash }, 'a saved workflow is not exposed as a tool: another tool has its name');
        tools = tools.filter((tool) => tool.name !== clash);
      }
    }
  }

  /** The tool a saved workflow's name would clash with (a built-in or plugin tool), if any. */
  toolClash(name: string): string | undefined {
    const entry = this.options.registry.list().find((registered) => registered.tool.name === `workflow.${name}` || registered.tool.name.replaceAll('.', '_') === `workflow_${name}`);
    return entry && entry.tool.source !== 'workflow' ? entry.tool.name : undefined;
  }

  compile(raw: unknown, name: string, mode: 'full' | 'chain' = 'full'): CompiledWorkflow {
    return compileWorkflow(raw, { name, registry: this.options.registry, limits: this.limits, mode });
  }

  /**
   * Refuses a definition that would call itself through saved workflows (A → B → A), statically,
   * before it is stored. Runtime checks (`run`) also catch calls whose target is computed.
   */
  assertNoCycle(tenant: string, name: string, definition: { steps: unknown[] }): void {
    const graph = new Map<string, Set<string>>();
    for (const saved of this.workflows.list(tenant)) graph.set(saved.name, calledWorkflows(saved.definition.steps));
    graph.set(name, calledWorkflows(definition.steps));
    const path = findPath(graph, name, name);
    if (path) {
      throw new NexusError('WORKFLOW_CYCLE', `Workflow "${name}" would call itself: ${path.join(' → ')}`, { details: { workflow: name, cycle: path } });
    }
  }

  /** Runs a compiled workflow as the caller, recording it; resolves with the outcome, never throws for step failures. */
  async run(request: RunRequest): Promise<RunReport> {
    const chain = this.chain.getStore() ?? [];
    const name = request.saved?.name ?? request.workflow.name;
    if (request.saved && chain.some((entry) => entry.saved && entry.name === name)) {
      const cycle = [...chain.filter((entry) => entry.saved).map((entry) => entry.name), name];
      throw new NexusError('WORKFLOW_CYCLE', `Workflow "${name}" is already running in this call chain: ${cycle.join(' → ')}`, { details: { workflow: name, cycle } });
    }
    if (chain.length + 1 > this.limits.max_depth) {
      throw new NexusError('WORKFLOW_LIMIT_EXCEEDED', `Workflows nest ${chain.length + 1} deep; workflows.max_depth allows ${this.limits.max_depth}`, {
        details: { workflow: name, limit: 'max_depth', value: chain.length + 1, max: this.limits.max_depth, chain: chain.map((entry) => entry.name) },
      });
    }
    const tenant = request.context.principal.tenant;
    const runId = randomUUID();
    const record: RunRecord = {
      id: runId,
      tenant,
      workflow: name,
      version: request.saved?.version ?? null,
      principal: request.context.principal.id,
      status: 'running',
      // Records outlive the call: fields that look like secrets (api_key, token, password…) are not kept.
      input: redactSecrets(request.input, RECORD_REDACTION),
      steps: [],
      startedAt: new Date().toISOString(),
    };
    await this.runs.create(record);
    this.options.logger.info({ runId, workflow: name, tenant, traceId: request.context.traceId }, 'workflow run started');
    this.events.emit('run-started', record);

    // Step updates are written in order, off the step's path, and coalesced: a snapshot that has
    // not been written yet is replaced by a newer one (fast steps cost one write, not two).
    // `finish` waits for them.
    let writes: Promise<void> = Promise.resolve();
    let unwritten: readonly StepRecord[] | undefined;
    const persistSteps = (steps: readonly StepRecord[]): void => {
      const queued = unwritten !== undefined;
      unwritten = steps;
      if (queued) return;
      writes = writes
        .then(async () => {
          const latest = unwritten ?? [];
          unwritten = undefined;
          await this.runs.updateSteps(tenant, runId, latest);
        })
        .catch((error: unknown) => this.options.logger.error({ err: error, runId }, 'could not record workflow steps'));
    };
    const nextChain = [...chain, { name, saved: request.saved !== undefined }];
    const work = (async (): Promise<RunReport> => {
      const result = await this.engine.run({
        workflow: request.workflow,
        input: request.input,
        context: request.context,
        runId,
        hooks: { stepsChanged: persistSteps, wrapCall: (call) => this.chain.run(nextChain, call) },
      });
      await writes;
      await this.finishRecord(record, result);
      return { ...result, runId };
    })();
    this.active.add(work);
    try {
      return await work;
    } finally {
      this.active.delete(work);
    }
  }

  private async finishRecord(record: RunRecord, result: RunResult): Promise<void> {
    const { output, truncated } = this.recordedOutput(result.output);
    const finished: RunRecord = {
      ...record,
      status: result.status,
      ...(output === undefined ? {} : { output }),
      ...(truncated ? { outputTruncated: true } : {}),
      ...(result.error ? { error: { code: result.error.code, message: result.error.message, details: redactSecrets(result.error.details, RECORD_REDACTION) as Record<string, unknown> } } : {}),
      steps: result.steps,
      finishedAt: new Date().toISOString(),
      durationMs: result.durationMs,
    };
    try {
      await this.runs.finish(record.tenant, record.id, finished);
    } catch (error) {
      this.options.logger.error({ err: error, runId: record.id }, 'could not record the end of a workflow run');
    }
    this.events.emit('run-finished', finished);
  }

  private recordedOutput(output: unknown): { output: unknown; truncated: boolean } {
    if (output === undefined) return { output: undefined, truncated: false };
    const size = Buffer.byteLength(JSON.stringify(output) ?? 'null');
    return size > this.options.config.workflows.max_recorded_output_bytes ? { output: null, truncated: true } : { output, truncated: false };
  }

  private started(): { workflows: WorkflowStore; runs: RunStore } {
    if (this.stores === undefined) throw new NexusError('INTERNAL_ERROR', 'The workflow service is not started');
    return this.stores;
  }
}

/** Saved workflows a definition calls by a name fixed in the definition. */
export function calledWorkflows(steps: readonly unknown[]): Set<string> {
  const called = new Set<string>();
  const visit = (step: unknown): void => {
    if (typeof step !== 'object' || step === null) return;
    const record = step as Record<string, unknown>;
    if (Array.isArray(record['parallel'])) record['parallel'].forEach(visit);
    const tool = record['tool'];
    if (typeof tool !== 'string' || !tool.startsWith('workflow.')) return;
    const target = tool.slice('workflow.'.length);
    if (target === 'execute') {
      const args = record['args'];
      const named = typeof args === 'object' && args !== null ? (args as Record<string, unknown>)['name'] : undefined;
      if (typeof named === 'string' && !named.includes('{{')) called.add(named);
    } else if (!RESERVED_WORKFLOW_NAMES.has(target)) {
      called.add(target);
    }
  };
  steps.forEach(visit);
  return called;
}

/** A path from `from` back to `to` through the call graph, if any (depth-first). */
function findPath(graph: ReadonlyMap<string, ReadonlySet<string>>, from: string, to: string): string[] | undefined {
  const seen = new Set<string>();
  const walk = (node: string, path: string[]): string[] | undefined => {
    for (const next of graph.get(node) ?? []) {
      if (next === to) return [...path, next];
      if (seen.has(next)) continue;
      seen.add(next);
      const found = walk(next, [...path, next]);
      if (found) return found;
    }
    return undefined;
  };
  return walk(from, [from]);
}
