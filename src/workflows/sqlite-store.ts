import type { SqliteDatabase } from '../storage/sqlite/database.js';
import type { StepRecord } from './engine.js';
import { decodeRunCursor, encodeRunCursor, interruptedSteps, ownerAlive } from './store-support.js';
import type { NewWorkflowVersion, RunFilter, RunRecord, RunStore, SavedWorkflow, WorkflowStore } from './store.js';

interface DefinitionRow {
  tenant: string;
  name: string;
  version: number;
  title: string | null;
  description: string;
  input_schema: string;
  definition: string;
  created_at: string;
}

interface RunRow {
  id: string;
  tenant: string;
  workflow: string;
  version: number | null;
  principal: string;
  status: RunRecord['status'];
  input: string;
  output: string | null;
  output_truncated: number;
  error: string | null;
  steps: string;
  started_at: string;
  finished_at: string | null;
  duration_ms: number | null;
}

const LATEST_LIVE = `
  SELECT d.* FROM workflow_definitions d
  WHERE d.deleted_at IS NULL
    AND d.version = (SELECT MAX(version) FROM workflow_definitions m WHERE m.tenant = d.tenant AND m.name = d.name)`;

/** Saved workflows in the shared SQLite database; every query is scoped by tenant. */
export class SqliteWorkflowStore implements WorkflowStore {
  constructor(private readonly db: SqliteDatabase) {}

  async define(version: NewWorkflowVersion): Promise<SavedWorkflow> {
    const createdAt = new Date().toISOString();
    return this.db.write(() => {
      const row = this.db.statement('SELECT MAX(version) AS version FROM workflow_definitions WHERE tenant = ? AND name = ?').get(version.tenant, version.name) as { version: number | null };
      const next = (row.version ?? 0) + 1;
      this.db
        .statement('INSERT INTO workflow_definitions (tenant, name, version, title, description, input_schema, definition, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
        .run(version.tenant, version.name, next, version.title ?? null, version.description, JSON.stringify(version.inputSchema), JSON.stringify(version.definition), createdAt);
      // A redefinition revives a deleted name: its older versions become readable again, as history.
      this.db.statement('UPDATE workflow_definitions SET deleted_at = NULL WHERE tenant = ? AND name = ?').run(version.tenant, version.name);
      return { ...version, version: next, createdAt };
    });
  }

  get(tenant: string, name: string, version?: number): SavedWorkflow | undefined {
    const row = this.db.read(() =>
      version === undefined
        ? this.db.statement(`${LATEST_LIVE} AND d.tenant = ? AND d.name = ?`).get(tenant, name)
        : this.db.statement('SELECT * FROM workflow_definitions WHERE tenant = ? AND name = ? AND version = ? AND deleted_at IS NULL').get(tenant, name, version),
    ) as DefinitionRow | undefined;
    return row ? toSaved(row) : undefined;
  }

  list(tenant: string): SavedWorkflow[] {
    return (this.db.read(() => this.db.statement(`${LATEST_LIVE} AND d.tenant = ? ORDER BY d.name`).all(tenant)) as DefinitionRow[]).map(toSaved);
  }

  listAllTenants(): SavedWorkflow[] {
    return (this.db.read(() => this.db.statement(`${LATEST_LIVE} ORDER BY d.tenant, d.name`).all()) as DefinitionRow[]).map(toSaved);
  }

  versions(tenant: string, name: string): number[] {
    const rows = this.db.read(() => this.db.statement('SELECT version FROM workflow_definitions WHERE tenant = ? AND name = ? AND deleted_at IS NULL ORDER BY version').all(tenant, name)) as Array<{
      version: number;
    }>;
    return rows.map((row) => row.version);
  }

  async delete(tenant: string, name: string): Promise<boolean> {
    const deletedAt = new Date().toISOString();
    return this.db.write(() => this.db.statement('UPDATE workflow_definitions SET deleted_at = ? WHERE tenant = ? AND name = ? AND deleted_at IS NULL').run(deletedAt, tenant, name).changes > 0);
  }

  async deleteTenant(tenant: string): Promise<number> {
    return this.db.write(() => this.db.statement('DELETE FROM workflow_definitions WHERE tenant = ?').run(tenant).changes);
  }
}

function toSaved(row: DefinitionRow): SavedWorkflow {
  return {
    tenant: row.tenant,
    name: row.name,
    version: row.version,
    description: row.description,
    ...(row.title === null ? {} : { title: row.title }),
    inputSchema: JSON.parse(row.input_schema) as Record<string, unknown>,
    definition: JSON.parse(row.definition) as SavedWorkflow['definition'],
    createdAt: row.created_at,
  };
}

/** Run records in the shared SQLite database; `owner` says which process is running a run. */
export class SqliteRunStore implements RunStore {
  constructor(
    private readonly db: SqliteDatabase,
    private readonly owner: string,
  ) {}

  async create(run: RunRecord): Promise<void> {
    await this.db.write(() =>
      this.db
        .statement('INSERT INTO workflow_runs (id, tenant, workflow, version, principal, owner, status, input, steps, started_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)')
        .run(run.id, run.tenant, run.workflow, run.version, run.principal, this.owner, run.status, JSON.stringify(run.input ?? null), JSON.stringify(run.steps), run.startedAt),
    );
  }

  async updateSteps(tenant: string, id: string, steps: readonly StepRecord[]): Promise<void> {
    await this.db.write(() => this.db.statement("UPDATE workflow_runs SET steps = ? WHERE tenant = ? AND id = ? AND status = 'running'").run(JSON.stringify(steps), tenant, id));
  }

  async finish(tenant: string, id: string, result: Parameters<RunStore['finish']>[2]): Promise<void> {
    await this.db.write(() =>
      this.db
        .statement('UPDATE workflow_runs SET status = ?, output = ?, output_truncated = ?, error = ?, steps = ?, finished_at = ?, duration_ms = ? WHERE tenant = ? AND id = ?')
        .run(
          result.status,
          result.output === undefined ? null : JSON.stringify(result.output),
          result.outputTruncated === true ? 1 : 0,
          result.error === undefined ? null : JSON.stringify(result.error),
          JSON.stringify(result.steps),
          result.finishedAt ?? null,
          result.durationMs ?? null,
          tenant,
          id,
        ),
    );
  }

  get(tenant: string, id: string): RunRecord | undefined {
    const row = this.db.read(() => this.db.statement('SELECT * FROM workflow_runs WHERE tenant = ? AND id = ?').get(tenant, id)) as RunRow | undefined;
    return row ? toRun(row) : undefined;
  }

  list(filter: RunFilter): { runs: RunRecord[]; nextCursor?: string | undefined } {
    const where = ['tenant = ?'];
    const params: unknown[] = [filter.tenant];
    if (filter.workflow !== undefined) {
      where.push('workflow = ?');
      params.push(filter.workflow);
    }
    if (filter.status !== undefined) {
      where.push('status = ?');
      params.push(filter.status);
    }
    if (filter.cursor !== undefined) {
      const after = decodeRunCursor(filter.cursor);
      where.push('(started_at < ? OR (started_at = ? AND id < ?))');
      params.push(after.startedAt, after.startedAt, after.id);
    }
    const sql = `SELECT * FROM workflow_runs WHERE ${where.join(' AND ')} ORDER BY started_at DESC, id DESC LIMIT ?`;
    const rows = this.db.read(() => this.db.statement(sql).all(...params, filter.limit + 1)) as RunRow[];
    const page = rows.slice(0, filter.limit).map(toRun);
    const last = page.at(-1);
    return rows.length > filter.limit && last ? { runs: page, nextCursor: encodeRunCursor(last) } : { runs: page };
  }

  async prune(startedBefore: string): Promise<number> {
    return this.db.write(() => this.db.statement("DELETE FROM workflow_runs WHERE status != 'running' AND started_at < ?").run(startedBefore).changes);
  }

  async deleteTenant(tenant: string): Promise<number> {
    return this.db.write(() => this.db.statement('DELETE FROM workflow_runs WHERE tenant = ?').run(tenant).changes);
  }

  async failInterrupted(message: string, finishedAt: string): Promise<number> {
    const error = JSON.stringify({ code: 'WORKFLOW_INTERRUPTED', message });
    return this.db.write(() => {
      const rows = this.db.statement("SELECT id, owner, steps FROM workflow_runs WHERE status = 'running'").all() as Array<{ id: string; owner: string; steps: string }>;
      let failed = 0;
      for (const row of rows) {
        if (ownerAlive(row.owner, this.owner)) continue;
        const steps = interruptedSteps(JSON.parse(row.steps) as StepRecord[], message);
        this.db.statement("UPDATE workflow_runs SET status = 'failed', error = ?, steps = ?, finished_at = ? WHERE id = ? AND status = 'running'").run(error, JSON.stringify(steps), finishedAt, row.id);
        failed += 1;
      }
      return failed;
    });
  }
}

function toRun(row: RunRow): RunRecord {
  return {
    id: row.id,
    tenant: row.tenant,
    workflow: row.workflow,
    version: row.version,
    principal: row.principal,
    status: row.status,
    input: JSON.parse(row.input) as unknown,
    ...(row.output === null ? {} : { output: JSON.parse(row.output) as unknown }),
    ...(row.output_truncated ? { outputTruncated: true } : {}),
    ...(row.error === null ? {} : { error: JSON.parse(row.error) as RunRecord['error'] }),
    steps: JSON.parse(row.steps) as StepRecord[],
    startedAt: row.started_at,
    ...(row.finished_at === null ? {} : { finishedAt: row.finished_at }),
    ...(row.duration_ms === null ? {} : { durationMs: row.duration_ms }),
  };
}
