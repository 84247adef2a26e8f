import type { SqliteDatabase } from '../storage/sqlite/database.js';
import { AUDIT_MIGRATIONS } from '../storage/sqlite/migrations/audit.js';
import type { AuditEvent, AuditOutcome, AuditQuery, AuditRecord, AuditStore, StoredAuditRecord } from './audit.js';

interface AuditRow {
  id: number;
  time: number;
  event: AuditEvent;
  tenant: string | null;
  principal: string | null;
  tool: string | null;
  args_digest: string | null;
  outcome: AuditOutcome;
  error_code: string | null;
  duration_ms: number | null;
  trace_id: string | null;
  remote_address: string | null;
  detail: string | null;
}

/**
 * Error codes that mean "refused by policy": such calls do not use up a daily quota. (A call whose
 * arguments fail schema validation never reaches the quota check but is counted here, so a
 * restart errs on the side of the quota.)
 */
const REFUSAL_CODES = ['QUOTA_EXCEEDED', 'RATE_LIMITED', 'FORBIDDEN', 'TOOL_NOT_FOUND'];

function fromRow(row: AuditRow): StoredAuditRecord {
  return {
    id: row.id,
    time: row.time,
    event: row.event,
    tenant: row.tenant,
    principal: row.principal,
    tool: row.tool,
    argsDigest: row.args_digest,
    outcome: row.outcome,
    errorCode: row.error_code,
    durationMs: row.duration_ms,
    traceId: row.trace_id,
    remoteAddress: row.remote_address,
    detail: row.detail,
  };
}

/** WHERE clause and parameters for a query's filters. */
function where(query: Omit<AuditQuery, 'limit' | 'order'>): { sql: string; params: Array<string | number> } {
  const clauses: string[] = [];
  const params: Array<string | number> = [];
  const add = (clause: string, value: string | number | undefined): void => {
    if (value === undefined) return;
    clauses.push(clause);
    params.push(value);
  };
  add('tenant = ?', query.tenant);
  add('tool = ?', query.tool);
  add('principal = ?', query.principal);
  add('outcome = ?', query.outcome);
  add('event = ?', query.event);
  add('time >= ?', query.since);
  add('time < ?', query.until);
  add('id > ?', query.afterId);
  return { sql: clauses.length === 0 ? '' : `WHERE ${clauses.join(' AND ')}`, params };
}

/** The audit log in the shared SQLite database ("audit" migrations). */
export class SqliteAuditStore implements AuditStore {
  constructor(private readonly db: SqliteDatabase) {
    db.migrate('audit', AUDIT_MIGRATIONS);
  }

  async append(records: readonly AuditRecord[]): Promise<void> {
    if (records.length === 0) return;
    await this.db.write(() => {
      const insert = this.db.statement(
        'INSERT INTO audit_log (time, event, tenant, principal, tool, args_digest, outcome, error_code, duration_ms, trace_id, remote_address, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
      );
      for (const r of records) {
        insert.run(r.time, r.event, r.tenant, r.principal, r.tool, r.argsDigest, r.outcome, r.errorCode, r.durationMs, r.traceId, r.remoteAddress, r.detail);
      }
    });
  }

  async query(query: AuditQuery): Promise<StoredAuditRecord[]> {
    const { sql, params } = where(query);
    const order = query.order === 'desc' ? 'DESC' : 'ASC';
    // Filters vary per call, so these statements are prepared on demand rather than cached.
    const rows = this.db.read((connection) => connection.prepare(`SELECT * FROM audit_log ${sql} ORDER BY id ${order} LIMIT ?`).all(...params, query.limit) as AuditRow[]);
    return rows.map(fromRow);
  }

  async count(query: Omit<AuditQuery, 'limit' | 'order' | 'afterId'>): Promise<number> {
    const { sql, params } = where(query);
    return this.db.read((connection) => (connection.prepare(`SELECT COUNT(*) AS n FROM audit_log ${sql}`).get(...params) as { n: number }).n);
  }

  async countAcceptedCalls(tenant: string, since: number): Promise<number> {
    const placeholders = REFUSAL_CODES.map(() => '?').join(', ');
    const sql = `SELECT COUNT(*) AS n FROM audit_log WHERE tenant = ? AND time >= ? AND event = 'tool_call' AND (error_code IS NULL OR error_code NOT IN (${placeholders}))`;
    return this.db.read(() => (this.db.statement(sql).get(tenant, since, ...REFUSAL_CODES) as { n: number }).n);
  }

  async deleteBefore(time: number): Promise<number> {
    return this.db.write(() => this.db.statement('DELETE FROM audit_log WHERE time < ?').run(time).changes);
  }
}
