import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { ToolListChangedNotificationSchema, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { localPrincipal } from '../../src/auth/principal.js';
import { parseConfig } from '../../src/config/index.js';
import { createSilentLogger } from '../../src/logging/index.js';
import { createRuntime } from '../../src/runtime/runtime.js';
import { openDatabase, resolveDatabasePath } from '../../src/storage/sqlite/database.js';
import { WORKFLOW_MIGRATIONS } from '../../src/storage/sqlite/migrations/workflows.js';
import { SqliteRunStore } from '../../src/workflows/sqlite-store.js';
import { tempDir } from '../support/runtime.js';
import { errorOf, runOf, startWorkflowRuntime, TEST_TOOLS_PLUGIN, ToolControl, type WorkflowHarness } from './support.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function start(config: Parameters<typeof startWorkflowRuntime>[0] = {}): Promise<WorkflowHarness> {
  const harness = await startWorkflowRuntime(config);
  cleanups.push(() => harness.close());
  return harness;
}

const GREET = {
  name: 'greet',
  description: 'Greets someone',
  input_schema: { type: 'object', properties: { who: { type: 'string' }, times: { type: 'integer', default: 1 } }, required: ['who'], additionalProperties: false },
  steps: [{ id: 'say', tool: 'echo', args: { text: 'hello {{input.who}} x{{input.times}}' } }],
  output: { greeting: '{{steps.say.text}}' },
};

describe('saved workflows', () => {
  it('exposes a defined workflow as its own tool with its input schema, announced with list_changed', async () => {
    const harness = await start();
    let changes = 0;
    harness.client.setNotificationHandler(ToolListChangedNotificationSchema, () => {
      changes += 1;
    });
    const defined = await harness.call('workflow.define', GREET);
    expect(defined.structuredContent).toMatchObject({ name: 'greet', version: 1, tool: 'workflow.greet', versions: [1] });
    const { tools } = await harness.client.listTools();
    const tool = tools.find((entry) => entry.name === 'workflow.greet');
    expect(tool?.inputSchema).toMatchObject({ properties: { who: { type: 'string' } }, required: ['who'] });
    expect(tool?.description).toContain('Greets someone');
    // echo is read-only and idempotent, so the workflow is too.
    expect(tool?.annotations).toMatchObject({ readOnlyHint: true, idempotentHint: true, destructiveHint: false, openWorldHint: false });
    expect(changes).toBeGreaterThanOrEqual(1);

    const run = runOf(await harness.call('workflow.greet', { who: 'Ada' }));
    expect(run).toMatchObject({ workflow: 'greet', version: 1, output: { greeting: 'hello Ada x1' } });
    const invalid = errorOf(await harness.call('workflow.greet', { who: 7 }));
    expect(invalid.code).toBe('INVALID_ARGUMENTS');
    const viaExecute = runOf(await harness.call('workflow.execute', { name: 'greet', input: { who: 'Bob', times: 2 } }));
    expect(viaExecute.output).toEqual({ greeting: 'hello Bob x2' });
    const badInput = errorOf(await harness.call('workflow.execute', { name: 'greet', input: { whom: 'x' } }));
    expect(badInput.code).toBe('INVALID_ARGUMENTS');
  });

  it('versions redefinitions, keeps old versions, and removes the tool on delete', async () => {
    const harness = await start();
    await harness.call('workflow.define', GREET);
    const second = await harness.call('workflow.define', { ...GREET, steps: [{ id: 'say', tool: 'echo', args: { text: 'hi {{input.who}}' } }] });
    expect(second.structuredContent).toMatchObject({ version: 2, versions: [1, 2] });
    expect(runOf(await harness.call('workflow.greet', { who: 'Ada' })).output).toEqual({ greeting: 'hi Ada' });
    const old = await harness.call('workflow.get', { name: 'greet', version: 1 });
    expect(old.structuredContent).toMatchObject({ version: 1, versions: [1, 2], steps: GREET.steps });
    expect(runOf(await harness.call('workflow.execute', { name: 'greet', version: 1, input: { who: 'Ada' } })).output).toEqual({ greeting: 'hello Ada x1' });
    const listed = await harness.call('workflow.list', {});
    expect(listed.structuredContent).toMatchObject({ count: 1, workflows: [{ name: 'greet', version: 2, tool: 'workflow.greet' }] });

    const changed = new Promise<void>((resolve) => harness.client.setNotificationHandler(ToolListChangedNotificationSchema, () => resolve()));
    expect((await harness.call('workflow.delete', { name: 'greet' })).structuredContent).toEqual({ name: 'greet', deleted: true });
    await changed;
    expect((await harness.client.listTools()).tools.some((entry) => entry.name === 'workflow.greet')).toBe(false);
    expect(errorOf(await harness.call('workflow.execute', { name: 'greet' })).code).toBe('WORKFLOW_NOT_FOUND');
    expect(errorOf(await harness.call('workflow.delete', { name: 'greet' })).code).toBe('WORKFLOW_NOT_FOUND');
  });

  it('validates a definition completely before saving it', async () => {
    const harness = await start();
    const error = errorOf(await harness.call('workflow.define', { name: 'broken', steps: [{ tool: 'nope' }, { tool: 'echo', args: { text: '{{steps.x.y}}' } }] }));
    expect(error.code).toBe('WORKFLOW_INVALID');
    expect((error.details['problems'] as Array<{ path: string }>).map((problem) => problem.path)).toEqual(['$.steps[0].tool', '$.steps[1].args.text']);
    expect(errorOf(await harness.call('workflow.define', { name: 'run', steps: [{ tool: 'echo', args: { text: 'x' } }] })).code).toBe('INVALID_ARGUMENTS');
    expect(errorOf(await harness.call('workflow.define', { name: 'bad_schema', input_schema: { type: 'string' }, steps: [{ tool: 'echo', args: { text: 'x' } }] })).code).toBe('WORKFLOW_INVALID');
    const clash = errorOf(await harness.call('workflow.define', { name: 'plugin_owned', steps: [{ tool: 'echo', args: { text: 'x' } }] }));
    expect(clash.code).toBe('WORKFLOW_INVALID');
    expect(clash.message).toContain('workflow.plugin_owned');
    expect((await harness.call('workflow.plugin_owned', {})).structuredContent).toEqual({ owner: 'plugin' });
    expect((await harness.call('workflow.list', {})).structuredContent).toEqual({ count: 0, workflows: [] });
  });

  it('refuses a workflow that calls itself, directly, through another, or through a computed name', async () => {
    const harness = await start();
    const direct = errorOf(await harness.call('workflow.define', { name: 'loop', steps: [{ tool: 'workflow.loop' }] }));
    expect(direct.code).toBe('WORKFLOW_CYCLE');

    await harness.call('workflow.define', { name: 'a', steps: [{ tool: 'echo', args: { text: 'a' } }] });
    await harness.call('workflow.define', { name: 'b', steps: [{ tool: 'workflow.a' }] });
    const mutual = errorOf(await harness.call('workflow.define', { name: 'a', steps: [{ tool: 'workflow.b' }] }));
    expect(mutual.code).toBe('WORKFLOW_CYCLE');
    expect(mutual.message).toContain('a → b → a');

    // A name computed at run time cannot be checked statically; the call chain catches it.
    await harness.call('workflow.define', { name: 'dispatch', steps: [{ id: 'inner', tool: 'workflow.execute', args: { name: '{{input.target}}' } }] });
    const runtime = errorOf(await harness.call('workflow.execute', { name: 'dispatch', input: { target: 'dispatch' } }));
    expect(runtime.code).toBe('WORKFLOW_CYCLE');
    expect(runtime.details['step']).toBe('inner');
    expect(runOf(await harness.call('workflow.execute', { name: 'dispatch', input: { target: 'a' } })).output).toMatchObject({ workflow: 'a', output: { text: 'a' } });
  });

  it('limits how deep workflows nest', async () => {
    const harness = await start({ workflows: { max_depth: 2 } });
    const inner = { tool: 'workflow.run', args: { steps: [{ tool: 'echo', args: { text: 'deep' } }] } };
    expect(runOf(await harness.call('workflow.run', { steps: [inner] })).output).toMatchObject({ output: { text: 'deep' } });
    const tooDeep = errorOf(await harness.call('workflow.run', { steps: [{ tool: 'workflow.run', args: { steps: [inner] } }] }));
    expect(tooDeep.code).toBe('WORKFLOW_LIMIT_EXCEEDED');
    expect(tooDeep.details).toMatchObject({ limit: 'max_depth', max: 2 });
  });

  it('lets workflows.max_depth above the executor default be the limit that answers', async () => {
    const harness = await start({ workflows: { max_depth: 12 } });
    let nested: Record<string, unknown> = { tool: 'echo', args: { text: 'bottom' } };
    for (let level = 0; level < 10; level += 1) nested = { tool: 'workflow.run', args: { steps: [nested] } };
    expect(runOf(await harness.call('workflow.run', { steps: [nested] })).steps[0]).toMatchObject({ status: 'succeeded' });
    // 11 levels ran (the echo at call depth 11, past the executor's default 8); 13 is one too many.
    const twoMore = { tool: 'workflow.run', args: { steps: [{ tool: 'workflow.run', args: { steps: [nested] } }] } };
    const tooDeep = errorOf(await harness.call('workflow.run', { steps: [twoMore] }));
    expect(tooDeep.code).toBe('WORKFLOW_LIMIT_EXCEEDED');
  });
});

describe('tenants', () => {
  it("hides the operator's workflow tools from another tenant, which keeps its own workflows and runs", async () => {
    const harness = await start();
    await harness.call('workflow.define', GREET);
    runOf(await harness.call('workflow.greet', { who: 'Ada' }));
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    await harness.runtime.connect(serverSide, { transport: 'memory', principalFor: () => localPrincipal('acme') });
    const other = new Client({ name: 'other-tenant', version: '1.0.0' });
    await other.connect(clientSide);
    cleanups.push(() => other.close());
    const call = async (name: string, args: Record<string, unknown>): Promise<CallToolResult> => (await other.callTool({ name, arguments: args })) as CallToolResult;

    expect((await other.listTools()).tools.some((tool) => tool.name === 'workflow.greet')).toBe(false);
    await expect(other.callTool({ name: 'workflow.greet', arguments: { who: 'x' } })).rejects.toMatchObject({ code: -32602 });
    expect(errorOf(await call('workflow.execute', { name: 'greet', input: { who: 'x' } })).code).toBe('WORKFLOW_NOT_FOUND');
    expect((await call('workflow.list', {})).structuredContent).toEqual({ count: 0, workflows: [] });
    expect(((await call('workflow.runs', {})).structuredContent as { runs: unknown[] }).runs).toEqual([]);

    await call('workflow.define', { ...GREET, steps: [{ id: 'say', tool: 'echo', args: { text: 'acme greets {{input.who}}' } }] });
    expect(runOf(await call('workflow.execute', { name: 'greet', input: { who: 'Bob' } })).output).toEqual({ greeting: 'acme greets Bob' });
    // The operator's own definition is untouched.
    expect(runOf(await harness.call('workflow.greet', { who: 'Ada' })).output).toEqual({ greeting: 'hello Ada x1' });
  });
});

describe('run records', () => {
  it('survive a restart and can be filtered and paged', async () => {
    const data = tempDir('nexus-wf-data-');
    cleanups.push(() => data.remove());
    const first = await start({ data_dir: data.dir });
    await first.call('workflow.define', GREET);
    runOf(await first.call('workflow.greet', { who: 'one' }));
    errorOf(await first.call('workflow.run', { name: 'failing', steps: [{ id: 'boom', tool: 'test.flaky', args: { key: 'x', failures: 1 } }] }));
    runOf(await first.call('workflow.greet', { who: 'two' }));
    await first.close();
    cleanups.pop();

    const second = await start({ data_dir: data.dir });
    expect((await second.client.listTools()).tools.some((entry) => entry.name === 'workflow.greet')).toBe(true);
    const all = (await second.call('workflow.runs', {})).structuredContent as { runs: Array<Record<string, unknown>> };
    expect(all.runs.map((run) => [run['workflow'], run['status']])).toEqual([
      ['greet', 'succeeded'],
      ['failing', 'failed'],
      ['greet', 'succeeded'],
    ]);
    const failed = (await second.call('workflow.runs', { status: 'failed' })).structuredContent as { runs: Array<Record<string, unknown>> };
    expect(failed.runs).toHaveLength(1);
    expect(failed.runs[0]).toMatchObject({ workflow: 'failing', version: null, error: { code: 'TOOL_EXECUTION_FAILED' } });

    const page1 = (await second.call('workflow.runs', { workflow: 'greet', limit: 1 })).structuredContent as { runs: Array<{ run_id: string }>; next_cursor?: string };
    expect(page1.runs).toHaveLength(1);
    const page2 = (await second.call('workflow.runs', { workflow: 'greet', limit: 1, cursor: page1.next_cursor })).structuredContent as { runs: Array<{ run_id: string }>; next_cursor?: string };
    expect(page2.runs).toHaveLength(1);
    expect(page2.next_cursor).toBeUndefined();
    const detail = await second.call('workflow.run_get', { run_id: page2.runs[0]!.run_id });
    expect(detail.structuredContent).toMatchObject({ workflow: 'greet', version: 1, status: 'succeeded', input: { who: 'one', times: 1 }, output: { greeting: 'hello one x1' } });
    expect(errorOf(await second.call('workflow.runs', { cursor: 'forged' })).code).toBe('INVALID_CURSOR');
    expect(errorOf(await second.call('workflow.run_get', { run_id: 'nope' })).code).toBe('WORKFLOW_RUN_NOT_FOUND');
  });

  it('marks a run left "running" by a process that died as failed at the next start, and leaves a live one alone', async () => {
    const data = tempDir('nexus-wf-data-');
    cleanups.push(() => data.remove());
    // A run owned by a process that no longer exists, as a crash (kill -9) leaves it.
    const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
    await once(child, 'exit');
    const database = openDatabase({ path: resolveDatabasePath(parseConfig({ data_dir: data.dir })) });
    database.migrate('workflows', WORKFLOW_MIGRATIONS);
    const dead = new SqliteRunStore(database, `${(await import('node:os')).hostname()}/${child.pid}/crashed`);
    await dead.create({
      id: 'crashed-run',
      tenant: 'default',
      workflow: 'nightly',
      version: null,
      principal: 'local',
      status: 'running',
      input: {},
      steps: [{ id: 'fetch', kind: 'tool', tool: 'http.request', status: 'running', attempts: 1 }],
      startedAt: new Date().toISOString(),
    });
    database.close();

    // A run in progress in a live runtime on the same database.
    const live = await start({ data_dir: data.dir });
    const pending = live.call('workflow.run', { name: 'live', steps: [{ tool: 'test.gate', args: { name: 'hold' } }] });
    await live.control.whenStarted(1);

    const control = new ToolControl();
    const restarted = await createRuntime(parseConfig({ data_dir: data.dir, plugins: [{ module: TEST_TOOLS_PLUGIN, config: control }] }), { logger: createSilentLogger() });
    cleanups.push(() => restarted.close());
    const crashed = restarted.workflows.runs.get('default', 'crashed-run');
    expect(crashed).toMatchObject({ status: 'failed', error: { code: 'WORKFLOW_INTERRUPTED' } });
    expect(crashed?.steps[0]).toMatchObject({ status: 'failed', error: { code: 'WORKFLOW_INTERRUPTED' } });
    expect(crashed?.finishedAt).toBeDefined();
    const stillRunning = restarted.workflows.runs.list({ tenant: 'default', status: 'running', limit: 10 });
    expect(stillRunning.runs.map((run) => run.workflow)).toEqual(['live']);

    live.control.release('hold');
    runOf(await pending);
  });

  it('a graceful shutdown cancels a running workflow and still records it before the database closes', async () => {
    const data = tempDir('nexus-wf-data-');
    cleanups.push(() => data.remove());
    const first = await startWorkflowRuntime({ data_dir: data.dir, shutdown_grace_secs: 0 });
    const pending = first.call('workflow.run', { name: 'in-flight', steps: [{ id: 'wait', tool: 'test.gate', args: { name: 'hold' } }, { id: 'next', tool: 'echo', args: { text: 'x' } }] });
    pending.catch(() => undefined);
    await first.control.whenStarted(1);
    await first.runtime.close();
    expect(first.control.aborted).toEqual(['hold']);
    await first.close();

    const second = await start({ data_dir: data.dir });
    const [record] = second.runtime.workflows.runs.list({ tenant: 'default', limit: 10 }).runs;
    expect(record).toMatchObject({ workflow: 'in-flight', status: 'cancelled', error: { code: 'SHUTTING_DOWN' } });
    expect(record?.steps.map((step) => [step.id, step.status])).toEqual([
      ['wait', 'cancelled'],
      ['next', 'skipped'],
    ]);
  });

  it('deletes finished runs past workflows.run_retention_days and keeps running ones', async () => {
    const harness = await start({ workflows: { run_retention_days: 30 } });
    runOf(await harness.call('workflow.run', { steps: [{ tool: 'echo', args: { text: 'old' } }] }));
    const pending = harness.call('workflow.run', { name: 'still-running', steps: [{ tool: 'test.gate', args: { name: 'hold' } }] });
    await harness.control.whenStarted(1);
    const service = harness.runtime.workflows;
    expect(await service.prune(Date.now() + 29 * 86_400_000)).toBe(0);
    expect(await service.prune(Date.now() + 31 * 86_400_000)).toBe(1);
    expect(service.runs.list({ tenant: 'default', limit: 10 }).runs.map((run) => run.workflow)).toEqual(['still-running']);
    harness.control.release('hold');
    runOf(await pending);
  });

  it('does not keep secret-looking input fields in the record (the steps still get them)', async () => {
    const harness = await start();
    const run = runOf(await harness.call('workflow.run', { input: { api_key: 'sk-live-123', who: 'Ada' }, steps: [{ tool: 'test.capture', args: { value: '{{input.api_key}}' } }] }));
    expect(harness.control.captured).toEqual([{ value: 'sk-live-123' }]);
    const record = (await harness.call('workflow.run_get', { run_id: run.run_id })).structuredContent as { input: Record<string, unknown> };
    expect(record.input).toEqual({ api_key: '[REDACTED]', who: 'Ada' });
  });

  it('keeps runs per tenant', async () => {
    const harness = await start();
    runOf(await harness.call('workflow.run', { steps: [{ tool: 'echo', args: { text: 'x' } }] }));
    const other = harness.runtime.workflows.runs.list({ tenant: 'someone-else', limit: 10 });
    expect(other.runs).toEqual([]);
    expect(harness.runtime.workflows.runs.list({ tenant: 'default', limit: 10 }).runs).toHaveLength(1);
  });
});
