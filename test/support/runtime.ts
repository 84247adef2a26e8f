import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import type { ClientCapabilities } from '@modelcontextprotocol/sdk/types.js';
import { parseConfig, type NexusConfigInput } from '../../src/config/index.js';
import { localPrincipal } from '../../src/auth/principal.js';
import { createSilentLogger } from '../../src/logging/index.js';
import { createRuntime, type CreateRuntimeOptions, type Runtime } from '../../src/runtime/runtime.js';

export interface TestRuntime {
  runtime: Runtime;
  client: Client;
  dataDir: string;
  close(): Promise<void>;
}

/** A fresh temporary folder, removed by the returned cleanup. */
export function tempDir(prefix = 'nexus-test-'): { dir: string; remove(): void } {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * A real runtime (real registries, executor, SQLite in a temp folder) and a real SDK Client
 * connected through the SDK's in-memory transport pair.
 */
export async function startTestRuntime(
  config: NexusConfigInput = {},
  options: { capabilities?: ClientCapabilities; configureClient?: (client: Client) => void; runtime?: CreateRuntimeOptions } = {},
): Promise<TestRuntime> {
  const temp = tempDir();
  const runtime = await createRuntime(parseConfig({ data_dir: temp.dir, ...config }), { logger: createSilentLogger(), ...options.runtime });
  const [clientTransport, serverTransport] = InMemoryTransport.createLinkedPair();
  await runtime.connect(serverTransport, { transport: 'memory', principalFor: () => localPrincipal() });
  const client = new Client({ name: 'nexus-test', version: '1.0.0' }, { capabilities: options.capabilities ?? {} });
  options.configureClient?.(client);
  await client.connect(clientTransport);
  return {
    runtime,
    client,
    dataDir: temp.dir,
    async close() {
      await client.close();
      await runtime.close();
      temp.remove();
    },
  };
}
