import { getEventListeners } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { localPrincipal } from '../../src/auth/principal.js';
import { NexusError } from '../../src/errors/index.js';
import { detachedLink } from '../../src/tools/detached-link.js';
import type { Tool } from '../../src/tools/types.js';
import { startTestRuntime, type TestRuntime } from '../support/runtime.js';
import { deferred, testTool } from '../support/tools.js';

// The executor aborts each call's signal with the reason that applies (timeout, the caller's
// cancellation) and releases what it attached to the caller's signal when the call ends.

let harness: TestRuntime | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

/** Starts a runtime with one tool that waits for its signal (see waitingTool). */
async function startWithWaitingTool(name: string, timeoutSecs?: number): Promise<ReturnType<typeof waitingTool>> {
  harness = await startTestRuntime();
  const waiting = waitingTool(name, timeoutSecs);
  harness.runtime.tools.register(waiting.tool);
  return waiting;
}

/** A tool that reports when it started and waits until its signal fires, recording the reason. */
function waitingTool(name: string, timeoutSecs?: number): { tool: Tool; started: Promise<void>; reason: Promise<unknown> } {
  const started = deferred();
  const reason = deferred<unknown>();
  const tool = testTool(
    name,
    async (ctx) => {
      started.resolve();
      if (!ctx.signal.aborted) await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve(), { once: true }));
      reason.resolve(ctx.signal.reason);
      return { text: 'aborted' };
    },
    timeoutSecs === undefined ? {} : { timeoutSecs },
  );
  return { tool, started: started.promise, reason: reason.promise };
}

function call(name: string, signal?: AbortSignal, args: Record<string, unknown> = {}) {
  return harness!.runtime.executor.call({ name, args, principal: localPrincipal(), link: detachedLink(), signal });
}

function codeOf(value: unknown): string | undefined {
  return NexusError.is(value) ? value.code : undefined;
}

describe('executor: call signals', () => {
  it('a timeout aborts the tool signal with TOOL_TIMEOUT', async () => {
    const waiting = await startWithWaitingTool('test.slow', 0.05);
    const result = await call('test.slow');
    expect(result.isError).toBe(true);
    expect((result.structuredContent as { code: string }).code).toBe('TOOL_TIMEOUT');
    expect(codeOf(await waiting.reason)).toBe('TOOL_TIMEOUT');
  });

  it("the caller's cancellation aborts the tool signal with CANCELLED", async () => {
    const waiting = await startWithWaitingTool('test.cancellable');
    const caller = new AbortController();
    const pending = call('test.cancellable', caller.signal);
    await waiting.started;
    caller.abort();
    const result = await pending;
    expect((result.structuredContent as { code: string }).code).toBe('CANCELLED');
    expect(codeOf(await waiting.reason)).toBe('CANCELLED');
  });

  it('a call whose caller signal is already aborted ends CANCELLED', async () => {
    await startWithWaitingTool('test.never');
    const result = await call('test.never', AbortSignal.abort());
    expect((result.structuredContent as { code: string }).code).toBe('CANCELLED');
  });

  it('leaves no listener on a long-lived caller signal once calls finish', async () => {
    harness = await startTestRuntime();
    const caller = new AbortController();
    for (let index = 0; index < 25; index += 1) {
      const result = await call('echo', caller.signal, { text: `${index}` });
      expect(result.isError).toBeUndefined();
    }
    expect(getEventListeners(caller.signal, 'abort')).toHaveLength(0);
  });
});
