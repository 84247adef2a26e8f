import path from 'node:path';
import { openDatabase, type SqliteDatabase } from '../../src/storage/sqlite/database.js';
import { memoryMigrations } from '../../src/storage/sqlite/migrations/memory.js';
import { tempDir } from './runtime.js';

/**
 * Two connections to one new memory database file, as two Nexus processes would have; what to undo
 * afterwards goes into `cleanups` (run in reverse order).
 */
export function twoMemoryConnections(cleanups: Array<() => void>): [SqliteDatabase, SqliteDatabase] {
  const folder = tempDir('nexus-memory-');
  const file = path.join(folder.dir, 'nexus.db');
  const first = openDatabase({ path: file });
  first.migrate('memory', memoryMigrations);
  const second = openDatabase({ path: file });
  cleanups.push(() => folder.remove(), () => first.close(), () => second.close());
  return [first, second];
}
