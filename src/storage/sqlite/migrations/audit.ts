import type { Migration } from '../migrations.js';

/**
 * The audit log (src/auth/audit.ts). Times are epoch milliseconds so range queries and the
 * retention sweep use the index; argument values are never stored, only their SHA-256 digest.
 * No foreign key to tenants: the trail outlives a deleted tenant until retention removes it.
 */
export const AUDIT_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'audit_log',
    up: `
      CREATE TABLE audit_log (
        id             INTEGER PRIMARY KEY AUTOINCREMENT,
        time           INTEGER NOT NULL,
        event          TEXT    NOT NULL,
        tenant         TEXT,
        principal      TEXT,
        tool           TEXT,
        args_digest    TEXT,
        outcome        TEXT    NOT NULL,
        error_code     TEXT,
        duration_ms    REAL,
        trace_id       TEXT,
        remote_address TEXT,
        detail         TEXT
      );
      CREATE INDEX audit_log_by_time ON audit_log (time);
      CREATE INDEX audit_log_by_tenant_time ON audit_log (tenant, time);
    `,
  },
];
