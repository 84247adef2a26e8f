import { InMemoryConversationStore } from '../../src/memory/in-memory/in-memory-conversation-store.js';
import { SqliteConversationStore } from '../../src/memory/sqlite/sqlite-conversation-store.js';
import { conversationStoreContract } from './conversation-store.contract.js';
import { sqliteFixture } from './sqlite-fixture.js';

conversationStoreContract('in-memory twin', () => ({ store: new InMemoryConversationStore(), close: () => undefined }));
conversationStoreContract('SQLite :memory:', () => sqliteFixture(':memory:', (database) => new SqliteConversationStore(database)));
conversationStoreContract('SQLite file', () => sqliteFixture('file', (database) => new SqliteConversationStore(database)));
