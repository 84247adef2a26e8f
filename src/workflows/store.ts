import type { RunStatus, StepRecord } from './engine.js';

/** One saved version of a workflow. */
export interface SavedWorkflow {
  readonly tenant: string;
  readonly name: string;
  readonly version: number;
  readonly description: string;
  readonly title?: string | undefined;
  /** JSON Schema (an object schema) for the workflow's input. */
  readonly inputSchema: Record<string, unknown>;
  /** The definition body: {steps, output?, timeout_secs?}. */
  readonly definition: { steps: unknown[]; output?: unknown; timeout_secs?: number | undefined };
  readonly createdAt: string;
}

export interface NewWorkflowVersion {
  readonly tenant: string;
  readonly name: string;
  readonly description: string;
  readonly title?: string | undefined;
  readonly inputSchema: Record<string, unknown>;
  readonly definition: SavedWorkflow['definition'];
}

/** One workflow run, inline or saved. */
export interface RunRecord {
  readonly id: string;
  readonly tenant: string;
  /** The saved workflow's name, or the inline run's name. */
  readonly workflow: string;
  /** Null for inline runs (workflow.run, tools.chain). */
  readonly version: number | null;
  readonly principal: string;
  readonly status: RunStatus;
  readonly input: unknown;
  readonly output?: unknown;
  readonly outputTruncated?: boolean | undefined;
  readonly error?: { code: string; message: string; details?: Record<string, unknown> } | undefined;
  readonly steps: readonly StepRecord[];
  readonly startedAt: string;
  readonly finishedAt?: string | undefined;
  readonly durationMs?: number | undefined;
}

export interface RunFilter {
  readonly tenant: string;
  readonly workflow?: string | undefined;
  readonly status?: RunStatus | undefined;
  readonly limit: number;
  readonly cursor?: string | undefined;
}

/**
 * Saved workflow definitions, per tenant. Redefining adds a version; old versions stay readable;
 * deleting hides every version (numbering continues, so a run's (name, version) never changes meaning).
 */
export interface WorkflowStore {
  define(version: NewWorkflowVersion): Promise<SavedWorkflow>;
  /** The latest version, or a given one; undefined when absent or deleted. */
  get(tenant: string, name: string, version?: number): SavedWorkflow | undefined;
  /** Latest version of every live workflow of a tenant, by name. */
  list(tenant: string): SavedWorkflow[];
  /** Latest version of every live workflow of every tenant (start-up registration). */
  listAllTenants(): SavedWorkflow[];
  versions(tenant: string, name: string): number[];
  delete(tenant: string, name: string): Promise<boolean>;
  /** Removes every version of every workflow of a tenant (`nexus tenants delete`); returns the rows removed. */
  deleteTenant(tenant: string): Promise<number>;
}

/** Run records. */
export interface RunStore {
  create(run: RunRecord): Promise<void>;
  updateSteps(tenant: string, id: string, steps: readonly StepRecord[]): Promise<void>;
  finish(tenant: string, id: string, result: Pick<RunRecord, 'status' | 'output' | 'outputTruncated' | 'error' | 'steps' | 'finishedAt' | 'durationMs'>): Promise<void>;
  get(tenant: string, id: string): RunRecord | undefined;
  list(filter: RunFilter): { runs: RunRecord[]; nextCursor?: string | undefined };
  /** Deletes finished runs that started before the given time; returns how many. */
  prune(startedBefore: string): Promise<number>;
  /** Removes every run record of a tenant (`nexus tenants delete`); returns how many. */
  deleteTenant(tenant: string): Promise<number>;
  /** Marks every run still "running" as failed (a previous process stopped mid-run); returns how many. */
  failInterrupted(message: string, finishedAt: string): Promise<number>;
}
