import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { NexusConfigInput } from '../../src/config/index.js';
import type { RunRecord } from '../../src/workflows/store.js';
import { startTestRuntime, type TestRuntime } from '../support/runtime.js';

/** The fixture plugin with test.flaky, test.gate and test.capture. */
export const TEST_TOOLS_PLUGIN = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures/test-tools-plugin.mjs');

/**
 * The live object handed to the fixture plugin as its config: it counts attempts, records what
 * tools received, and holds gates the test opens when it has seen what it waits for.
 */
export class ToolControl {
  readonly captured: Array<Record<string, unknown>> = [];
  readonly attemptTimes = new Map<string, number[]>();
  readonly started: string[] = [];
  readonly aborted: string[] = [];
  private readonly open = new Map<string, () => void>();
  private readonly startWaiters: Array<{ count: number; resolve: () => void }> = [];
  private readonly abortWaiters: Array<{ name: string; resolve: () => void }> = [];

  attempt(key: string): number {
    const times = this.attemptTimes.get(key) ?? [];
    times.push(performance.now());
    this.attemptTimes.set(key, times);
    return times.length;
  }

  gate(name: string, signal: AbortSignal): Promise<void> {
    this.started.push(name);
    for (const waiter of this.startWaiters.filter((entry) => this.started.length >= entry.count)) waiter.resolve();
    return new Promise((resolve, reject) => {
      const onAbort = (): void => {
        this.aborted.push(name);
        for (const waiter of this.abortWaiters.filter((entry) => entry.name === name)) waiter.resolve();
        reject(new Error(`gate ${name} aborted`));
      };
      if (signal.aborted) {
        onAbort();
        return;
      }
      signal.addEventListener('abort', onAbort, { once: true });
      this.open.set(name, () => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      });
    });
  }

  /** Resolves once at least `count` gates have been entered. */
  whenStarted(count: number): Promise<void> {
    if (this.started.length >= count) return Promise.resolve();
    return new Promise((resolve) => this.startWaiters.push({ count, resolve }));
  }

  whenAborted(name: string): Promise<void> {
    if (this.aborted.includes(name)) return Promise.resolve();
    return new Promise((resolve) => this.abortWaiters.push({ name, resolve }));
  }

  release(name: string): void {
    const open = this.open.get(name);
    if (!open) throw new Error(`gate ${name} was not entered`);
    this.open.delete(name);
    open();
  }
}

export interface WorkflowHarness extends TestRuntime {
  control: ToolControl;
  call(name: string, args: Record<string, unknown>): Promise<CallToolResult>;
}

/** A runtime with the fixture plugin loaded and a connected client. */
export async function startWorkflowRuntime(config: NexusConfigInput = {}, options: Parameters<typeof startTestRuntime>[1] = {}): Promise<WorkflowHarness> {
  const control = new ToolControl();
  const harness = await startTestRuntime({ ...config, plugins: [...(config.plugins ?? []), { module: TEST_TOOLS_PLUGIN, config: control }] }, options);
  return { ...harness, control, call: (name, args) => harness.client.callTool({ name, arguments: args }) as Promise<CallToolResult> };
}

/** The structured error of a failed call. */
export function errorOf(result: CallToolResult): { code: string; message: string; details: Record<string, unknown> } {
  if (result.isError !== true) throw new Error(`expected an error result, got ${JSON.stringify(result.structuredContent)}`);
  return result.structuredContent as { code: string; message: string; details: Record<string, unknown> };
}

/** The structured data of a successful workflow call. */
export function runOf(result: CallToolResult): { run_id: string; output: unknown; steps: Array<Record<string, unknown>>; workflow: string; version: number | null } {
  if (result.isError === true) throw new Error(`expected success, got ${JSON.stringify(result.structuredContent)}`);
  return result.structuredContent as { run_id: string; output: unknown; steps: Array<Record<string, unknown>>; workflow: string; version: number | null };
}

/** Resolves with the record of the next run that finishes (the record is written before this fires). */
export function nextFinishedRun(harness: TestRuntime): Promise<RunRecord> {
  return new Promise((resolve) => harness.runtime.workflows.events.once('run-finished', resolve));
}
