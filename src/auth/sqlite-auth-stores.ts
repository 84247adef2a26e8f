import type { SqliteDatabase } from '../storage/sqlite/database.js';
import { AUTH_MIGRATIONS } from '../storage/sqlite/migrations/auth.js';
import type { ApiKeyRecord, ApiKeyStore, StoredApiKey } from './api-keys.js';
import type { TenantRecord, TenantStore } from './tenants.js';

interface KeyRow {
  id: string;
  tenant: string;
  name: string | null;
  scopes: string | null;
  salt: Buffer;
  hash: Buffer;
  created_at: number;
  expires_at: number | null;
  revoked_at: number | null;
}

function parseScopes(text: string | null): string[] | null {
  if (text === null) return null;
  const value: unknown = JSON.parse(text);
  return Array.isArray(value) ? value.filter((entry): entry is string => typeof entry === 'string') : null;
}

function keyRecord(row: KeyRow): ApiKeyRecord {
  return { id: row.id, tenant: row.tenant, name: row.name, scopes: parseScopes(row.scopes), createdAt: row.created_at, expiresAt: row.expires_at, revokedAt: row.revoked_at };
}

/** API keys in the shared SQLite database ("auth" migrations). */
export class SqliteApiKeyStore implements ApiKeyStore {
  constructor(private readonly db: SqliteDatabase) {
    db.migrate('auth', AUTH_MIGRATIONS);
  }

  async insert(key: StoredApiKey): Promise<void> {
    await this.db.write(() =>
      this.db
        .statement('INSERT INTO api_keys (id, tenant, name, scopes, salt, hash, created_at, expires_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)')
        .run(key.id, key.tenant, key.name, key.scopes === null ? null : JSON.stringify(key.scopes), key.salt, key.hash, key.createdAt, key.expiresAt, key.revokedAt),
    );
  }

  async get(id: string): Promise<StoredApiKey | undefined> {
    const row = this.db.read(() => this.db.statement('SELECT * FROM api_keys WHERE id = ?').get(id) as KeyRow | undefined);
    return row === undefined ? undefined : { ...keyRecord(row), salt: row.salt, hash: row.hash };
  }

  async list(filter: { tenant?: string | undefined } = {}): Promise<ApiKeyRecord[]> {
    const rows = this.db.read(() =>
      filter.tenant === undefined
        ? (this.db.statement('SELECT * FROM api_keys ORDER BY created_at, id').all() as KeyRow[])
        : (this.db.statement('SELECT * FROM api_keys WHERE tenant = ? ORDER BY created_at, id').all(filter.tenant) as KeyRow[]),
    );
    return rows.map(keyRecord);
  }

  async revoke(id: string, at: number): Promise<boolean> {
    return this.db.write(() => {
      const exists = this.db.statement('SELECT 1 FROM api_keys WHERE id = ?').get(id) !== undefined;
      // Revoking twice keeps the first revocation time.
      if (exists) this.db.statement('UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL').run(at, id);
      return exists;
    });
  }

  async hasUsableKeys(): Promise<boolean> {
    return this.db.read(() => this.db.statement('SELECT 1 FROM api_keys WHERE revoked_at IS NULL LIMIT 1').get() !== undefined);
  }

  async deleteTenant(tenant: string): Promise<number> {
    return this.db.write(() => this.db.statement('DELETE FROM api_keys WHERE tenant = ?').run(tenant).changes);
  }
}

interface TenantRow {
  id: string;
  created_at: number;
  note: string | null;
}

/** The tenant list in the shared SQLite database ("auth" migrations). */
export class SqliteTenantStore implements TenantStore {
  constructor(private readonly db: SqliteDatabase) {
    db.migrate('auth', AUTH_MIGRATIONS);
  }

  async create(tenant: TenantRecord): Promise<boolean> {
    return this.db.write(() => this.db.statement('INSERT OR IGNORE INTO tenants (id, created_at, note) VALUES (?, ?, ?)').run(tenant.id, tenant.createdAt, tenant.note).changes === 1);
  }

  async get(id: string): Promise<TenantRecord | undefined> {
    const row = this.db.read(() => this.db.statement('SELECT * FROM tenants WHERE id = ?').get(id) as TenantRow | undefined);
    return row === undefined ? undefined : { id: row.id, createdAt: row.created_at, note: row.note };
  }

  async list(): Promise<TenantRecord[]> {
    const rows = this.db.read(() => this.db.statement('SELECT * FROM tenants ORDER BY id').all() as TenantRow[]);
    return rows.map((row) => ({ id: row.id, createdAt: row.created_at, note: row.note }));
  }

  async delete(id: string): Promise<boolean> {
    return this.db.write(() => this.db.statement('DELETE FROM tenants WHERE id = ?').run(id).changes === 1);
  }
}
