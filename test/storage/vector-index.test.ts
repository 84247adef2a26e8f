import { InMemoryVectorIndex } from '../../src/memory/in-memory/in-memory-vector-index.js';
import { SqliteVectorIndex } from '../../src/memory/sqlite/sqlite-vector-index.js';
import { sqliteFixture } from './sqlite-fixture.js';
import { vectorIndexContract } from './vector-index.contract.js';

vectorIndexContract('in-memory twin', () => ({ store: new InMemoryVectorIndex(), close: () => undefined }));
vectorIndexContract('sqlite-vec :memory:', () => sqliteFixture(':memory:', (database) => new SqliteVectorIndex(database)));
vectorIndexContract('sqlite-vec file', () => sqliteFixture('file', (database) => new SqliteVectorIndex(database)));
