import type Database from 'better-sqlite3';
import { NexusError } from '../../errors/index.js';

/**
 * One schema step of one domain. `up` is SQL (several statements allowed) or a function for
 * steps SQL alone cannot express. Migrations are TypeScript values, not .sql files, so they ship
 * inside dist/ with no asset copying.
 */
export interface Migration {
  /** 1, 2, 3 … without gaps, per domain. */
  readonly version: number;
  /** Short snake_case name, recorded for humans reading schema_migrations. */
  readonly name: string;
  readonly up: string | ((db: Database.Database) => void);
}

/** What `migrate` did for one domain. */
export interface MigrationReport {
  readonly domain: string;
  readonly from: number;
  readonly to: number;
  readonly applied: readonly string[];
}

const BOOKKEEPING = `
CREATE TABLE IF NOT EXISTS schema_migrations (
  domain     TEXT    NOT NULL,
  version    INTEGER NOT NULL,
  name       TEXT    NOT NULL,
  applied_at TEXT    NOT NULL,
  PRIMARY KEY (domain, version)
) WITHOUT ROWID`;

/** Checks a domain's list before touching the database: versions 1..n in order, names set. */
export function validateMigrations(domain: string, migrations: readonly Migration[]): void {
  if (!/^[a-z][a-z0-9_]*$/.test(domain)) throw new NexusError('INTERNAL_ERROR', `Migration domain "${domain}" must be snake_case`);
  migrations.forEach((migration, index) => {
    if (migration.version !== index + 1 || migration.name.length === 0) {
      throw new NexusError('INTERNAL_ERROR', `Migrations of "${domain}" must be numbered 1..n without gaps (found ${migration.version} "${migration.name}" at position ${index + 1})`);
    }
  });
}

/** Highest applied version of a domain, 0 when none. */
export function currentVersion(db: Database.Database, domain: string): number {
  db.exec(BOOKKEEPING);
  const row = db.prepare('SELECT MAX(version) AS version FROM schema_migrations WHERE domain = ?').get(domain) as { version: number | null };
  return row.version ?? 0;
}

/**
 * The domain's version, refusing a database whose version is newer than the code knows: it would
 * be used with a schema the code does not understand.
 */
export function checkedVersion(db: Database.Database, domain: string, latest: number): number {
  const version = currentVersion(db, domain);
  if (version > latest) {
    throw new NexusError('DATABASE_TOO_NEW', `The database's "${domain}" schema is at version ${version}, newer than this Nexus knows (${latest}); upgrade Nexus or use another database_path`, {
      details: { domain, databaseVersion: version, codeVersion: latest },
    });
  }
  return version;
}

/**
 * Applies one migration unless it is already recorded. The caller holds a write transaction
 * (BEGIN IMMEDIATE), so when two processes start at once the second waits for the lock, re-reads
 * the version here and finds nothing to do.
 */
export function applyMigration(db: Database.Database, domain: string, migration: Migration, appliedAt: string): boolean {
  if (currentVersion(db, domain) >= migration.version) return false;
  if (typeof migration.up === 'string') db.exec(migration.up);
  else migration.up(db);
  db.prepare('INSERT INTO schema_migrations (domain, version, name, applied_at) VALUES (?, ?, ?, ?)').run(domain, migration.version, migration.name, appliedAt);
  return true;
}

/** `0002_conversations`, as shown in reports and logs. */
export function migrationLabel(migration: Migration): string {
  return `${String(migration.version).padStart(4, '0')}_${migration.name}`;
}
