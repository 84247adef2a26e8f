import { mkdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LoggingMessageNotificationSchema, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { NexusError } from '../../src/errors/index.js';
import { lifelineServer } from '../support/processes.js';
import { tempDir } from '../support/runtime.js';
import { errorOf, nextFinishedRun, runOf, startWorkflowRuntime, type WorkflowHarness } from './support.js';

const NODE = process.execPath;
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function start(config: Parameters<typeof startWorkflowRuntime>[0] = {}, options: Parameters<typeof startWorkflowRuntime>[1] = {}): Promise<WorkflowHarness> {
  const harness = await startWorkflowRuntime(config, options);
  cleanups.push(() => harness.close());
  return harness;
}

/** A local HTTP server; `handle` answers each request and sees how many came before. */
async function httpServer(handle: (count: number, url: string) => { status: number; body: unknown }): Promise<{ port: number; hits: () => number }> {
  let hits = 0;
  const server: Server = createServer((request, response) => {
    hits += 1;
    const answer = handle(hits, request.url ?? '/');
    response.writeHead(answer.status, { 'content-type': 'application/json' });
    response.end(JSON.stringify(answer.body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { port: (server.address() as AddressInfo).port, hits: () => hits };
}

const ITEMS = [
  { id: 1, name: 'alpha' },
  { id: 2, name: 'beta' },
];

describe('the roadmap example', () => {
  it('fetches, queries and stores, each step receiving the previous result implicitly', async () => {
    const api = await httpServer(() => ({ status: 200, body: { data: { items: ITEMS, total: 2 } } }));
    const harness = await start({ http_client: { allowed_hosts: [`127.0.0.1:${api.port}`] } });
    const hasMemory = harness.runtime.tools.list().some((entry) => entry.tool.name === 'memory.store');
    const store = hasMemory ? { tool: 'memory.store', args: { key: 'result' } } : { tool: 'test.capture', args: { note: 'result' } };
    // Exactly the roadmap's steps (with the local URL), sent as workflow.run's arguments.
    const result = await harness.call('workflow.run', {
      steps: [{ tool: 'http.request', args: { url: `http://127.0.0.1:${api.port}/items` } }, { tool: 'json.query', args: { path: 'data.items' } }, store],
    });
    const run = runOf(result);
    expect(run.steps.map((step) => step['status'])).toEqual(['succeeded', 'succeeded', 'succeeded']);
    expect(api.hits()).toBe(1);
    if (hasMemory) {
      const recalled = await harness.call('memory.recall', { key: 'result' });
      expect(recalled.structuredContent).toMatchObject({ found: true, value: ITEMS });
    } else {
      expect(harness.control.captured).toEqual([{ note: 'result', value: ITEMS }]);
    }
  });

  it('pipes the HTTP body (not the whole response) into the query when the store is a capture', async () => {
    const api = await httpServer(() => ({ status: 200, body: { data: { items: ITEMS } } }));
    const harness = await start({ http_client: { allowed_hosts: [`127.0.0.1:${api.port}`] } });
    const run = runOf(
      await harness.call('tools.chain', {
        steps: [{ tool: 'http.request', args: { url: `http://127.0.0.1:${api.port}/items` } }, { tool: 'json.query', args: { path: 'data.items[1].name' } }, { tool: 'test.capture' }],
      }),
    );
    expect(harness.control.captured).toEqual([{ value: 'beta' }]);
    expect(run.output).toEqual({ received: 'beta' });
  });

  it('retries a flaky local endpoint with backoff, treating 5xx as failure through fail_if', async () => {
    const api = await httpServer((count) => (count <= 2 ? { status: 503, body: { error: 'busy' } } : { status: 200, body: { ok: true } }));
    const harness = await start({ http_client: { allowed_hosts: [`127.0.0.1:${api.port}`] } });
    const run = runOf(
      await harness.call('workflow.run', {
        steps: [{ id: 'fetch', tool: 'http.request', args: { url: `http://127.0.0.1:${api.port}/` }, fail_if: 'result.status >= 500', on_error: 'retry', retries: 3, backoff_ms: 20 }],
        output: '{{steps.fetch.body.ok}}',
      }),
    );
    expect(run.output).toBe(true);
    expect(api.hits()).toBe(3);
    expect(run.steps[0]).toMatchObject({ status: 'succeeded', attempts: 3 });
  });

  it('refuses a URL the caller could not fetch directly: the step fails with the policy code', async () => {
    const api = await httpServer(() => ({ status: 200, body: {} }));
    const harness = await start();
    const direct = errorOf((await harness.client.callTool({ name: 'http.request', arguments: { url: `http://127.0.0.1:${api.port}/` } })) as CallToolResult);
    const viaWorkflow = errorOf(await harness.call('workflow.run', { steps: [{ id: 'sneak', tool: 'http.request', args: { url: `http://127.0.0.1:${api.port}/` } }] }));
    expect(viaWorkflow.code).toBe(direct.code);
    expect(viaWorkflow.details['step']).toBe('sneak');
    expect(api.hits()).toBe(0);
  });
});

describe('the realistic example from docs/workflows.md', () => {
  it('fetches issues, filters the labelled ones, stores and writes them in parallel, and notifies', async () => {
    const issues = [
      { title: 'crash on start', labels: [{ name: 'bug' }] },
      { title: 'add dark mode', labels: [{ name: 'feature' }] },
      { title: 'leak in cache', labels: [{ name: 'bug' }, { name: 'perf' }] },
    ];
    const api = await httpServer((_count, url) => (url.startsWith('/repos/') ? { status: 200, body: issues } : { status: 202, body: { ok: true } }));
    const hook = await httpServer(() => ({ status: 202, body: { ok: true } }));
    const temp = tempDir('nexus-wf-');
    cleanups.push(() => temp.remove());
    const reports = realpathSync(temp.dir);
    const harness = await start({
      http_client: { allowed_hosts: [`127.0.0.1:${api.port}`, `127.0.0.1:${hook.port}`] },
      security: { allowed_write_paths: [reports], allowed_read_paths: [reports] },
    });
    const hasMemory = harness.runtime.tools.list().some((entry) => entry.tool.name === 'memory.store');
    const store = hasMemory
      ? { id: 'store', tool: 'memory.store', args: { key: 'digest:{{input.repo}}', value: '{{steps.labelled.value}}', tags: ['digest'] } }
      : { id: 'store', tool: 'test.capture', args: { value: '{{steps.labelled.value}}' } };
    const defined = await harness.call('workflow.define', {
      name: 'issue_digest',
      description: 'Fetches open issues, keeps the labelled ones, stores a digest and posts it to a webhook',
      input_schema: { type: 'object', properties: { repo: { type: 'string' }, label: { type: 'string', default: 'bug' } }, required: ['repo'] },
      steps: [
        { id: 'issues', tool: 'http.request', args: { url: `http://127.0.0.1:${api.port}/repos/{{input.repo}}/issues?state=open` }, fail_if: 'result.status >= 500', on_error: 'retry', retries: 2, timeout_secs: 20 },
        { id: 'labelled', tool: 'json.query', args: { json: '{{steps.issues.body}}', path: "$[?@.labels[?@.name == '{{input.label}}']].title" } },
        {
          id: 'save',
          parallel: [store, { id: 'note', tool: 'fs.write_file', args: { path: path.join(reports, 'digest.json'), content: '{{steps.labelled.value}}' }, on_error: 'continue' }],
        },
        { id: 'notify', tool: 'http.request', if: 'len(steps.labelled.value) > 0', args: { url: `http://127.0.0.1:${hook.port}/digest`, method: 'POST', json: { repo: '{{input.repo}}', count: '{{steps.labelled.count}}', titles: '{{steps.labelled.value}}' } } },
      ],
      output: { repo: '{{input.repo}}', count: '{{steps.labelled.count}}', notified: '{{steps.notify.status}}' },
    });
    expect(defined.isError).toBeFalsy();
    const run = runOf(await harness.call('workflow.issue_digest', { repo: 'acme/widgets' }));
    expect(run.output).toEqual({ repo: 'acme/widgets', count: 2, notified: 202 });
    expect(JSON.parse(readFileSync(path.join(reports, 'digest.json'), 'utf8'))).toEqual(['crash on start', 'leak in cache']);
    expect(hook.hits()).toBe(1);
    if (hasMemory) expect((await harness.call('memory.recall', { key: 'digest:acme/widgets' })).structuredContent).toMatchObject({ value: ['crash on start', 'leak in cache'] });
  });
});

describe('a workflow can do nothing its caller could not', () => {
  it('gets the file sandbox and command allow-list errors a direct call gets', async () => {
    const temp = tempDir('nexus-wf-');
    cleanups.push(() => temp.remove());
    const root = realpathSync(temp.dir);
    mkdirSync(path.join(root, 'allowed'));
    writeFileSync(path.join(root, 'secret.txt'), 'top secret');
    const harness = await start({ security: { allowed_read_paths: [path.join(root, 'allowed')], allowed_commands: ['echo'] } });
    const file = errorOf(await harness.call('workflow.run', { steps: [{ id: 'read', tool: 'fs.read_file', args: { path: path.join(root, 'allowed', '..', 'secret.txt') } }] }));
    expect(file.code).toBe('PATH_NOT_ALLOWED');
    expect(file.details['step']).toBe('read');
    const command = errorOf(await harness.call('workflow.run', { steps: [{ id: 'ok', tool: 'cmd.exec', args: { command: 'echo', args: ['hi'] } }, { id: 'shell', tool: 'cmd.exec', args: { command: 'sh', args: ['-c', 'cat /etc/passwd'] } }] }));
    expect(command.code).toBe('COMMAND_NOT_ALLOWED');
    expect(command.details['step']).toBe('shell');
    expect(JSON.stringify(command)).not.toContain('root:');
  });

  it('runs every step through the executor hooks (where auth scopes and rate limits live)', async () => {
    const harness = await start();
    harness.runtime.executor.addHook({
      before(call) {
        if (call.tool === 'hash.sha256') throw new NexusError('FORBIDDEN', 'hash.sha256 is not allowed for this principal');
      },
    });
    const direct = errorOf((await harness.client.callTool({ name: 'hash.sha256', arguments: { text: 'x' } })) as CallToolResult);
    const nested = errorOf(await harness.call('tools.chain', { steps: [{ tool: 'echo', args: { text: 'x' } }, { tool: 'hash.sha256' }] }));
    expect(direct.code).toBe('FORBIDDEN');
    expect(nested.code).toBe('FORBIDDEN');
    expect(nested.details['step']).toBe('step_1');
  });
});

describe('streaming and cancellation', () => {
  it('sends a progress notification per step, in order, and a log message per step', async () => {
    const harness = await start();
    const logs: Array<Record<string, unknown>> = [];
    harness.client.setNotificationHandler(LoggingMessageNotificationSchema, (notification) => {
      logs.push(notification.params.data as Record<string, unknown>);
    });
    const progress: Array<{ progress: number; total?: number; message?: string }> = [];
    const result = (await harness.client.callTool(
      {
        name: 'workflow.run',
        arguments: {
          name: 'report',
          steps: [
            { id: 'first', tool: 'echo', args: { text: 'a' } },
            { id: 'both', parallel: [{ id: 'left', tool: 'echo', args: { text: 'b' } }, { id: 'right', tool: 'echo', args: { text: 'c' } }] },
            { id: 'last', tool: 'echo', args: { text: 'd' }, if: 'false' },
          ],
        },
      },
      undefined,
      { onprogress: (update) => progress.push(update) },
    )) as CallToolResult;
    runOf(result);
    expect(progress.map((update) => update.message)).toEqual(['step 1 of 3: first (echo)', 'step 2 of 3: both (parallel)', 'step 3 of 3: last (echo)', 'workflow finished']);
    expect(progress.map((update) => update.progress)).toEqual([0, 1, 2, 3]);
    expect(progress.every((update) => update.total === 3)).toBe(true);
    const finished = logs.filter((entry) => entry['event'] === 'step_finished');
    expect(finished.map((entry) => [entry['step'], entry['status']])).toEqual(
      expect.arrayContaining([
        ['first', 'succeeded'],
        ['left', 'succeeded'],
        ['right', 'succeeded'],
        ['both', 'succeeded'],
        ['last', 'skipped'],
      ]),
    );
    expect(finished[0]).toMatchObject({ workflow: 'report', step: 'first', tool: 'echo' });
    expect(finished.at(-1)?.['step']).toBe('last');
  });

  it('cancellation kills the running cmd.exec child (and its grandchild), skips the rest and records "cancelled"', async () => {
    const temp = tempDir('nexus-wf-');
    cleanups.push(() => temp.remove());
    const harness = await start({ security: { allowed_commands: [NODE, 'echo'], allowed_read_paths: [realpathSync(temp.dir)] } });
    const lifeline = await lifelineServer();
    cleanups.push(() => lifeline.close());
    const connect = `require("net").connect(${lifeline.port}, "127.0.0.1"); setInterval(() => {}, 1e9);`;
    const script = `require("child_process").spawn(process.execPath, ["-e", ${JSON.stringify(connect)}], { stdio: "ignore" }); ${connect}`;
    const finished = nextFinishedRun(harness);
    const controller = new AbortController();
    const call = harness.client.callTool(
      {
        name: 'workflow.run',
        arguments: {
          name: 'long',
          steps: [
            { id: 'hang', tool: 'cmd.exec', args: { command: NODE, args: ['-e', script], timeout_secs: 120 } },
            { id: 'after', tool: 'cmd.exec', args: { command: 'echo', args: ['never'] } },
          ],
        },
      },
      undefined,
      { signal: controller.signal, timeout: 120_000 },
    );
    await lifeline.connected(2);
    controller.abort();
    await expect(call).rejects.toThrow();
    await lifeline.allClosed();
    const record = await finished;
    expect(record.status).toBe('cancelled');
    expect(record.steps.map((step) => [step.id, step.status])).toEqual([
      ['hang', 'cancelled'],
      ['after', 'skipped'],
    ]);
    const stored = await harness.call('workflow.run_get', { run_id: record.id });
    expect(stored.structuredContent).toMatchObject({ status: 'cancelled', error: { code: 'CANCELLED' } });
  });
});
