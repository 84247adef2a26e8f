import { getEventListeners } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { localPrincipal } from '../../src/auth/principal.js';
import { NexusError } from '../../src/errors/index.js';
import { detachedLink } from '../../src/tools/detached-link.js';
import { z } from 'zod';
import { TRACE_META_KEY } from '../../src/tools/executor.js';
import { defineTool, type Tool, type ToolOutput } from '../../src/tools/types.js';
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

  it('a call whose caller signal is already aborted ends CANCELLED without running the tool', async () => {
    const waiting = await startWithWaitingTool('test.never');
    let ran = false;
    void waiting.started.then(() => (ran = true));
    const result = await call('test.never', AbortSignal.abort());
    expect((result.structuredContent as { code: string }).code).toBe('CANCELLED');
    await Promise.resolve();
    expect(ran).toBe(false);
  });

  it('leaves no listener on a long-lived caller signal once calls finish, for tools that wait and ones that answer at once', async () => {
    harness = await startTestRuntime();
    harness.runtime.tools.register(testTool('test.later', async () => new Promise((resolve) => setImmediate(() => resolve({ text: 'later' })))));
    const caller = new AbortController();
    for (let index = 0; index < 25; index += 1) {
      const result = await call(index % 2 === 0 ? 'echo' : 'test.later', caller.signal, index % 2 === 0 ? { text: `${index}` } : {});
      expect(result.isError).toBeUndefined();
    }
    expect(getEventListeners(caller.signal, 'abort')).toHaveLength(0);
  });
});

describe('executor: tools that answer synchronously', () => {
  function syncTool(name: string, body: () => ToolOutput): Tool {
    return defineTool({ name, description: name, inputSchema: z.strictObject({}), execute: () => body() });
  }

  it('a returned output becomes the result; a thrown NexusError keeps its code; the trace id is attached either way', async () => {
    harness = await startTestRuntime();
    harness.runtime.tools.register(syncTool('test.sync_ok', () => ({ data: { answer: 42 } })));
    harness.runtime.tools.register(
      syncTool('test.sync_throws', () => {
        throw new NexusError('INVALID_ARGUMENTS', 'not like that');
      }),
    );
    const ok = await call('test.sync_ok');
    expect(ok.structuredContent).toEqual({ answer: 42 });
    expect(ok._meta?.[TRACE_META_KEY]).toEqual(expect.any(String));
    const failed = await call('test.sync_throws');
    expect(failed.isError).toBe(true);
    expect(failed.structuredContent).toMatchObject({ code: 'INVALID_ARGUMENTS', message: 'not like that' });
    expect(failed._meta?.[TRACE_META_KEY]).toEqual(expect.any(String));
  });

  it('a caller that already gave up is not answered by a synchronous tool either', async () => {
    harness = await startTestRuntime();
    let runs = 0;
    harness.runtime.tools.register(syncTool('test.sync_count', () => ({ data: { runs: ++runs } })));
    const result = await call('test.sync_count', AbortSignal.abort());
    expect((result.structuredContent as { code: string }).code).toBe('CANCELLED');
    expect(runs).toBe(0);
  });
});
