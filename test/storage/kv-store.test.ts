import { InMemoryKvStore } from '../../src/memory/in-memory/in-memory-kv-store.js';
import { SqliteKvStore } from '../../src/memory/sqlite/sqlite-kv-store.js';
import { kvStoreContract } from './kv-store.contract.js';
import { sqliteFixture } from './sqlite-fixture.js';

kvStoreContract('in-memory twin', () => ({ store: new InMemoryKvStore(), close: () => undefined }));
kvStoreContract('SQLite :memory:', () => sqliteFixture(':memory:', (database) => new SqliteKvStore(database)));
kvStoreContract('SQLite file', () => sqliteFixture('file', (database) => new SqliteKvStore(database)));
