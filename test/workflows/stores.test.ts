import path from 'node:path';
import { openDatabase } from '../../src/storage/sqlite/database.js';
import { WORKFLOW_MIGRATIONS } from '../../src/storage/sqlite/migrations/workflows.js';
import { InMemoryRunStore, InMemoryWorkflowStore } from '../../src/workflows/in-memory-store.js';
import { SqliteRunStore, SqliteWorkflowStore } from '../../src/workflows/sqlite-store.js';
import { tempDir } from '../support/runtime.js';
import { workflowStoresContract } from './stores.contract.js';

workflowStoresContract('in-memory twin', (owner) => {
  const runs = new InMemoryRunStore(owner);
  return {
    workflows: new InMemoryWorkflowStore(),
    runs,
    plantRun: async (run, runOwner) => runs.adopt(run, runOwner),
    close: () => undefined,
  };
});

for (const where of [':memory:', 'file'] as const) {
  workflowStoresContract(`SQLite ${where}`, (owner) => {
    const folder = where === 'file' ? tempDir('nexus-wf-store-') : undefined;
    const database = openDatabase({ path: folder === undefined ? ':memory:' : path.join(folder.dir, 'nexus.db') });
    database.migrate('workflows', WORKFLOW_MIGRATIONS);
    return {
      workflows: new SqliteWorkflowStore(database),
      runs: new SqliteRunStore(database, owner),
      plantRun: (run, runOwner) => new SqliteRunStore(database, runOwner).create(run),
      close() {
        database.close();
        folder?.remove();
      },
    };
  });
}
