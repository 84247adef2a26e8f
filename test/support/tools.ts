import { z } from 'zod';
import { defineTool, type Tool, type ToolContext } from '../../src/tools/types.js';

/** A promise with its resolver, for waiting on events instead of time. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((done) => {
    resolve = done;
  });
  return { promise, resolve };
}

/** A test tool with no input that runs `body` (registered on `runtime.tools` by protocol tests). */
export function testTool(name: string, body: (context: ToolContext) => Promise<{ data?: unknown; text?: string }>, extra: Pick<Tool, 'timeoutSecs'> = {}): Tool {
  return defineTool({
    name,
    title: name,
    description: `test tool ${name}`,
    inputSchema: z.strictObject({}),
    annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    execute: (_input, context) => body(context),
    ...extra,
  });
}
