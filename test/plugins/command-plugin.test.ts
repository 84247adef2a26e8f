import { once } from 'node:events';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { ToolListChangedNotificationSchema, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { loadConfig, type NexusConfigInput } from '../../src/config/index.js';
import { localPrincipal } from '../../src/auth/principal.js';
import { NexusError } from '../../src/errors/index.js';
import { createSilentLogger } from '../../src/logging/index.js';
import type { ReloadOutcome } from '../../src/plugins/plugin-manager.js';
import { createRuntime, type Runtime } from '../../src/runtime/runtime.js';
import { lifelineServer } from '../support/processes.js';
import { tempDir } from '../support/runtime.js';

const EXAMPLES = fileURLToPath(new URL('../../examples/plugins/', import.meta.url));
const NODE = process.execPath;
const cleanups: Array<() => Promise<void> | void> = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface Started {
  runtime: Runtime;
  client: Client;
  dir: string;
  file: string;
}

/** A runtime started from a real config file (as `nexus -c FILE` does) with a connected SDK client. */
async function startFromFile(config: NexusConfigInput, options: { file?: string; configureClient?: (client: Client) => void } = {}): Promise<Started> {
  const temp = tempDir('nexus-cmdplugin-');
  cleanups.push(() => temp.remove());
  const file = options.file ?? path.join(temp.dir, 'nexus.json');
  if (options.file === undefined) writeFileSync(file, JSON.stringify({ data_dir: temp.dir, ...config }, null, 2));
  const loaded = loadConfig({ configPath: file, overrides: options.file === undefined ? {} : { data_dir: temp.dir, ...config } });
  const runtime = await createRuntime(loaded.config, { configFile: loaded.configFile, logger: createSilentLogger() });
  const [clientTransport, serverTransport] = InMemoryTransport.createLinkedPair();
  await runtime.connect(serverTransport, { transport: 'memory', principalFor: () => localPrincipal() });
  const client = new Client({ name: 'plugin-test', version: '1.0.0' });
  options.configureClient?.(client);
  await client.connect(clientTransport);
  cleanups.push(async () => {
    await client.close();
    await runtime.close();
  });
  return { runtime, client, dir: temp.dir, file };
}

async function startFailure(config: NexusConfigInput): Promise<NexusError> {
  const failure: unknown = await startFromFile(config).then(
    () => undefined,
    (error: unknown) => error,
  );
  if (!NexusError.is(failure)) throw new Error('expected start-up to fail with a NexusError');
  return failure;
}

async function call(client: Client, name: string, args: Record<string, unknown>): Promise<CallToolResult> {
  return (await client.callTool({ name, arguments: args })) as CallToolResult;
}

const textOf = (result: CallToolResult): string => (result.content[0] as { text: string }).text;
const codeOf = (result: CallToolResult): string => {
  expect(result.isError).toBe(true);
  return (result.structuredContent as { code: string }).code;
};

type CommandPluginInput = Extract<NonNullable<NexusConfigInput['plugins']>[number], { command: string }>;

/** A plugin running `node -e SCRIPT`, whose argv after the script is what the template produced. */
function nodePlugin(name: string, script: string, extra: Partial<CommandPluginInput> = {}): CommandPluginInput {
  return { name, command: NODE, args_template: ['-e', script], ...extra };
}

describe('command plugins: the example configs', () => {
  it('register, advertise their schema and annotations, and run in args, stdin and env modes with text and JSON output', async () => {
    const { client } = await startFromFile({}, { file: path.join(EXAMPLES, 'nexus.json') });
    const { tools } = await client.listTools();
    const names = tools.map((tool) => tool.name);
    expect(names).toEqual(expect.arrayContaining(['greet', 'math.add', 'text.stats', 'text.shout', 'env.args', 'env.greet']));
    const greet = tools.find((tool) => tool.name === 'greet');
    expect(greet?.inputSchema.required).toEqual(['name']);
    expect(greet?.annotations).toEqual({ readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false });

    // args + text
    const greeting = await call(client, 'greet', { name: 'Ada' });
    expect(greeting.isError).toBeFalsy();
    expect(textOf(greeting)).toBe('Hello, Ada!');
    expect(greeting.structuredContent).toBeUndefined();
    // args + json
    expect((await call(client, 'math.add', { a: 2, b: 40.5 })).structuredContent).toEqual({ a: 2, b: 40.5, sum: 42.5 });
    // stdin + json
    expect((await call(client, 'text.stats', { text: 'one two\nthree' })).structuredContent).toEqual({ words: 3, lines: 2, characters: 13 });
    // stdin + text
    expect(textOf(await call(client, 'text.shout', { text: 'quiet please' }))).toBe('QUIET PLEASE');
    // env + json: NEXUS_ARG_*, NEXUS_ARGS_JSON (with schema defaults applied), templated env, nothing else but command_env
    const env = (await call(client, 'env.args', { name: 'Lin' })).structuredContent as { args: Record<string, string>; all: unknown; greeting: string; variables: string[] };
    expect(env.args).toEqual({ NEXUS_ARG_NAME: 'Lin', NEXUS_ARG_COUNT: '1' });
    expect(env.all).toEqual({ name: 'Lin', count: 1 });
    expect(env.greeting).toBe('Hello Lin');
    const allowedNames = new Set(['PATH', 'LANG', 'LC_ALL', 'TZ', 'GREETING', 'NEXUS_ARG_NAME', 'NEXUS_ARG_COUNT', 'NEXUS_ARGS_JSON']);
    expect(env.variables.filter((variable) => !allowedNames.has(variable))).toEqual([]);
    // env + text
    expect(textOf(await call(client, 'env.greet', { name: 'Lin' }))).toBe('Hi Lin');
  });

  it('validates arguments against input_schema before running anything', async () => {
    const { client } = await startFromFile({}, { file: path.join(EXAMPLES, 'nexus.json') });
    expect(codeOf(await call(client, 'greet', {}))).toBe('INVALID_ARGUMENTS');
    expect(codeOf(await call(client, 'math.add', { a: 'two', b: 1 }))).toBe('INVALID_ARGUMENTS');
    expect(codeOf(await call(client, 'greet', { name: 'x', extra: true }))).toBe('INVALID_ARGUMENTS');
  });
});

describe('command plugins: substitution and sandbox', () => {
  const argvScript = 'process.stdout.write(JSON.stringify(process.argv.slice(1)))';
  const argv = nodePlugin('argv', argvScript, {
    args_template: ['-e', argvScript, '${a}', 'pre-${b}-post', '$${a} stays', '${n}', '${obj}'],
    input_schema: { type: 'object', properties: { a: { type: 'string' }, b: { type: 'string' }, n: { type: 'number' }, obj: { type: 'object' } }, required: ['a', 'b', 'n', 'obj'] },
    output_mode: 'json',
  });

  it('makes each template element exactly one argv element, never shell-interpreted or expanded twice', async () => {
    const { client } = await startFromFile({ plugins: [argv] });
    const result = await call(client, 'argv', { a: '${b}; rm -rf / $(id)', b: 'two words', n: 3.5, obj: { k: [1] } });
    expect(JSON.parse(textOf(result))).toEqual(['${b}; rm -rf / $(id)', 'pre-two words-post', '${a} stays', '3.5', '{"k":[1]}']);
  });

  it('refuses a NUL in a value instead of letting the kernel cut it short', async () => {
    const { client } = await startFromFile({ plugins: [argv] });
    expect(codeOf(await call(client, 'argv', { a: 'safe\u0000--danger', b: '', n: 1, obj: {} }))).toBe('INVALID_ARGUMENTS');
  });

  it('kills a plugin and its process group at timeout_secs (PLUGIN_TIMEOUT)', async () => {
    const lifeline = await lifelineServer();
    cleanups.push(() => lifeline.close());
    const connect = `require("net").connect(${lifeline.port}, "127.0.0.1"); setInterval(() => {}, 1e9);`;
    const script = `require("child_process").spawn(process.execPath, ["-e", ${JSON.stringify(connect)}], { stdio: "ignore" }); ${connect}`;
    const { client } = await startFromFile({ plugins: [nodePlugin('stuck', script, { timeout_secs: 0.5 })] });
    const result = await call(client, 'stuck', {});
    expect(codeOf(result)).toBe('PLUGIN_TIMEOUT');
    await lifeline.allClosed();
  });

  it('reports a non-zero exit with its stderr, and caps output', async () => {
    const { client } = await startFromFile({
      security: { max_output_bytes: 1000 },
      plugins: [nodePlugin('fails', 'console.error("bad input"); process.exit(2)'), nodePlugin('floods', 'process.stdout.write("x".repeat(5e6))')],
    });
    const failed = await call(client, 'fails', {});
    expect(codeOf(failed)).toBe('TOOL_EXECUTION_FAILED');
    expect((failed.structuredContent as { message: string }).message).toContain('exited with status 2: bad input');
    const flooded = await call(client, 'floods', {});
    expect(textOf(flooded)).toBe(`${'x'.repeat(1000)}\n[output truncated at 1000 bytes]`);
  });

  it('uses working_dir and refuses to load one that does not exist', async () => {
    const temp = tempDir('nexus-wd-');
    cleanups.push(() => temp.remove());
    mkdirSync(path.join(temp.dir, 'inner'));
    const { client } = await startFromFile({ plugins: [nodePlugin('where', 'process.stdout.write(process.cwd())', { working_dir: path.join(temp.dir, 'inner') })] });
    expect(textOf(await call(client, 'where', {}))).toMatch(/inner$/);
    const failure = await startFailure({ plugins: [nodePlugin('where', 'x', { working_dir: path.join(temp.dir, 'missing') })] });
    expect(failure.code).toBe('PLUGIN_INVALID');
  });

  it.each([
    ['an unknown placeholder', { name: 'p', command: 'echo', args_template: ['${nope}'] }, /plugins\[1\] "p": args_template\[0\] uses \$\{nope\}/],
    ['an unknown placeholder in env', { name: 'p', command: 'echo', env: { X: '${nope}' } }, /plugins\[1\] "p": env\.X uses \$\{nope\}/],
    ['an unterminated placeholder', { name: 'p', command: 'echo', args_template: ['${a'] , input_schema: { type: 'object', properties: { a: {} } } }, /plugins\[1\] "p": args_template\[0\]: unterminated/],
    ['a missing program', { name: 'p', command: 'no-such-program-nexus' }, /plugins\[1\] "p": command "no-such-program-nexus" is not an executable/],
    ['an invalid input_schema', { name: 'p', command: 'echo', input_schema: { type: 'object', properties: { a: { type: 'nonsense' } } } }, /plugins\[1\] "p": input_schema is not a valid JSON Schema/],
    ['a non-object input_schema', { name: 'p', command: 'echo', input_schema: { type: 'string' } }, /plugins\[1\] "p": input_schema must describe an object/],
    ['a duplicate name', { name: 'ok', command: 'echo' }, /plugins\[1\] "ok": the name is already used by plugins\[0\]/],
    ['a built-in tool name', { name: 'echo', command: 'echo' }, /plugins\[1\] "echo": A tool named "echo" is already registered/],
  ])('refuses to start with %s, naming the entry', async (_label, entry, message) => {
    const failure = await startFailure({ plugins: [{ name: 'ok', command: 'echo' }, entry] });
    expect(failure.code).toBe('PLUGIN_INVALID');
    expect(failure.message).toMatch(message);
    expect(failure.details).toMatchObject({ index: 1 });
  });
});

describe('command plugins: hot reload', () => {
  function listChangedWatcher(client: Client): () => Promise<void> {
    let waiting: (() => void) | undefined;
    let count = 0;
    client.setNotificationHandler(ToolListChangedNotificationSchema, () => {
      count += 1;
      waiting?.();
    });
    return () => {
      const seen = count;
      return new Promise<void>((resolve) => {
        waiting = () => {
          if (count > seen) resolve();
        };
      });
    };
  }

  it('reloads plugins when the config file changes and tells connected clients; a bad edit keeps the old ones', async () => {
    const greet = { name: 'greet', command: 'echo', args_template: ['hi ${who}'], input_schema: { type: 'object', properties: { who: { type: 'string' } } } };
    let nextChange: (() => Promise<void>) | undefined;
    const { client, runtime, file, dir } = await startFromFile({ plugins: [greet] }, { configureClient: (created) => (nextChange = listChangedWatcher(created)) });
    const write = (config: unknown): void => writeFileSync(file, typeof config === 'string' ? config : JSON.stringify({ data_dir: dir, ...(config as object) }));
    const toolNames = async (): Promise<string[]> => (await client.listTools()).tools.map((tool) => tool.name);
    expect(await toolNames()).toContain('greet');

    // A new plugin appears and the old one is replaced, in one list_changed.
    let changed = nextChange!();
    write({ plugins: [{ ...greet, args_template: ['hello ${who}'] }, { name: 'shout', command: 'echo', args_template: ['LOUD'] }] });
    await changed;
    expect(await toolNames()).toEqual(expect.arrayContaining(['greet', 'shout']));
    expect(textOf(await call(client, 'greet', { who: 'you' }))).toBe('hello you');

    // Invalid JSON, then an entry that does not load: both keep the previous plugins.
    let reload = once(runtime.commandPlugins, 'reload') as Promise<[ReloadOutcome]>;
    write('{ "plugins": [ ');
    const [broken] = await reload;
    expect(broken).toMatchObject({ ok: false, error: { code: 'CONFIG_PARSE_ERROR' } });
    reload = once(runtime.commandPlugins, 'reload') as Promise<[ReloadOutcome]>;
    write({ plugins: [{ name: 'bad', command: 'echo', args_template: ['${undeclared}'] }] });
    const [invalid] = await reload;
    expect(invalid).toMatchObject({ ok: false, error: { code: 'PLUGIN_INVALID' } });
    expect(await toolNames()).toEqual(expect.arrayContaining(['greet', 'shout']));
    expect(textOf(await call(client, 'shout', {}))).toBe('LOUD');

    // Removing every plugin removes their tools.
    changed = nextChange!();
    write({ plugins: [] });
    await changed;
    const remaining = await toolNames();
    expect(remaining).not.toContain('greet');
    expect(remaining).not.toContain('shout');
    expect(remaining).toContain('echo');
  });

  it('does not watch when watch_config is false', async () => {
    const { runtime, file, dir } = await startFromFile({ watch_config: false, plugins: [{ name: 'one', command: 'echo' }] });
    writeFileSync(file, JSON.stringify({ data_dir: dir, watch_config: false, plugins: [{ name: 'two', command: 'echo' }] }));
    // Reloading by hand still works; it is the watcher that is off.
    const outcome = await runtime.commandPlugins.reload();
    expect(outcome).toMatchObject({ ok: true, changed: true, tools: ['two'] });
    expect(runtime.commandPlugins.watching).toBe(false);
  });
});
