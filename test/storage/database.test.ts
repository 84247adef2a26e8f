import { execFileSync } from 'node:child_process';
import { statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { NexusError } from '../../src/errors/index.js';
import { openDatabase, type SqliteDatabase } from '../../src/storage/sqlite/database.js';
import type { Migration } from '../../src/storage/sqlite/migrations.js';
import { tempDir } from '../support/runtime.js';

const require = createRequire(import.meta.url);
const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0).reverse()) cleanup();
});

function temp(): string {
  const folder = tempDir('nexus-db-');
  cleanups.push(() => folder.remove());
  return folder.dir;
}

function open(file: string, options: { busyTimeoutMs?: number; busyRetryMs?: number; logger?: pino.Logger } = {}): SqliteDatabase {
  const database = openDatabase({ path: file, ...options });
  cleanups.push(() => database.close());
  return database;
}

const notes: Migration[] = [
  { version: 1, name: 'notes', up: 'CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)' },
  { version: 2, name: 'notes_tenant', up: "ALTER TABLE notes ADD COLUMN tenant TEXT NOT NULL DEFAULT 'default'" },
];

describe('SqliteDatabase', () => {
  it('creates parent folders and a private WAL file with foreign keys and sqlite-vec', () => {
    const file = path.join(temp(), 'a', 'b', 'nexus.db');
    const database = open(file);
    expect(database.connection.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(database.connection.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(database.connection.pragma('synchronous', { simple: true })).toBe(1);
    expect(database.read((db) => db.prepare('SELECT vec_version() AS v').get())).toEqual({ v: expect.stringMatching(/^v0\./) });
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it('accepts :memory:', () => {
    const database = open(':memory:');
    database.migrate('notes', notes);
    expect(database.read((db) => db.prepare('SELECT COUNT(*) AS n FROM notes').get())).toEqual({ n: 0 });
  });

  it('reports a file that is not a database as DATABASE_OPEN_FAILED', () => {
    const file = path.join(temp(), 'garbage.db');
    writeFileSync(file, 'this is not sqlite, just text that is long enough to have a header '.repeat(20));
    expect(() => open(file)).toThrow(expect.objectContaining({ code: 'DATABASE_OPEN_FAILED' }));
  });

  it('applies migrations once per domain and records them', () => {
    const file = path.join(temp(), 'nexus.db');
    const first = open(file);
    expect(first.migrate('notes', notes.slice(0, 1)).applied).toEqual(['0001_notes']);
    first.connection.prepare('INSERT INTO notes (body) VALUES (?)').run('kept');
    expect(first.migrate('notes', notes).applied).toEqual(['0002_notes_tenant']);
    expect(first.migrate('notes', notes).applied).toEqual([]);
    expect(first.migrate('other', [{ version: 1, name: 'other', up: 'CREATE TABLE other (x)' }]).applied).toEqual(['0001_other']);
    const rows = first.read((db) => db.prepare('SELECT domain, version, name FROM schema_migrations ORDER BY domain, version').all());
    expect(rows).toEqual([
      { domain: 'notes', version: 1, name: 'notes' },
      { domain: 'notes', version: 2, name: 'notes_tenant' },
      { domain: 'other', version: 1, name: 'other' },
    ]);
    expect(first.read((db) => db.prepare('SELECT body, tenant FROM notes').all())).toEqual([{ body: 'kept', tenant: 'default' }]);
  });

  it('refuses a database migrated by a newer version of the code', () => {
    const file = path.join(temp(), 'nexus.db');
    open(file).migrate('notes', notes);
    const older = open(file);
    expect(() => older.migrate('notes', notes.slice(0, 1))).toThrow(expect.objectContaining({ code: 'DATABASE_TOO_NEW' }));
  });

  it('rolls back a failing migration entirely', () => {
    const database = open(path.join(temp(), 'nexus.db'));
    const broken: Migration[] = [{ version: 1, name: 'broken', up: 'CREATE TABLE half (x); CREATE TABLE half (x);' }];
    expect(() => database.migrate('broken', broken)).toThrow();
    expect(database.read((db) => db.prepare("SELECT COUNT(*) AS n FROM sqlite_master WHERE name = 'half'").get())).toEqual({ n: 0 });
    expect(database.read((db) => db.prepare("SELECT COUNT(*) AS n FROM schema_migrations WHERE domain = 'broken'").get())).toEqual({ n: 0 });
  });

  it('rejects migration lists with gaps', () => {
    const database = open(':memory:');
    expect(() => database.migrate('gappy', [{ version: 2, name: 'two', up: 'SELECT 1' }])).toThrow(NexusError);
  });

  it('retries a write while another connection holds the lock, then applies it', async () => {
    const file = path.join(temp(), 'nexus.db');
    const holder = open(file);
    holder.migrate('notes', notes);
    let sawRetry: () => void = () => undefined;
    const retried = new Promise<void>((resolve) => {
      sawRetry = resolve;
    });
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        if (chunk.toString().includes('database busy, retrying write')) sawRetry();
        done();
      },
    });
    const writer = open(file, { busyTimeoutMs: 5, busyRetryMs: 60_000, logger: pino({ level: 'debug' }, sink) });
    holder.connection.exec('BEGIN IMMEDIATE');
    const pending = writer.write((db) => db.prepare('INSERT INTO notes (body) VALUES (?)').run('after the lock').changes);
    await retried;
    holder.connection.exec('COMMIT');
    await expect(pending).resolves.toBe(1);
    expect(holder.read((db) => db.prepare('SELECT body FROM notes').all())).toEqual([{ body: 'after the lock' }]);
  });

  it('gives up with DATABASE_BUSY (never "database is locked") when the lock outlives the retry window', async () => {
    const file = path.join(temp(), 'nexus.db');
    const holder = open(file);
    holder.migrate('notes', notes);
    const writer = open(file, { busyTimeoutMs: 5, busyRetryMs: 0 });
    holder.connection.exec('BEGIN IMMEDIATE');
    try {
      await expect(writer.write((db) => db.prepare("INSERT INTO notes (body) VALUES ('x')").run())).rejects.toMatchObject({ code: 'DATABASE_BUSY' });
    } finally {
      holder.connection.exec('ROLLBACK');
    }
  });

  describe('changeEpoch', () => {
    const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

    it('moves on this process’s own commits at once, whichever connection made them', async () => {
      const file = path.join(temp(), 'nexus.db');
      const database = open(file);
      database.migrate('notes', notes);
      const other = open(file);
      const before = database.changeEpoch();
      expect(database.changeEpoch()).toBe(before);
      await database.write((db) => db.prepare("INSERT INTO notes (body) VALUES ('own')").run());
      const afterOwn = database.changeEpoch();
      expect(afterOwn).toBeGreaterThan(before);
      await other.write((db) => db.prepare("INSERT INTO notes (body) VALUES ('sibling')").run());
      expect(database.changeEpoch()).toBeGreaterThan(afterOwn);
      // A failed write commits nothing and moves nothing.
      const settled = database.changeEpoch();
      await expect(database.write(() => {
        throw new Error('no');
      })).rejects.toThrow('no');
      await nextTurn();
      expect(database.changeEpoch()).toBe(settled);
    });

    it('moves on another process’s commit from the next turn of the event loop, and only then', async () => {
      const file = path.join(temp(), 'nexus.db');
      const database = open(file);
      database.migrate('notes', notes);
      const before = database.changeEpoch();
      // The child commits while this turn is blocked: the reading taken this turn stands.
      execFileSync(process.execPath, ['-e', `const Database = require(${JSON.stringify(require.resolve('better-sqlite3'))}); new Database(process.argv[1]).prepare("INSERT INTO notes (body) VALUES ('child')").run();`, file]);
      expect(database.changeEpoch()).toBe(before);
      await nextTurn();
      expect(database.changeEpoch()).toBeGreaterThan(before);
      const seen = database.changeEpoch();
      await nextTurn();
      expect(database.changeEpoch()).toBe(seen);
    });
  });

  it('refuses work after close', async () => {
    const database = openDatabase({ path: ':memory:' });
    database.close();
    await expect(database.write(() => 1)).rejects.toMatchObject({ code: 'SHUTTING_DOWN' });
  });
});
