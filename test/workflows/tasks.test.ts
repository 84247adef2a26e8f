import { afterEach, describe, expect, it } from 'vitest';
import { CallToolResultSchema, CreateTaskResultSchema, TaskStatusNotificationSchema, type Task } from '@modelcontextprotocol/sdk/types.js';
import { nextFinishedRun, startWorkflowRuntime, type WorkflowHarness } from './support.js';

let harness: WorkflowHarness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

async function createTask(h: WorkflowHarness, name: string, args: Record<string, unknown>): Promise<Task> {
  const created = await h.client.request({ method: 'tools/call', params: { name, arguments: args, task: { ttl: 60_000 } } }, CreateTaskResultSchema);
  return created.task;
}

/** Resolves with the first status notification for the task that matches. */
function statusNotification(h: WorkflowHarness, taskId: string, match: (task: Task) => boolean): Promise<Task> {
  return new Promise((resolve) => {
    h.client.setNotificationHandler(TaskStatusNotificationSchema, (notification) => {
      if (notification.params.taskId === taskId && match(notification.params)) resolve(notification.params);
    });
  });
}

describe('workflow tools as MCP tasks (2025-11-25)', () => {
  it('announces task support on workflow tools only', async () => {
    harness = await startWorkflowRuntime();
    const capabilities = harness.client.getServerCapabilities();
    expect(capabilities?.tasks?.requests?.tools?.call).toBeDefined();
    const { tools } = await harness.client.listTools();
    const support = Object.fromEntries(tools.map((tool) => [tool.name, tool.execution?.taskSupport]));
    expect(support['workflow.run']).toBe('optional');
    expect(support['tools.chain']).toBe('optional');
    expect(support['workflow.execute']).toBe('optional');
    expect(support['echo']).toBeUndefined();
    await expect(createTask(harness, 'echo', { text: 'x' })).rejects.toMatchObject({ code: -32601 });
  });

  it('runs a workflow as a task: tasks/get shows the step, tasks/result returns the result, tasks/list lists it', async () => {
    harness = await startWorkflowRuntime();
    const h = harness;
    const task = await createTask(h, 'workflow.run', {
      name: 'as-task',
      steps: [
        { id: 'wait', tool: 'test.gate', args: { name: 'g', value: 42 } },
        { id: 'done', tool: 'echo', args: { text: 'value {{steps.wait.value}}' } },
      ],
    });
    expect(task.status).toBe('working');
    await h.control.whenStarted(1);
    const running = await h.client.experimental.tasks.getTask(task.taskId);
    expect(running.status).toBe('working');
    expect(running.statusMessage).toBe('step 1 of 2: wait (test.gate)');
    const listed = await h.client.experimental.tasks.listTasks();
    expect(listed.tasks.map((entry) => entry.taskId)).toContain(task.taskId);

    const completed = statusNotification(h, task.taskId, (update) => update.status === 'completed');
    h.control.release('g');
    await completed;
    const result = await h.client.experimental.tasks.getTaskResult(task.taskId, CallToolResultSchema);
    expect(result.structuredContent).toMatchObject({ workflow: 'as-task', status: 'succeeded', output: { text: 'value 42' } });
  });

  it('tasks/cancel aborts the running step and the run is recorded as cancelled', async () => {
    harness = await startWorkflowRuntime();
    const h = harness;
    const finished = nextFinishedRun(h);
    const task = await createTask(h, 'workflow.run', { steps: [{ id: 'wait', tool: 'test.gate', args: { name: 'stuck' } }, { id: 'next', tool: 'echo', args: { text: 'never' } }] });
    await h.control.whenStarted(1);
    const cancelled = await h.client.experimental.tasks.cancelTask(task.taskId);
    expect(cancelled.status).toBe('cancelled');
    await h.control.whenAborted('stuck');
    const record = await finished;
    expect(record.status).toBe('cancelled');
    expect(record.steps.map((step) => step.status)).toEqual(['cancelled', 'skipped']);
    expect((await h.client.experimental.tasks.getTask(task.taskId)).status).toBe('cancelled');
  });

  it('a failing workflow task ends "failed" with the coded error as its result', async () => {
    harness = await startWorkflowRuntime();
    const h = harness;
    const task = await createTask(h, 'tools.chain', { steps: [{ tool: 'json.query', args: { json: {}, path: 'missing' } }] });
    const failed = await statusNotification(h, task.taskId, (update) => update.status === 'failed');
    expect(failed.status).toBe('failed');
    const result = await h.client.experimental.tasks.getTaskResult(task.taskId, CallToolResultSchema);
    expect(result.isError).toBe(true);
    expect(result.structuredContent).toMatchObject({ code: 'JSON_PATH_NOT_FOUND', details: { step: 'step_0' } });
  });
});
