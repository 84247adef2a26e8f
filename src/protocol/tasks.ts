import type { RequestHandlerExtra, RequestTaskStore } from '@modelcontextprotocol/sdk/shared/protocol.js';
import { InMemoryTaskStore } from '@modelcontextprotocol/sdk/experimental/tasks/stores/in-memory.js';
import type { CallToolRequest, CallToolResult, ServerCapabilities, ServerNotification, ServerRequest, Task } from '@modelcontextprotocol/sdk/types.js';
import type { Principal } from '../auth/principal.js';
import { NexusError } from '../errors/index.js';
import type { Logger } from '../logging/index.js';
import type { ToolExecutor } from '../tools/executor.js';
import type { RegisteredTool } from '../tools/registry.js';
import type { ClientLink } from '../tools/types.js';

type Extra = RequestHandlerExtra<ServerRequest, ServerNotification>;

/** Results stay retrievable this long unless the client asks for less (tasks are kept in memory). */
const DEFAULT_TTL_MS = 60 * 60 * 1000;
const MAX_TTL_MS = 24 * 60 * 60 * 1000;
const POLL_INTERVAL_MS = 500;

/**
 * The SDK's in-memory task store, plus one thing it cannot know: a `tasks/cancel` (which the SDK
 * answers by setting the status) must also abort the work behind the task.
 */
class CancellableTaskStore extends InMemoryTaskStore {
  readonly running = new Map<string, AbortController>();

  override async updateTaskStatus(taskId: string, status: Task['status'], statusMessage?: string, sessionId?: string): Promise<void> {
    await super.updateTaskStatus(taskId, status, statusMessage, sessionId);
    if (status === 'cancelled') this.running.get(taskId)?.abort(new NexusError('CANCELLED', 'The task was cancelled by the client (tasks/cancel)'));
  }
}

/**
 * MCP tasks (protocol 2025-11-25) for tools that declare `taskSupport`: a task-augmented
 * `tools/call` returns a task at once and runs the call in the background through the same
 * executor; `tasks/get`, `tasks/result`, `tasks/list` and `tasks/cancel` are answered by the SDK
 * from this store. A task's progress becomes its status message. One runner per runtime; the SDK
 * scopes tasks to the session that created them.
 */
export class ToolTaskRunner {
  readonly store = new CancellableTaskStore();
  /** The server capability that announces task-augmented tools/call and tasks/list, tasks/cancel. */
  readonly capability: NonNullable<ServerCapabilities['tasks']> = { list: {}, cancel: {}, requests: { tools: { call: {} } } };

  constructor(private readonly options: { executor: ToolExecutor; logger: Logger }) {}

  /** Starts a task for a task-augmented call; TASK_NOT_SUPPORTED (-32601) when the tool does not allow it. */
  async start(call: { entry: RegisteredTool; request: CallToolRequest; extra: Extra; principal: Principal }): Promise<{ task: Task }> {
    const { entry, request, extra, principal } = call;
    if (entry.tool.taskSupport === undefined) {
      throw new NexusError('TASK_NOT_SUPPORTED', `${entry.tool.name} cannot run as a task (its execution.taskSupport is "forbidden")`, { details: { tool: entry.tool.name } });
    }
    const taskStore = extra.taskStore;
    if (taskStore === undefined) throw new NexusError('INTERNAL_ERROR', 'Task-augmented call without a task store');
    const requested = request.params.task?.ttl;
    const task = await taskStore.createTask({ ttl: Math.min(requested ?? DEFAULT_TTL_MS, MAX_TTL_MS), pollInterval: POLL_INTERVAL_MS });
    const controller = new AbortController();
    this.store.running.set(task.taskId, controller);
    const run = this.options.executor.call({ name: request.params.name, args: request.params.arguments ?? {}, principal, link: taskLink(taskStore, task.taskId), signal: controller.signal });
    void run
      .then((result: CallToolResult) => taskStore.storeTaskResult(task.taskId, result.isError === true ? 'failed' : 'completed', result))
      // A task cancelled meanwhile is already terminal: its result is not stored, which is right.
      .catch((error: unknown) => this.options.logger.debug({ err: error, taskId: task.taskId }, 'task result not stored'))
      .finally(() => this.store.running.delete(task.taskId));
    return { task };
  }

  /** Aborts every running task and forgets stored ones (runtime close). */
  close(): void {
    for (const controller of this.store.running.values()) controller.abort(new NexusError('SHUTTING_DOWN', 'Nexus is shutting down'));
    this.store.cleanup();
  }
}

/**
 * A task runs detached from the request that started it: its progress updates the task's status
 * message (seen with tasks/get and notifications/tasks/status); logs, elicitation and sampling,
 * which need the original request's stream, are not available.
 */
function taskLink(store: RequestTaskStore, taskId: string): ClientLink {
  const unsupported = async (): Promise<never> => {
    throw new NexusError('CAPABILITY_UNSUPPORTED', 'Elicitation and sampling are not available to a call running as a task');
  };
  return {
    wantsProgress: true,
    async progress(update) {
      const message = update.message ?? (update.total === undefined ? `${update.progress}` : `${update.progress} of ${update.total}`);
      await store.updateTaskStatus(taskId, 'working', message).catch(() => undefined);
    },
    log: async () => undefined,
    elicit: unsupported,
    sample: unsupported,
  };
}
