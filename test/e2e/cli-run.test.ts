import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, type CliRun } from '../support/cli.js';
import { tempDir } from '../support/runtime.js';

// `nexus run TOOL` for every tool `nexus tools` lists, each in its own real CLI process (needs
// dist/: `npm run build`). All processes share one temp data dir and config, so state-building
// samples (memory.store, workflow.define …) feed the ones that read it back. The sample table must
// cover every listed tool: a new tool without a sample fails the coverage test.

/** What a sample's args and checks can see. */
interface SampleContext {
  root: string;
  baseUrl: string;
  /** structuredContent of the samples already run, by tool name. */
  results: ReadonlyMap<string, Record<string, unknown>>;
  /** Requests the local HTTP server received. */
  requests: ReadonlyArray<{ method: string; url: string; body: string }>;
}

interface ToolOutput {
  structured: Record<string, unknown>;
  /** The text content blocks joined by "\n" (what `--format text` prints). */
  text: string;
}

interface Sample {
  args: Record<string, unknown> | ((context: SampleContext) => Record<string, unknown>);
  /** Samples that must have succeeded first: they create the state this one reads (or the embedder's word table). */
  after?: string[];
  /** Throws (expect) unless the output means the call did what it should. */
  check: (output: ToolOutput, context: SampleContext) => void;
  /** Not in `nexus tools` at start: created by another sample (a saved workflow's own tool). */
  dynamic?: boolean;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const STORED_NOTE = 'the database migration to postgres is scheduled for friday';
const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

function resultOf(context: SampleContext, tool: string): Record<string, unknown> {
  const result = context.results.get(tool);
  if (result === undefined) throw new Error(`sample ${tool} has not run`);
  return result;
}

function stringAt(record: Record<string, unknown>, key: string): string {
  const value = record[key];
  if (typeof value !== 'string') throw new Error(`expected a string at ${key}, got ${JSON.stringify(value)}`);
  return value;
}

function cosine(a: number[], b: number[]): number {
  const dot = a.reduce((sum, value, index) => sum + value * (b[index] ?? 0), 0);
  const norm = (v: number[]): number => Math.sqrt(v.reduce((sum, value) => sum + value * value, 0));
  return dot / (norm(a) * norm(b));
}

/** Conversation A gets messages; conversation B (made through the original's alias) is deleted. */
const conversationA = (context: SampleContext): string => stringAt(resultOf(context, 'memory.conversation.create'), 'conversation_id');
const conversationB = (context: SampleContext): string => stringAt(resultOf(context, 'conversation.create'), 'conversation_id');

function checkConversationMessages(output: ToolOutput): void {
  const messages = output.structured['messages'] as Array<{ role: string; content: string }>;
  expect(messages.map((message) => [message.role, message.content])).toEqual(
    expect.arrayContaining([
      ['user', 'the quick brown fox'],
      ['assistant', 'jumps over the lazy dog'],
    ]),
  );
}

function checkConversationSearch(output: ToolOutput, context: SampleContext): void {
  const results = output.structured['results'] as Array<Record<string, unknown>>;
  expect(results.length).toBeGreaterThan(0);
  expect(JSON.stringify(results[0])).toContain(conversationA(context));
  expect(JSON.stringify(results[0])).toMatch(/fox/);
}

function checkConversationList(output: ToolOutput, context: SampleContext): void {
  const ids = (output.structured['conversations'] as Array<{ id: string }>).map((conversation) => conversation.id);
  expect(ids).toEqual(expect.arrayContaining([conversationA(context), conversationB(context)]));
}

const SAMPLES: Record<string, Sample> = {
  echo: { args: { text: 'hello from the CLI' }, check: ({ structured, text }) => expect([structured, text]).toEqual([{ text: 'hello from the CLI' }, 'hello from the CLI']) },
  get_time: {
    args: { timezone: 'Asia/Tokyo' },
    check: ({ structured }) => {
      expect(structured).toMatchObject({ timezone: 'Asia/Tokyo', utc_offset: '+09:00' });
      expect(Math.abs(Number(structured['timestamp']) - Date.now() / 1000)).toBeLessThan(3600);
    },
  },
  'uuid.generate': {
    args: { count: 3 },
    check: ({ structured }) => {
      const uuids = structured['uuids'] as string[];
      expect(uuids).toHaveLength(3);
      for (const uuid of uuids) expect(uuid).toMatch(UUID);
      expect(new Set(uuids).size).toBe(3);
    },
  },
  'base64.encode': { args: { text: 'hello' }, check: ({ structured, text }) => expect([structured['encoded'], text]).toEqual(['aGVsbG8=', 'aGVsbG8=']) },
  'base64.decode': { args: { encoded: 'aGVsbG8=' }, check: ({ structured, text }) => expect([structured['decoded'], text]).toEqual(['hello', 'hello']) },
  'hash.sha256': { args: { text: 'hello' }, check: ({ structured }) => expect(structured['hash']).toBe(sha256('hello')) },
  'json.parse': { args: { text: '{"a": [1, 2]}' }, check: ({ structured }) => expect(structured).toEqual({ value: { a: [1, 2] }, type: 'object' }) },
  'json.query': {
    args: { json: { items: [{ id: 1, price: 5 }, { id: 2, price: 20 }] }, path: '$.items[?@.price < 10].id' },
    check: ({ structured }) => expect(structured).toMatchObject({ language: 'jsonpath', value: [1], count: 1 }),
  },
  'regex.match': {
    args: { text: 'a1 b22 c333', pattern: '[a-z](\\d+)', global: true },
    check: ({ structured }) => {
      expect(structured).toMatchObject({ found: true, count: 3 });
      expect((structured['matches'] as Array<{ groups: string[] }>).map((match) => match.groups[1])).toEqual(['1', '22', '333']);
    },
  },
  'regex.replace': {
    args: { text: '2024-01-31', pattern: '(\\d+)-(\\d+)-(\\d+)', replacement: '$3/$2/$1' },
    check: ({ structured }) => expect(structured).toEqual({ result: '31/01/2024', replacements: 1 }),
  },
  'env.get': { args: { key: 'CLI_SAMPLE_VALUE' }, check: ({ structured }) => expect(structured).toMatchObject({ key: 'CLI_SAMPLE_VALUE', value: 'visible', found: true }) },
  'env.list': {
    args: { prefix: 'CLI_SAMPLE_', show_values: true },
    check: ({ structured }) => {
      const variables = structured['variables'] as Array<{ key: string; value: string }>;
      expect(Object.fromEntries(variables.map((variable) => [variable.key, variable.value]))).toEqual({ CLI_SAMPLE_VALUE: 'visible', CLI_SAMPLE_TOKEN: '[REDACTED]' });
    },
  },
  'sys.info': {
    args: {},
    check: ({ structured }) => {
      expect(structured).toMatchObject({ node_version: expect.stringMatching(/^v\d+\./) as unknown, nexus_version: expect.any(String) as unknown });
      expect(Number(structured['cpus'])).toBeGreaterThan(0);
    },
  },
  'fs.read_file': {
    args: ({ root }) => ({ path: path.join(root, 'notes/readme.txt') }),
    check: ({ structured, text }) => {
      expect(text).toBe('line one\nline two\n');
      expect(structured).toMatchObject({ encoding: 'utf8', size: 18, eof: true });
    },
  },
  'fs.write_file': {
    args: ({ root }) => ({ path: path.join(root, 'written/new/out.txt'), content: 'written by nexus run', create_dirs: true }),
    check: ({ structured }, { root }) => {
      expect(structured).toMatchObject({ success: true, bytes_written: 20 });
      expect(readFileSync(path.join(root, 'written/new/out.txt'), 'utf8')).toBe('written by nexus run');
    },
  },
  'fs.list_dir': {
    args: ({ root }) => ({ path: path.join(root, 'notes') }),
    check: ({ structured }) => {
      const entries = structured['entries'] as Array<{ name: string; type: string }>;
      expect(entries.map((entry) => [entry.name, entry.type])).toEqual([
        ['data.bin', 'file'],
        ['readme.txt', 'file'],
      ]);
    },
  },
  'fs.stat': {
    args: ({ root }) => ({ path: path.join(root, 'notes/data.bin') }),
    check: ({ structured }, { root }) => expect(structured).toMatchObject({ type: 'file', size: 4, real_path: path.join(root, 'notes/data.bin') }),
  },
  'cmd.exec': {
    args: { command: 'echo', args: ['one argument; not a shell', '$HOME'] },
    check: ({ structured }) => expect(structured).toMatchObject({ exit_code: 0, success: true, stdout: 'one argument; not a shell $HOME\n' }),
  },
  'http.request': {
    args: ({ baseUrl }) => ({ url: `${baseUrl}/submit?x=1`, method: 'POST', json: { hello: 'server' } }),
    check: ({ structured }, { requests }) => {
      expect(structured).toMatchObject({ status: 200, body: { received: { hello: 'server' } } });
      expect(requests).toContainEqual({ method: 'POST', url: '/submit?x=1', body: '{"hello":"server"}' });
    },
  },

  // Memory. memory.embed runs first: it builds the offline embedder's word table in the data dir
  // once, so the samples that embed afterwards read it instead of each building their own.
  'memory.embed': {
    args: { texts: ['dog', 'puppy', 'spreadsheet'] },
    check: ({ structured }) => {
      const vectors = (structured['embeddings'] as Array<{ embedding: number[] }>).map((entry) => entry.embedding);
      expect(structured).toMatchObject({ dimensions: 100, count: 3 });
      const [dog = [], puppy = [], spreadsheet = []] = vectors;
      expect(cosine(dog, puppy)).toBeGreaterThan(cosine(dog, spreadsheet));
    },
  },
  'memory.store': {
    args: { key: 'plan', namespace: 'cli', value: { note: STORED_NOTE }, tags: ['ops'] },
    after: ['memory.embed'],
    check: ({ structured }) => expect(structured).toMatchObject({ success: true, key: 'plan', namespace: 'cli', created: true }),
  },
  'memory.recall': {
    args: { key: 'plan', namespace: 'cli' },
    after: ['memory.store'],
    check: ({ structured }) => expect(structured).toMatchObject({ found: true, key: 'plan', value: { note: STORED_NOTE } }),
  },
  'memory.list': {
    args: { namespace: 'cli', tags: ['ops'] },
    after: ['memory.store'],
    check: ({ structured }) => expect(structured['keys']).toEqual(['plan']),
  },
  'memory.search': {
    args: { query: 'postgres migration', scope: 'kv', namespace: 'cli' },
    after: ['memory.store'],
    check: ({ structured }) => {
      const results = structured['results'] as Array<Record<string, unknown>>;
      expect(results[0]).toMatchObject({ key: 'plan' });
    },
  },
  'memory.delete': {
    args: { key: 'plan', namespace: 'cli' },
    after: ['memory.recall', 'memory.list', 'memory.search'],
    check: ({ structured }) => expect(structured).toMatchObject({ success: true, deleted: true }),
  },
  'memory.conversation.create': {
    args: { title: 'cli conversation' },
    check: ({ structured }) => expect(structured).toMatchObject({ success: true, title: 'cli conversation', conversation_id: expect.stringMatching(UUID) as unknown }),
  },
  'conversation.create': {
    args: { title: 'to be deleted' },
    check: ({ structured }) => expect(structured).toMatchObject({ success: true, conversation_id: expect.stringMatching(UUID) as unknown }),
  },
  'conversation.add': {
    args: (context) => ({ conversation_id: conversationA(context), role: 'user', content: 'the quick brown fox' }),
    after: ['memory.conversation.create'],
    check: ({ structured }) => expect(structured).toMatchObject({ success: true }),
  },
  'memory.conversation.add': {
    args: (context) => ({ conversation_id: conversationA(context), role: 'assistant', content: 'jumps over the lazy dog', name: 'bot' }),
    after: ['conversation.add'],
    check: ({ structured }) => expect(structured).toMatchObject({ success: true }),
  },
  'conversation.get': { args: (context) => ({ conversation_id: conversationA(context) }), after: ['memory.conversation.add'], check: checkConversationMessages },
  'memory.conversation.get': { args: (context) => ({ conversation_id: conversationA(context) }), after: ['memory.conversation.add'], check: checkConversationMessages },
  'conversation.search': { args: { query: 'brown fox', mode: 'fulltext' }, after: ['memory.conversation.add'], check: checkConversationSearch },
  'memory.conversation.search': {
    args: (context) => ({ query: 'fox', conversation_id: conversationA(context) }),
    after: ['memory.conversation.add', 'memory.embed'],
    check: checkConversationSearch,
  },
  'conversation.list': { args: {}, after: ['memory.conversation.create', 'conversation.create'], check: checkConversationList },
  'memory.conversation.list': { args: {}, after: ['memory.conversation.create', 'conversation.create'], check: checkConversationList },
  'memory.conversation.delete': {
    args: (context) => ({ conversation_id: conversationB(context) }),
    after: ['conversation.list', 'memory.conversation.list'],
    check: ({ structured }) => expect(structured).toMatchObject({ success: true, deleted: true }),
  },

  // Workflows: a saved one, its own tool, ad-hoc runs and their records.
  'workflow.define': {
    args: { name: 'greet', inputs: ['who'], steps: [{ id: 'say', tool: 'echo', args: { text: 'hello {{input.who}}' } }] },
    check: ({ structured }) => expect(structured).toMatchObject({ name: 'greet', version: 1, tool: 'workflow.greet' }),
  },
  'workflow.get': { args: { name: 'greet' }, after: ['workflow.define'], check: ({ structured }) => expect(structured).toMatchObject({ name: 'greet', versions: [1], steps: [{ id: 'say', tool: 'echo' }] }) },
  'workflow.list': { args: {}, after: ['workflow.define'], check: ({ structured }) => expect(structured['workflows']).toEqual([expect.objectContaining({ name: 'greet', tool: 'workflow.greet' })]) },
  'workflow.execute': {
    args: { name: 'greet', input: { who: 'cli' } },
    after: ['workflow.define'],
    check: ({ structured }) => expect(structured).toMatchObject({ workflow: 'greet', status: 'succeeded', output: { text: 'hello cli' } }),
  },
  'workflow.greet': {
    dynamic: true,
    args: { who: 'its own tool' },
    after: ['workflow.define'],
    check: ({ structured }) => expect(structured).toMatchObject({ workflow: 'greet', status: 'succeeded', output: { text: 'hello its own tool' } }),
  },
  'workflow.run': {
    args: { name: 'adhoc', steps: [{ id: 'a', tool: 'echo', args: { text: 'one' } }, { id: 'b', tool: 'base64.encode', args: { text: '{{steps.a.text}}' } }] },
    check: ({ structured }) => expect(structured).toMatchObject({ status: 'succeeded', output: { encoded: 'b25l' }, steps: [{ id: 'a', status: 'succeeded' }, { id: 'b', status: 'succeeded' }] }),
  },
  'workflow.run_get': {
    args: (context) => ({ run_id: stringAt(resultOf(context, 'workflow.run'), 'run_id') }),
    after: ['workflow.run'],
    check: ({ structured }) => expect(structured).toMatchObject({ workflow: 'adhoc', status: 'succeeded' }),
  },
  'tools.chain': {
    args: { steps: [{ tool: 'echo', args: { text: 'chain' } }, { tool: 'hash.sha256' }] },
    check: ({ structured }) => expect(structured).toMatchObject({ status: 'succeeded', output: { hash: sha256('chain') } }),
  },
  'workflow.runs': {
    args: { status: 'succeeded' },
    after: ['workflow.run', 'workflow.execute', 'tools.chain'],
    check: ({ structured }, context) => {
      const ids = (structured['runs'] as Array<{ run_id: string }>).map((run) => run.run_id);
      for (const tool of ['workflow.run', 'workflow.execute', 'tools.chain']) expect(ids).toContain(resultOf(context, tool)['run_id']);
    },
  },
  'workflow.delete': {
    args: { name: 'greet' },
    after: ['workflow.get', 'workflow.list', 'workflow.execute', 'workflow.greet'],
    check: ({ structured }) => expect(structured).toMatchObject({ deleted: true }),
  },
};

/** At most this many CLI processes at once: each loads the whole runtime. */
const CONCURRENCY = 4;

function limiter(limit: number): <T>(work: () => Promise<T>) => Promise<T> {
  let active = 0;
  const waiting: Array<() => void> = [];
  return async (work) => {
    if (active >= limit) await new Promise<void>((resolve) => waiting.push(resolve));
    active += 1;
    try {
      return await work();
    } finally {
      active -= 1;
      waiting.shift()?.();
    }
  };
}

const temp = tempDir('nexus-cli-run-');
const root = path.join(temp.dir, 'root');
const configFile = path.join(temp.dir, 'nexus.json');
const requests: Array<{ method: string; url: string; body: string }> = [];
const results = new Map<string, Record<string, unknown>>();
const runs = new Map<string, Promise<void>>();
const limit = limiter(CONCURRENCY);
let server: Server | undefined;
let baseUrl = '';
let listed: string[] = [];

/** `nexus -c CONFIG --data-dir DATA ARGS`, with the sample variables in its environment. */
function cli(args: readonly string[]): Promise<CliRun> {
  return limit(() =>
    runCli(['-c', configFile, '--data-dir', path.join(temp.dir, 'data'), ...args], {
      cwd: temp.dir,
      env: { HOME: temp.dir, CLI_SAMPLE_VALUE: 'visible', CLI_SAMPLE_TOKEN: 'do-not-show-me' },
    }),
  );
}

function context(): SampleContext {
  return { root, baseUrl, results, requests };
}

/** Runs a tool's sample once (its prerequisites first) and checks the output. */
function runSample(tool: string): Promise<void> {
  let run = runs.get(tool);
  if (run === undefined) {
    run = (async () => {
      const sample = SAMPLES[tool];
      if (sample === undefined) throw new Error(`no sample for ${tool}`);
      await Promise.all((sample.after ?? []).map(async (first) => runSample(first).catch(() => Promise.reject(new Error(`${tool} needs ${first}, which failed`)))));
      const args = typeof sample.args === 'function' ? sample.args(context()) : sample.args;
      const run = await cli(['run', tool, '--args', JSON.stringify(args), '--format', 'json']);
      const described = `nexus run ${tool} exited ${run.code}\nstdout: ${run.stdout}\nstderr: ${run.stderr}`;
      expect(run.code, described).toBe(0);
      const result = JSON.parse(run.stdout) as { isError?: boolean; structuredContent?: Record<string, unknown>; content: Array<{ type: string; text?: string }> };
      expect(result.isError ?? false, described).toBe(false);
      expect(result.structuredContent, `${tool} returned no structuredContent`).toBeTypeOf('object');
      const output = { structured: result.structuredContent ?? {}, text: result.content.map((item) => item.text ?? '').join('\n') };
      sample.check(output, context());
      results.set(tool, output.structured);
    })();
    runs.set(tool, run);
  }
  return run;
}

beforeAll(async () => {
  mkdirSync(path.join(root, 'notes'), { recursive: true });
  writeFileSync(path.join(root, 'notes/readme.txt'), 'line one\nline two\n');
  writeFileSync(path.join(root, 'notes/data.bin'), Buffer.from([0, 1, 2, 255]));
  server = createServer((request, response) => {
    let body = '';
    request.setEncoding('utf8');
    request.on('data', (chunk: string) => (body += chunk));
    request.on('end', () => {
      requests.push({ method: request.method ?? '', url: request.url ?? '', body });
      response.setHeader('content-type', 'application/json');
      response.end(JSON.stringify({ received: body === '' ? null : (JSON.parse(body) as unknown) }));
    });
  });
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  baseUrl = `http://127.0.0.1:${port}`;
  const config = {
    security: {
      allowed_read_paths: [root],
      allowed_write_paths: [root],
      allowed_commands: ['echo'],
      env_allowlist: ['CLI_SAMPLE_VALUE', 'CLI_SAMPLE_TOKEN'],
    },
    // An explicit entry for exactly this local service: the only way past the SSRF guard.
    http_client: { allowed_urls: [`^http://127\\.0\\.0\\.1:${port}/`] },
  };
  writeFileSync(configFile, JSON.stringify(config, null, 2));
  const tools = await cli(['tools', '--format', 'json']);
  expect(tools.code, tools.stderr).toBe(0);
  listed = (JSON.parse(tools.stdout) as Array<{ name: string }>).map((tool) => tool.name);
}, 120_000);

afterAll(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  temp.remove();
});

describe('nexus run: every listed tool', () => {
  it('has a sample for every tool `nexus tools` lists, and every sample names a listed tool', () => {
    expect(listed.length).toBeGreaterThan(40);
    expect(listed.filter((tool) => SAMPLES[tool] === undefined), 'tools without a sample in test/e2e/cli-run.test.ts').toEqual([]);
    expect(Object.keys(SAMPLES).filter((tool) => !listed.includes(tool) && SAMPLES[tool]?.dynamic !== true), 'samples for tools nexus does not list').toEqual([]);
  });

  for (const tool of Object.keys(SAMPLES)) {
    it.concurrent(`nexus run ${tool}`, () => runSample(tool), 300_000);
  }
});

describe('nexus run: text output and failures', () => {
  it('text format prints the text content: the file itself, the bare UUID', async () => {
    const read = await cli(['run', 'fs.read_file', '--args', JSON.stringify({ path: path.join(root, 'notes/readme.txt') })]);
    expect(read).toMatchObject({ code: 0, stdout: 'line one\nline two\n\n' });
    const uuid = await cli(['run', 'uuid.generate']);
    expect(uuid.code).toBe(0);
    expect(uuid.stdout.trim()).toMatch(UUID);
  });

  it('a failing tool prints `nexus: CODE: message` on stderr and exits 1 (--format json: the error result)', async () => {
    const outside = JSON.stringify({ path: '/etc/passwd' });
    const text = await cli(['run', 'fs.read_file', '--args', outside]);
    expect(text).toMatchObject({ code: 1, stdout: '', stderr: 'nexus: PATH_NOT_ALLOWED: Path not allowed for read: /etc/passwd\n' });
    const json = await cli(['run', 'fs.read_file', '--args', outside, '--format', 'json']);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ isError: true, structuredContent: { code: 'PATH_NOT_ALLOWED' } });
    const refused = await cli(['run', 'cmd.exec', '--args', JSON.stringify({ command: 'sh', args: ['-c', 'id'] })]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^nexus: COMMAND_NOT_ALLOWED: /);
  });

  it('bad --args JSON exits 2; an unknown tool or invalid arguments exit 1 with their code', async () => {
    const badJson = await cli(['run', 'echo', '--args', '{"text": ']);
    expect(badJson.code).toBe(2);
    expect(badJson.stderr).toMatch(/^nexus: USAGE_ERROR: --args is not valid JSON/);
    const unknown = await cli(['run', 'no.such.tool', '--args', '{}']);
    expect(unknown).toMatchObject({ code: 1, stderr: 'nexus: TOOL_NOT_FOUND: Unknown tool: no.such.tool\n' });
    const invalid = await cli(['run', 'echo', '--args', '{"text": 42}']);
    expect(invalid.code).toBe(1);
    expect(invalid.stderr).toMatch(/^nexus: INVALID_ARGUMENTS: .*text/);
  });
});
