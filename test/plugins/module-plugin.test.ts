import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { parseConfig } from '../../src/config/index.js';
import { NexusError } from '../../src/errors/index.js';
import { createSilentLogger } from '../../src/logging/index.js';
import { createRuntime } from '../../src/runtime/runtime.js';
import { startTestRuntime, tempDir, type TestRuntime } from '../support/runtime.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function writePlugin(source: string): string {
  const temp = tempDir('nexus-plugin-');
  cleanups.push(() => temp.remove());
  const file = path.join(temp.dir, 'plugin.mjs');
  writeFileSync(file, source);
  return file;
}

async function harness(config: Parameters<typeof startTestRuntime>[0]): Promise<TestRuntime> {
  const started = await startTestRuntime(config);
  cleanups.push(() => started.close());
  return started;
}

async function startFailure(module: string): Promise<NexusError> {
  const temp = tempDir();
  cleanups.push(() => temp.remove());
  const failure: unknown = await createRuntime(parseConfig({ data_dir: temp.dir, plugins: [{ module }] }), { logger: createSilentLogger() }).then(
    () => undefined,
    (error: unknown) => error,
  );
  if (!NexusError.is(failure)) throw new Error('expected start-up to fail with a NexusError');
  return failure;
}

describe('module plugins', () => {
  it('registers tools, resources and prompts that a client can use', async () => {
    const module = writePlugin(`
      export default {
        name: 'greeter', version: '1.2.3',
        setup(host) {
          host.registerTool({
            name: 'greet.hello', description: 'Greets', inputSchema: { type: 'object', properties: { who: { type: 'string' } }, required: ['who'] },
            async execute(input) { return { data: { greeting: 'hello ' + input.who } }; },
          });
          host.registerResource({ uri: 'greet://motd', name: 'motd', mimeType: 'text/plain', async read() { return [{ uri: 'greet://motd', text: 'be kind' }]; } });
          host.registerPrompt({ name: 'greet', arguments: [{ name: 'who', required: true }], async get(args) { return { messages: [{ role: 'user', content: { type: 'text', text: 'Say hi to ' + args.who } }] }; } });
        },
      };`);
    const { client, runtime } = await harness({ plugins: [{ module }] });
    expect(runtime.loadedPlugins.map((plugin) => `${plugin.name}@${plugin.version}`)).toEqual(['greeter@1.2.3']);
    const result = await client.callTool({ name: 'greet.hello', arguments: { who: 'Ada' } });
    expect(result.structuredContent).toEqual({ greeting: 'hello Ada' });
    const invalid = await client.callTool({ name: 'greet.hello', arguments: {} });
    expect((invalid.structuredContent as { code: string }).code).toBe('INVALID_ARGUMENTS');
    const read = await client.readResource({ uri: 'greet://motd' });
    expect(read.contents[0]).toMatchObject({ text: 'be kind' });
    const prompt = await client.getPrompt({ name: 'greet', arguments: { who: 'Ada' } });
    expect(prompt.messages[0]?.content).toMatchObject({ text: 'Say hi to Ada' });
  });

  it('announces tools registered after connect with tools/list_changed', async () => {
    const { client, runtime } = await harness({});
    const changed = new Promise<void>((resolve) => client.setNotificationHandler(ToolListChangedNotificationSchema, () => resolve()));
    runtime.tools.register({ name: 'late.tool', description: 'late', inputSchema: { type: 'object' }, execute: async () => ({ text: 'ok' }) });
    await changed;
    expect((await client.listTools()).tools.map((tool) => tool.name)).toContain('late.tool');
  });

  it('fails start-up with PLUGIN_LOAD_FAILED naming a plugin whose setup throws, leaving nothing registered', async () => {
    const module = writePlugin(`
      export default { name: 'broken', version: '0.0.1', setup(host) {
        host.registerTool({ name: 'broken.half', description: 'x', inputSchema: { type: 'object' }, async execute() { return { text: '' }; } });
        throw new Error('database unreachable');
      } };`);
    const error = await startFailure(module);
    expect(error.code).toBe('PLUGIN_LOAD_FAILED');
    expect(error.message).toContain('broken');
    expect(error.message).toContain('database unreachable');
  });

  it('rejects a module without a plugin definition with PLUGIN_INVALID', async () => {
    const error = await startFailure(writePlugin('export const notAPlugin = 1;'));
    expect(error.code).toBe('PLUGIN_INVALID');
  });

  it('reports a module that cannot be imported with PLUGIN_LOAD_FAILED', async () => {
    const error = await startFailure(writePlugin('export default {{ syntax error'));
    expect(error.code).toBe('PLUGIN_LOAD_FAILED');
  });

  it('refuses a plugin tool that collides with a built-in name', async () => {
    const module = writePlugin(`export default { name: 'dup', version: '1.0.0', setup(host) {
      host.registerTool({ name: 'echo', description: 'x', inputSchema: { type: 'object' }, async execute() { return { text: '' }; } });
    } };`);
    const error = await startFailure(module);
    expect(error.code).toBe('PLUGIN_LOAD_FAILED');
    expect(error.message).toMatch(/dup.*"echo" is already registered/);
  });
});
