import path from 'node:path';
import { memoryMigrations } from '../../src/storage/sqlite/migrations/memory.js';
import { openDatabase, type SqliteDatabase } from '../../src/storage/sqlite/database.js';
import { tempDir } from '../support/runtime.js';
import type { StoreFixture } from './kv-store.contract.js';

/** A migrated memory database (`:memory:` or a file in a fresh temp folder) and a store on it. */
export function sqliteFixture<T>(where: ':memory:' | 'file', build: (database: SqliteDatabase) => T): StoreFixture<T> & { database: SqliteDatabase } {
  const folder = where === 'file' ? tempDir('nexus-store-') : undefined;
  const database = openDatabase({ path: folder === undefined ? ':memory:' : path.join(folder.dir, 'nexus.db') });
  database.migrate('memory', memoryMigrations);
  return {
    store: build(database),
    database,
    close() {
      database.close();
      folder?.remove();
    },
  };
}
