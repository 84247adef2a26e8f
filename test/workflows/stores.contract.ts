import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { hostname } from 'node:os';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { StepRecord } from '../../src/workflows/engine.js';
import type { NewWorkflowVersion, RunRecord, RunStore, WorkflowStore } from '../../src/workflows/store.js';

/** The stores under test, a way to plant a run owned by another process, and cleanup. */
export interface WorkflowStoresFixture {
  workflows: WorkflowStore;
  runs: RunStore;
  /** Stores a "running" record as a process with this owner id (`host/pid/instance`) would have. */
  plantRun(run: RunRecord, owner: string): Promise<void>;
  close(): void;
}

function version(name: string, overrides: Partial<NewWorkflowVersion> = {}): NewWorkflowVersion {
  return { tenant: 'default', name, description: `about ${name}`, inputSchema: { type: 'object' }, definition: { steps: [{ tool: 'echo', args: { text: name } }] }, ...overrides };
}

const STEPS: StepRecord[] = [
  { id: 'a', kind: 'tool', tool: 'echo', status: 'succeeded', attempts: 1 },
  { id: 'b', kind: 'tool', tool: 'echo', status: 'running', attempts: 1 },
  { id: 'c', kind: 'tool', tool: 'echo', status: 'pending', attempts: 0 },
];

function run(id: string, overrides: Partial<RunRecord> = {}): RunRecord {
  return { id, tenant: 'default', workflow: 'wf', version: null, principal: 'local', status: 'running', input: { id }, steps: [], startedAt: `2026-01-01T00:00:${id.padStart(2, '0')}.000Z`, ...overrides };
}

/**
 * What every WorkflowStore / RunStore pair must do. A new backend (PostgreSQL…) is done when this
 * suite passes against it.
 */
export function workflowStoresContract(name: string, create: (owner: string) => WorkflowStoresFixture): void {
  describe(`workflow stores contract: ${name}`, () => {
    const self = `${hostname()}/${process.pid}/test`;
    let fixture: WorkflowStoresFixture;
    beforeEach(() => {
      fixture = create(self);
    });
    afterEach(() => fixture.close());

    it('versions definitions, reads any live version, and lists the latest of each name', async () => {
      const { workflows } = fixture;
      expect((await workflows.define(version('b'))).version).toBe(1);
      expect((await workflows.define(version('a'))).version).toBe(1);
      const second = await workflows.define(version('a', { description: 'second', title: 'A', definition: { steps: [], output: { x: 1 }, timeout_secs: 5 } }));
      expect(second).toMatchObject({ version: 2, description: 'second', title: 'A' });
      expect(workflows.get('default', 'a')).toMatchObject({ version: 2, definition: { steps: [], output: { x: 1 }, timeout_secs: 5 } });
      expect(workflows.get('default', 'a', 1)).toMatchObject({ version: 1, description: 'about a' });
      expect(workflows.get('default', 'a', 3)).toBeUndefined();
      expect(workflows.versions('default', 'a')).toEqual([1, 2]);
      expect(workflows.list('default').map((saved) => [saved.name, saved.version])).toEqual([
        ['a', 2],
        ['b', 1],
      ]);
    });

    it('keeps tenants apart', async () => {
      const { workflows } = fixture;
      await workflows.define(version('w'));
      await workflows.define(version('w', { tenant: 'acme', description: 'acme' }));
      expect(workflows.get('default', 'w')?.description).toBe('about w');
      expect(workflows.get('acme', 'w')).toMatchObject({ version: 1, description: 'acme' });
      expect(workflows.listAllTenants().map((saved) => `${saved.tenant}/${saved.name}`)).toEqual(['acme/w', 'default/w']);
      expect(await workflows.delete('acme', 'w')).toBe(true);
      expect(workflows.get('default', 'w')).toBeDefined();
      expect(await workflows.deleteTenant('default')).toBe(1);
      expect(workflows.list('default')).toEqual([]);
    });

    it('hides every version on delete and continues numbering on redefinition', async () => {
      const { workflows } = fixture;
      await workflows.define(version('w'));
      await workflows.define(version('w'));
      expect(await workflows.delete('default', 'w')).toBe(true);
      expect(await workflows.delete('default', 'w')).toBe(false);
      expect(await workflows.delete('default', 'never')).toBe(false);
      expect(workflows.get('default', 'w')).toBeUndefined();
      expect(workflows.get('default', 'w', 1)).toBeUndefined();
      expect(workflows.list('default')).toEqual([]);
      expect((await workflows.define(version('w'))).version).toBe(3);
      expect(workflows.versions('default', 'w')).toEqual([1, 2, 3]);
    });

    it('records a run, its steps while running, and its end; values are copies', async () => {
      const { runs } = fixture;
      const record = run('1', { input: { nested: { a: 1 } } });
      await runs.create(record);
      (record.input as { nested: { a: number } }).nested.a = 99;
      await runs.updateSteps('default', '1', STEPS);
      expect(runs.get('default', '1')).toMatchObject({ status: 'running', input: { nested: { a: 1 } }, steps: STEPS });
      expect(runs.get('acme', '1')).toBeUndefined();
      await runs.finish('default', '1', { status: 'failed', steps: STEPS.slice(0, 1), error: { code: 'TOOL_TIMEOUT', message: 'slow' }, finishedAt: '2026-01-01T00:01:00.000Z', durationMs: 60_000 });
      // A finished run's steps no longer change.
      await runs.updateSteps('default', '1', STEPS);
      expect(runs.get('default', '1')).toMatchObject({ status: 'failed', steps: STEPS.slice(0, 1), error: { code: 'TOOL_TIMEOUT' }, finishedAt: '2026-01-01T00:01:00.000Z', durationMs: 60_000 });
      await runs.create(run('2'));
      await runs.finish('default', '2', { status: 'succeeded', steps: [], output: { big: true }, outputTruncated: true, finishedAt: '2026-01-01T00:02:00.000Z', durationMs: 1 });
      expect(runs.get('default', '2')).toMatchObject({ output: { big: true }, outputTruncated: true });
    });

    it('lists newest first with filters and a keyset cursor, per tenant', async () => {
      const { runs } = fixture;
      for (const id of ['1', '2', '3', '4', '5']) await runs.create(run(id, { workflow: Number(id) % 2 === 0 ? 'even' : 'odd' }));
      await runs.create(run('6', { tenant: 'acme' }));
      await runs.finish('default', '3', { status: 'succeeded', steps: [] });
      const first = runs.list({ tenant: 'default', limit: 2 });
      expect(first.runs.map((entry) => entry.id)).toEqual(['5', '4']);
      const second = runs.list({ tenant: 'default', limit: 2, cursor: first.nextCursor });
      expect(second.runs.map((entry) => entry.id)).toEqual(['3', '2']);
      const third = runs.list({ tenant: 'default', limit: 2, cursor: second.nextCursor });
      expect(third.runs.map((entry) => entry.id)).toEqual(['1']);
      expect(third.nextCursor).toBeUndefined();
      expect(runs.list({ tenant: 'default', workflow: 'odd', limit: 10 }).runs.map((entry) => entry.id)).toEqual(['5', '3', '1']);
      expect(runs.list({ tenant: 'default', status: 'succeeded', limit: 10 }).runs.map((entry) => entry.id)).toEqual(['3']);
      expect(runs.list({ tenant: 'acme', limit: 10 }).runs.map((entry) => entry.id)).toEqual(['6']);
      expect(() => runs.list({ tenant: 'default', limit: 2, cursor: 'not-a-cursor' })).toThrow(expect.objectContaining({ code: 'INVALID_CURSOR' }));
    });

    it('prunes finished runs started before a time, never running ones', async () => {
      const { runs } = fixture;
      for (const id of ['1', '2', '3']) await runs.create(run(id));
      await runs.finish('default', '1', { status: 'succeeded', steps: [] });
      await runs.finish('default', '3', { status: 'failed', steps: [] });
      expect(await runs.prune('2026-01-01T00:00:03.000Z')).toBe(1);
      expect(runs.list({ tenant: 'default', limit: 10 }).runs.map((entry) => entry.id)).toEqual(['3', '2']);
      expect(await runs.deleteTenant('default')).toBe(2);
    });

    it('fails runs whose process is gone, and only those', async () => {
      const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
      await once(child, 'exit');
      await fixture.plantRun(run('1', { steps: STEPS }), `${hostname()}/${child.pid}/gone`);
      await fixture.plantRun(run('2', { steps: STEPS }), `elsewhere/1/moved`);
      await fixture.plantRun(run('3', { steps: STEPS }), `${hostname()}/${process.pid}/another-runtime-here`);
      await fixture.plantRun(run('4', { steps: STEPS }), `${hostname()}/${process.ppid}/live-parent`);
      expect(await fixture.runs.failInterrupted('interrupted', '2026-01-02T00:00:00.000Z')).toBe(2);
      const failed = fixture.runs.get('default', '1');
      expect(failed).toMatchObject({ status: 'failed', error: { code: 'WORKFLOW_INTERRUPTED', message: 'interrupted' }, finishedAt: '2026-01-02T00:00:00.000Z' });
      expect(failed?.steps.map((step) => step.status)).toEqual(['succeeded', 'failed', 'skipped']);
      expect(fixture.runs.get('default', '2')?.status).toBe('failed');
      expect(fixture.runs.get('default', '3')?.status).toBe('running');
      expect(fixture.runs.get('default', '4')?.status).toBe('running');
    });
  });
}
