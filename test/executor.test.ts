import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import {
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  LoggingMessageNotificationSchema,
  ResourceUpdatedNotificationSchema,
  type Progress,
} from '@modelcontextprotocol/sdk/types.js';
import type { ToolCallRecord } from '../src/tools/executor.js';
import { defineTool, type Tool } from '../src/tools/types.js';
import { startTestRuntime, type TestRuntime } from './support/runtime.js';
import { deferred, testTool } from './support/tools.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function harness(...args: Parameters<typeof startTestRuntime>): Promise<TestRuntime> {
  const started = await startTestRuntime(...args);
  cleanups.push(() => started.close());
  return started;
}

const HINTS = { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false };

function errorOf(result: Awaited<ReturnType<Client['callTool']>>): { code: string; message: string; details: Record<string, unknown> } {
  expect(result.isError).toBe(true);
  return result.structuredContent as { code: string; message: string; details: Record<string, unknown> };
}

async function expectStillServing(client: Client): Promise<void> {
  const result = await client.callTool({ name: 'echo', arguments: { text: 'still here' } });
  expect(result.structuredContent).toEqual({ text: 'still here' });
}

describe('cancellation', () => {
  it('a client abort sends notifications/cancelled and the tool sees ctx.signal fire', async () => {
    const { client, runtime } = await harness();
    const started = deferred();
    const observed = deferred<unknown>();
    runtime.tools.register(
      testTool('test.wait_for_abort', (context) => {
        started.resolve();
        return new Promise((_resolve, reject) => {
          context.signal.addEventListener('abort', () => {
            observed.resolve(context.signal.reason);
            reject(new Error('aborted'));
          });
        });
      }),
    );
    const finished = deferred<ToolCallRecord>();
    runtime.executor.addHook({ after: (record) => finished.resolve(record) });
    const controller = new AbortController();
    const call = client.callTool({ name: 'test.wait_for_abort', arguments: {} }, undefined, { signal: controller.signal });
    await started.promise;
    controller.abort('user pressed stop');
    await expect(call).rejects.toThrow('user pressed stop');
    await observed.promise;
    expect(await finished.promise).toMatchObject({ tool: 'test.wait_for_abort', outcome: 'error', errorCode: 'CANCELLED' });
    expect(runtime.executor.inFlightCount).toBe(0);
    await expectStillServing(client);
  });
});

describe('progress', () => {
  it('delivers progress notifications in order and drops ones that would go backwards', async () => {
    const { client, runtime } = await harness();
    runtime.tools.register(
      testTool('test.progress', async (context) => {
        for (const progress of [1, 2, 3]) await context.progress({ progress, total: 4, message: `step ${progress}` });
        await context.progress({ progress: 2, total: 4 }); // would break monotonicity
        await context.progress({ progress: 4, total: 4, message: 'done' });
        return { data: { wantsProgress: context.client.wantsProgress } };
      }),
    );
    const seen: Progress[] = [];
    const result = await client.callTool({ name: 'test.progress', arguments: {} }, undefined, { onprogress: (progress) => seen.push(progress) });
    expect(result.structuredContent).toEqual({ wantsProgress: true });
    expect(seen.map((progress) => progress.progress)).toEqual([1, 2, 3, 4]);
    expect(seen[0]).toMatchObject({ total: 4, message: 'step 1' });
    expect(seen.at(-1)).toMatchObject({ message: 'done' });
  });

  it('works when the tool destructures its context (progress, log, signal, logger, callTool)', async () => {
    const { client, runtime } = await harness();
    runtime.tools.register(
      testTool('test.destructured', async ({ progress, log, signal, logger, callTool, traceId, depth }) => {
        await progress({ progress: 1, total: 1 });
        await log('info', 'from a destructured log');
        logger.info({ step: 1 }, 'destructured logger');
        const nested = await callTool('echo', { text: 'nested' });
        return { data: { aborted: signal.aborted, nested: nested.structuredContent, traced: traceId.length > 0, depth } };
      }),
    );
    const seen: Progress[] = [];
    const result = await client.callTool({ name: 'test.destructured', arguments: {} }, undefined, { onprogress: (progress) => seen.push(progress) });
    expect(result.structuredContent).toEqual({ aborted: false, nested: { text: 'nested' }, traced: true, depth: 0 });
    expect(seen.map((progress) => progress.progress)).toEqual([1]);
  });

  it('without a progress token the tool knows nobody listens', async () => {
    const { client, runtime } = await harness();
    runtime.tools.register(testTool('test.progress', async (context) => ({ data: { wantsProgress: context.client.wantsProgress } })));
    const result = await client.callTool({ name: 'test.progress', arguments: {} });
    expect(result.structuredContent).toEqual({ wantsProgress: false });
  });
});

describe('timeouts', () => {
  it('a tool that never resolves gets TOOL_TIMEOUT at its own limit, and the server keeps serving', async () => {
    const { client, runtime } = await harness();
    const aborted = deferred<boolean>();
    runtime.tools.register(
      testTool(
        'test.hang',
        (context) => {
          context.signal.addEventListener('abort', () => aborted.resolve(true));
          return new Promise(() => undefined); // ignores its signal on purpose
        },
        { timeoutSecs: 0.2 },
      ),
    );
    const error = errorOf(await client.callTool({ name: 'test.hang', arguments: {} }));
    expect(error.code).toBe('TOOL_TIMEOUT');
    expect(error.details).toMatchObject({ tool: 'test.hang', timeoutSecs: 0.2 });
    expect(typeof error.details['traceId']).toBe('string');
    expect(await aborted.promise).toBe(true); // the tool's signal was aborted too
    await expectStillServing(client);
  });

  it('security.tool_timeout_secs is the default limit', async () => {
    const { client, runtime } = await harness({ security: { tool_timeout_secs: 0.2 } });
    runtime.tools.register(testTool('test.hang', () => new Promise(() => undefined)));
    expect(errorOf(await client.callTool({ name: 'test.hang', arguments: {} })).details).toMatchObject({ timeoutSecs: 0.2 });
  });
});

describe('tool name styles', () => {
  const greet = defineTool({
    name: 'demo.greet',
    title: 'Greet',
    description: 'Greets someone',
    inputSchema: z.strictObject({ who: z.string() }),
    outputSchema: z.object({ greeting: z.string() }),
    annotations: HINTS,
    async execute({ who }) {
      return { data: { greeting: `hello ${who}` } };
    },
  }) as Tool;

  it('dotted style lists dotted names; both forms resolve', async () => {
    const { client, runtime } = await harness();
    runtime.tools.register(greet);
    const names = (await client.listTools()).tools.map((tool) => tool.name);
    expect(names).toContain('demo.greet');
    expect(names).not.toContain('demo_greet');
    for (const name of ['demo.greet', 'demo_greet']) {
      expect((await client.callTool({ name, arguments: { who: name } })).structuredContent).toEqual({ greeting: `hello ${name}` });
    }
  });

  it('underscore style lists underscore names; both forms resolve', async () => {
    const { client, runtime } = await harness({ tool_names: 'underscore' });
    runtime.tools.register(greet);
    const names = (await client.listTools()).tools.map((tool) => tool.name);
    expect(names).toContain('demo_greet');
    expect(names.some((name) => name.includes('.'))).toBe(false);
    for (const name of ['demo.greet', 'demo_greet']) {
      expect((await client.callTool({ name, arguments: { who: 'x' } })).structuredContent).toEqual({ greeting: 'hello x' });
    }
  });

  it('refuses a tool whose underscore form collides with another tool', async () => {
    const { runtime } = await harness({ tool_names: 'underscore' });
    runtime.tools.register(greet);
    expect(() => runtime.tools.register({ ...greet, name: 'demo_greet' })).toThrow(expect.objectContaining({ code: 'DUPLICATE_TOOL' }));
  });
});

describe('enable and disable by glob', () => {
  it('tools.disabled hides matching tools from list and call', async () => {
    const { client } = await harness({ tools: { disabled: ['get_*'] } });
    const names = (await client.listTools()).tools.map((tool) => tool.name);
    expect(names).toContain('echo');
    expect(names).not.toContain('get_time');
    await expect(client.callTool({ name: 'get_time', arguments: {} })).rejects.toMatchObject({ code: -32602 });
    await expectStillServing(client);
  });

  it('tools.enabled keeps only matching tools', async () => {
    const { client } = await harness({ tools: { enabled: ['echo'] } });
    expect((await client.listTools()).tools.map((tool) => tool.name)).toEqual(['echo']);
  });

  it('a glob written in underscore form disables the dotted tool too', async () => {
    const { client, runtime } = await harness({ tool_names: 'underscore', tools: { disabled: ['demo_*'] } });
    runtime.tools.register(testTool('demo.secret', async () => ({ data: {} })));
    expect((await client.listTools()).tools.map((tool) => tool.name)).not.toContain('demo_secret');
    await expect(client.callTool({ name: 'demo.secret', arguments: {} })).rejects.toMatchObject({ code: -32602 });
  });
});

describe('pagination', () => {
  it('walks tools/list one page at a time with page_size 1', async () => {
    const { client, runtime } = await harness({ page_size: 1 });
    runtime.tools.register(testTool('a.first', async () => ({ data: {} })));
    runtime.tools.register(testTool('z.last', async () => ({ data: {} })));
    const names: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await client.listTools(cursor === undefined ? {} : { cursor });
      expect(page.tools).toHaveLength(1);
      names.push(...page.tools.map((tool) => tool.name));
      cursor = page.nextCursor;
      pages += 1;
    } while (cursor !== undefined && pages < 100);
    expect(names).toEqual(runtime.tools.list().map((entry) => entry.tool.name));
    expect(names).toContain('a.first');
    expect(names.at(-1)).toBe('z.last');
  });

  it('a forged cursor or one from another list is -32602', async () => {
    const { client, runtime } = await harness({ page_size: 1 });
    runtime.prompts.add({ name: 'p1', get: async () => ({ messages: [] }) });
    runtime.prompts.add({ name: 'p2', get: async () => ({ messages: [] }) });
    await expect(client.listTools({ cursor: 'not-a-cursor' })).rejects.toMatchObject({ code: -32602 });
    const promptCursor = (await client.listPrompts()).nextCursor;
    expect(promptCursor).toBeDefined();
    await expect(client.listTools({ cursor: promptCursor })).rejects.toMatchObject({ code: -32602, data: { code: 'INVALID_CURSOR' } });
    expect((await client.listPrompts({ cursor: promptCursor })).prompts).toHaveLength(1); // the cursor is fine for its own list
  });
});

describe('logging', () => {
  it('logging/setLevel filters notifications/message from tools', async () => {
    const messages: Array<{ level: string; data: unknown }> = [];
    const { client, runtime } = await harness({}, { configureClient: (c) => c.setNotificationHandler(LoggingMessageNotificationSchema, (n) => void messages.push(n.params)) });
    runtime.tools.register(
      testTool('test.chatty', async (context) => {
        for (const level of ['debug', 'info', 'warning', 'error'] as const) await context.log(level, `${level} line`);
        return { data: {} };
      }),
    );
    await client.setLoggingLevel('warning');
    await client.callTool({ name: 'test.chatty', arguments: {} });
    await client.ping(); // notifications precede the ping's response on the same ordered channel
    expect(messages.map((message) => message.level)).toEqual(['warning', 'error']);
    expect(messages[0]).toMatchObject({ data: 'warning line', logger: 'test.chatty' });

    messages.length = 0;
    await client.setLoggingLevel('debug');
    await client.callTool({ name: 'test.chatty', arguments: {} });
    await client.ping();
    expect(messages.map((message) => message.level)).toEqual(['debug', 'info', 'warning', 'error']);
  });
});

describe('sampling and elicitation through the tool context', () => {
  const askingTool = testTool('test.ask', async (context) => {
    const sampled = await context.sample({ messages: [{ role: 'user', content: { type: 'text', text: 'What is 2+2?' } }], maxTokens: 10 });
    const elicited = await context.elicit({ message: 'Your name?', requestedSchema: { type: 'object', properties: { name: { type: 'string' } }, required: ['name'] } });
    return { data: { answer: sampled.content.type === 'text' ? sampled.content.text : '', action: elicited.action, name: elicited.content?.['name'] } };
  });

  it('reach a client that declared the capabilities', async () => {
    const asked: string[] = [];
    const { client, runtime } = await harness(
      {},
      {
        capabilities: { sampling: {}, elicitation: {} },
        configureClient: (c) => {
          c.setRequestHandler(CreateMessageRequestSchema, async (request) => {
            const first = request.params.messages[0]?.content;
            asked.push(first && 'text' in first ? String(first.text) : '');
            return { role: 'assistant', model: 'test-model', content: { type: 'text', text: '4' } };
          });
          c.setRequestHandler(ElicitRequestSchema, async (request) => {
            asked.push(request.params.message);
            return { action: 'accept', content: { name: 'Ada' } };
          });
        },
      },
    );
    runtime.tools.register(askingTool);
    const result = await client.callTool({ name: 'test.ask', arguments: {} });
    expect(result.structuredContent).toEqual({ answer: '4', action: 'accept', name: 'Ada' });
    expect(asked).toEqual(['What is 2+2?', 'Your name?']);
  });

  it('are refused with CAPABILITY_UNSUPPORTED for a client without them', async () => {
    const { client, runtime } = await harness();
    runtime.tools.register(askingTool);
    const error = errorOf(await client.callTool({ name: 'test.ask', arguments: {} }));
    expect(error.code).toBe('CAPABILITY_UNSUPPORTED');
    expect(error.details).toMatchObject({ capability: 'sampling' });
  });
});

describe('resources', () => {
  async function withResources(): Promise<TestRuntime> {
    const started = await harness({}, {});
    started.runtime.resources.addStatic({ uri: 'test://motd', name: 'motd', mimeType: 'text/plain', read: async () => [{ uri: 'test://motd', text: 'be kind' }] });
    started.runtime.resources.addTemplate({
      uriTemplate: 'test://users/{id}',
      name: 'user',
      mimeType: 'application/json',
      complete: { id: (value) => ['ada', 'alan', 'grace'].filter((id) => id.startsWith(value)) },
      list: async () => [{ uri: 'test://users/ada', name: 'ada' }],
      read: async (uri, variables) => [{ uri, text: JSON.stringify({ id: variables['id'] }) }],
    });
    return started;
  }

  it('lists, lists templates and reads static and templated resources', async () => {
    const { client } = await withResources();
    // Built-in resources (memory, …) are listed too; these tests look at their own.
    const ours = (uri: string): boolean => uri.startsWith('test://');
    expect((await client.listResources()).resources.map((resource) => resource.uri).filter(ours)).toEqual(['test://motd', 'test://users/ada']);
    expect((await client.listResourceTemplates()).resourceTemplates.filter((template) => ours(template.uriTemplate))).toEqual([
      { uriTemplate: 'test://users/{id}', name: 'user', mimeType: 'application/json' },
    ]);
    expect((await client.readResource({ uri: 'test://motd' })).contents).toEqual([{ uri: 'test://motd', text: 'be kind' }]);
    expect((await client.readResource({ uri: 'test://users/grace' })).contents).toEqual([{ uri: 'test://users/grace', text: '{"id":"grace"}' }]);
    await expect(client.readResource({ uri: 'test://nowhere' })).rejects.toMatchObject({ code: -32002, data: { code: 'RESOURCE_NOT_FOUND' } });
  });

  it('subscribe delivers notifications/resources/updated only for subscribed URIs', async () => {
    const updates: string[] = [];
    const arrived = deferred();
    const started = await harness(
      {},
      {
        configureClient: (c) =>
          c.setNotificationHandler(ResourceUpdatedNotificationSchema, (notification) => {
            updates.push(notification.params.uri);
            if (notification.params.uri === 'test://motd') arrived.resolve();
          }),
      },
    );
    started.runtime.resources.addStatic({ uri: 'test://motd', name: 'motd', read: async () => [{ uri: 'test://motd', text: 'x' }] });
    await started.client.subscribeResource({ uri: 'test://motd' });
    started.runtime.notifyResourceUpdated('test://other');
    started.runtime.notifyResourceUpdated('test://motd');
    await arrived.promise;
    expect(updates).toEqual(['test://motd']);

    await started.client.unsubscribeResource({ uri: 'test://motd' });
    started.runtime.notifyResourceUpdated('test://motd');
    await started.client.ping();
    expect(updates).toEqual(['test://motd']);
  });

  it('completes template variables', async () => {
    const { client } = await withResources();
    const { completion } = await client.complete({ ref: { type: 'ref/resource', uri: 'test://users/{id}' }, argument: { name: 'id', value: 'a' } });
    expect(completion.values).toEqual(['ada', 'alan']);
  });
});

describe('prompts and completion', () => {
  async function withPrompt(): Promise<TestRuntime> {
    const started = await harness();
    started.runtime.prompts.add({
      name: 'review',
      description: 'Review code',
      arguments: [
        { name: 'language', required: true },
        { name: 'style', required: false },
      ],
      complete: { language: (value) => ['python', 'perl', 'php', 'rust'].filter((language) => language.startsWith(value)) },
      get: async (args) => ({ messages: [{ role: 'user', content: { type: 'text', text: `Review this ${args['language']} code` } }] }),
    });
    return started;
  }

  it('gets a prompt with its arguments', async () => {
    const { client } = await withPrompt();
    const prompt = await client.getPrompt({ name: 'review', arguments: { language: 'rust' } });
    expect(prompt.messages[0]?.content).toEqual({ type: 'text', text: 'Review this rust code' });
  });

  it('a missing required argument is -32602 naming it; an unknown prompt too', async () => {
    const { client } = await withPrompt();
    const missing = client.getPrompt({ name: 'review', arguments: { style: 'terse' } });
    await expect(missing).rejects.toMatchObject({ code: -32602, data: { code: 'INVALID_ARGUMENTS', problems: [{ field: 'language', message: 'required' }] } });
    await expect(missing).rejects.toThrow(/language/);
    await expect(client.getPrompt({ name: 'nope' })).rejects.toMatchObject({ code: -32602, data: { code: 'PROMPT_NOT_FOUND' } });
  });

  it('completes prompt arguments; an argument without a completer gets no values', async () => {
    const { client } = await withPrompt();
    const { completion } = await client.complete({ ref: { type: 'ref/prompt', name: 'review' }, argument: { name: 'language', value: 'p' } });
    expect(completion).toEqual({ values: ['python', 'perl', 'php'], total: 3, hasMore: false });
    const none = await client.complete({ ref: { type: 'ref/prompt', name: 'review' }, argument: { name: 'style', value: 't' } });
    expect(none.completion.values).toEqual([]);
  });
});
