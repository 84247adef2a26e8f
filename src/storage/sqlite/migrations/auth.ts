import type { Migration } from '../migrations.js';

/** Tenants and API keys (src/auth). Key secrets are never stored: only a salted HMAC. */
export const AUTH_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'tenants_and_api_keys',
    up: `
      CREATE TABLE tenants (
        id         TEXT    PRIMARY KEY,
        created_at INTEGER NOT NULL,
        note       TEXT
      ) WITHOUT ROWID;
      INSERT INTO tenants (id, created_at) VALUES ('default', CAST(unixepoch('subsec') * 1000 AS INTEGER));
      CREATE TABLE api_keys (
        id         TEXT    PRIMARY KEY,
        tenant     TEXT    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
        name       TEXT,
        scopes     TEXT,
        salt       BLOB    NOT NULL,
        hash       BLOB    NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER,
        revoked_at INTEGER
      ) WITHOUT ROWID;
      CREATE INDEX api_keys_by_tenant ON api_keys (tenant);
    `,
  },
];
