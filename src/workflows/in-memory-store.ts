import { NexusError } from '../errors/index.js';
import type { StepRecord } from './engine.js';
import { decodeRunCursor, encodeRunCursor, interruptedSteps, ownerAlive } from './store-support.js';
import type { NewWorkflowVersion, RunFilter, RunRecord, RunStore, SavedWorkflow, WorkflowStore } from './store.js';

/**
 * In-memory twins of the workflow stores: the same contract as the SQLite ones (the shared suite in
 * test/workflows/stores.contract.ts proves it), for tests and embedders that want no database.
 * Values are copied in and out, as a database would.
 */
export class InMemoryWorkflowStore implements WorkflowStore {
  private readonly versionsByKey = new Map<string, { versions: SavedWorkflow[]; deleted: boolean }>();

  async define(version: NewWorkflowVersion): Promise<SavedWorkflow> {
    const key = keyOf(version.tenant, version.name);
    const entry = this.versionsByKey.get(key) ?? { versions: [], deleted: false };
    const saved: SavedWorkflow = copy({ ...version, version: entry.versions.length + 1, createdAt: new Date().toISOString() });
    entry.versions.push(saved);
    entry.deleted = false;
    this.versionsByKey.set(key, entry);
    return copy(saved);
  }

  get(tenant: string, name: string, version?: number): SavedWorkflow | undefined {
    const entry = this.versionsByKey.get(keyOf(tenant, name));
    if (!entry || entry.deleted) return undefined;
    const found = version === undefined ? entry.versions.at(-1) : entry.versions.find((saved) => saved.version === version);
    return found ? copy(found) : undefined;
  }

  list(tenant: string): SavedWorkflow[] {
    return this.listAllTenants().filter((saved) => saved.tenant === tenant);
  }

  listAllTenants(): SavedWorkflow[] {
    return [...this.versionsByKey.values()]
      .filter((entry) => !entry.deleted)
      .flatMap((entry) => entry.versions.slice(-1).map(copy))
      .sort((a, b) => compareText(a.tenant, b.tenant) || compareText(a.name, b.name));
  }

  versions(tenant: string, name: string): number[] {
    const entry = this.versionsByKey.get(keyOf(tenant, name));
    return entry && !entry.deleted ? entry.versions.map((saved) => saved.version) : [];
  }

  async delete(tenant: string, name: string): Promise<boolean> {
    const entry = this.versionsByKey.get(keyOf(tenant, name));
    if (!entry || entry.deleted) return false;
    entry.deleted = true;
    return true;
  }

  async deleteTenant(tenant: string): Promise<number> {
    let removed = 0;
    for (const [key, entry] of this.versionsByKey) {
      if (entry.versions[0]?.tenant !== tenant) continue;
      removed += entry.versions.length;
      this.versionsByKey.delete(key);
    }
    return removed;
  }
}

export class InMemoryRunStore implements RunStore {
  private readonly runs = new Map<string, { run: RunRecord; owner: string }>();

  constructor(private readonly owner: string) {}

  async create(run: RunRecord): Promise<void> {
    if (this.runs.has(run.id)) throw new NexusError('INTERNAL_ERROR', `Run ${run.id} already exists`);
    this.runs.set(run.id, { run: copy(run), owner: this.owner });
  }

  async updateSteps(tenant: string, id: string, steps: readonly StepRecord[]): Promise<void> {
    const entry = this.find(tenant, id);
    if (entry && entry.run.status === 'running') entry.run = { ...entry.run, steps: copy([...steps]) };
  }

  async finish(tenant: string, id: string, result: Parameters<RunStore['finish']>[2]): Promise<void> {
    const entry = this.find(tenant, id);
    if (!entry) return;
    const { output, error, ...rest } = entry.run;
    void output;
    void error;
    entry.run = copy({
      ...rest,
      status: result.status,
      steps: result.steps,
      ...(result.output === undefined ? {} : { output: result.output }),
      ...(result.outputTruncated === true ? { outputTruncated: true } : {}),
      ...(result.error === undefined ? {} : { error: result.error }),
      ...(result.finishedAt === undefined ? {} : { finishedAt: result.finishedAt }),
      ...(result.durationMs === undefined ? {} : { durationMs: result.durationMs }),
    });
  }

  get(tenant: string, id: string): RunRecord | undefined {
    const entry = this.find(tenant, id);
    return entry ? copy(entry.run) : undefined;
  }

  list(filter: RunFilter): { runs: RunRecord[]; nextCursor?: string | undefined } {
    const after = filter.cursor === undefined ? undefined : decodeRunCursor(filter.cursor);
    const matching = [...this.runs.values()]
      .map((entry) => entry.run)
      .filter((run) => run.tenant === filter.tenant && (filter.workflow === undefined || run.workflow === filter.workflow) && (filter.status === undefined || run.status === filter.status))
      .filter((run) => after === undefined || run.startedAt < after.startedAt || (run.startedAt === after.startedAt && run.id < after.id))
      .sort((a, b) => compareText(b.startedAt, a.startedAt) || compareText(b.id, a.id));
    const page = matching.slice(0, filter.limit).map(copy);
    const last = page.at(-1);
    return matching.length > filter.limit && last ? { runs: page, nextCursor: encodeRunCursor(last) } : { runs: page };
  }

  async prune(startedBefore: string): Promise<number> {
    let deleted = 0;
    for (const [id, entry] of this.runs) {
      if (entry.run.status !== 'running' && entry.run.startedAt < startedBefore) {
        this.runs.delete(id);
        deleted += 1;
      }
    }
    return deleted;
  }

  async deleteTenant(tenant: string): Promise<number> {
    let removed = 0;
    for (const [id, entry] of this.runs) {
      if (entry.run.tenant !== tenant) continue;
      this.runs.delete(id);
      removed += 1;
    }
    return removed;
  }

  async failInterrupted(message: string, finishedAt: string): Promise<number> {
    let failed = 0;
    for (const entry of this.runs.values()) {
      if (entry.run.status !== 'running' || ownerAlive(entry.owner, this.owner)) continue;
      entry.run = { ...entry.run, status: 'failed', error: { code: 'WORKFLOW_INTERRUPTED', message }, steps: interruptedSteps(entry.run.steps, message), finishedAt };
      failed += 1;
    }
    return failed;
  }

  /** Test seam: a record as another (possibly dead) process would have left it. */
  adopt(run: RunRecord, owner: string): void {
    this.runs.set(run.id, { run: copy(run), owner });
  }

  private find(tenant: string, id: string): { run: RunRecord; owner: string } | undefined {
    const entry = this.runs.get(id);
    return entry && entry.run.tenant === tenant ? entry : undefined;
  }
}

function keyOf(tenant: string, name: string): string {
  return JSON.stringify([tenant, name]);
}

/** Plain code-unit order, as SQLite's BINARY collation sorts. */
function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function copy<T>(value: T): T {
  return structuredClone(value);
}
