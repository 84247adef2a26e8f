import type { Migration } from '../migrations.js';

/**
 * Schema of the "workflows" domain: saved workflow versions and run records, both scoped by tenant.
 * Times are RFC 3339 strings (runs sort by start time, then id, for keyset pagination).
 */
export const WORKFLOW_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'workflow_definitions_and_runs',
    up: `
      CREATE TABLE workflow_definitions (
        tenant       TEXT    NOT NULL,
        name         TEXT    NOT NULL,
        version      INTEGER NOT NULL,
        title        TEXT,
        description  TEXT    NOT NULL,
        input_schema TEXT    NOT NULL,
        definition   TEXT    NOT NULL,
        created_at   TEXT    NOT NULL,
        deleted_at   TEXT,
        PRIMARY KEY (tenant, name, version)
      ) WITHOUT ROWID;

      CREATE TABLE workflow_runs (
        id               TEXT    PRIMARY KEY,
        tenant           TEXT    NOT NULL,
        workflow         TEXT    NOT NULL,
        version          INTEGER,
        principal        TEXT    NOT NULL,
        owner            TEXT    NOT NULL,
        status           TEXT    NOT NULL CHECK (status IN ('running', 'succeeded', 'failed', 'cancelled')),
        input            TEXT    NOT NULL,
        output           TEXT,
        output_truncated INTEGER NOT NULL DEFAULT 0,
        error            TEXT,
        steps            TEXT    NOT NULL,
        started_at       TEXT    NOT NULL,
        finished_at      TEXT,
        duration_ms      INTEGER
      );
      CREATE INDEX workflow_runs_by_tenant ON workflow_runs (tenant, started_at DESC, id DESC);
      CREATE INDEX workflow_runs_by_workflow ON workflow_runs (tenant, workflow, started_at DESC, id DESC);
      CREATE INDEX workflow_runs_running ON workflow_runs (status) WHERE status = 'running';
    `,
  },
];
