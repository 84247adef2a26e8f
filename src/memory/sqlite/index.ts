import type { SqliteDatabase } from '../../storage/sqlite/database.js';
import { memoryMigrations } from '../../storage/sqlite/migrations/memory.js';
import { MemoryService, type MemoryServiceOptions } from '../memory-service.js';
import { SqliteConversationStore } from './sqlite-conversation-store.js';
import { SqliteKvStore } from './sqlite-kv-store.js';
import { SqliteVectorIndex } from './sqlite-vector-index.js';

export { SqliteConversationStore, SqliteKvStore, SqliteVectorIndex };

/** Migrates the memory schema and builds the memory service on SQLite stores. */
export function createSqliteMemory(database: SqliteDatabase, options: Omit<MemoryServiceOptions, 'kv' | 'conversations' | 'vectors'>): MemoryService {
  database.migrate('memory', memoryMigrations);
  return new MemoryService({
    ...options,
    kv: new SqliteKvStore(database),
    conversations: new SqliteConversationStore(database),
    vectors: new SqliteVectorIndex(database),
  });
}
