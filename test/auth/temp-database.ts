import path from 'node:path';
import { afterEach } from 'vitest';
import { openDatabase, type SqliteDatabase } from '../../src/storage/sqlite/database.js';
import { tempDir } from '../support/runtime.js';

/**
 * Returns a function that opens a fresh SQLite file in a temp folder; every database it opened is
 * closed and its folder removed after each test of the calling file.
 */
export function useTempDatabases(): () => { db: SqliteDatabase; file: string } {
  const cleanups: Array<() => void> = [];
  afterEach(() => {
    for (const cleanup of cleanups.splice(0).reverse()) cleanup();
  });
  return () => {
    const folder = tempDir('nexus-auth-db-');
    const file = path.join(folder.dir, 'nexus.db');
    const db = openDatabase({ path: file });
    cleanups.push(() => {
      if (db.isOpen) db.close();
      folder.remove();
    });
    return { db, file };
  };
}
