import { NexusError } from '../errors/index.js';
import type { ToolContext } from '../tools/types.js';
import { runProcess, type OutputLine, type ProcessOutcome, type RunProcessOptions } from './process-runner.js';

/** Progress notifications per call at most: a flood of short lines must not flood the client. */
export const MAX_STREAMED_LINES = 1000;

/**
 * Runs a child process for a tool call: output lines go to the client as progress notifications
 * (message = the line, stderr lines prefixed) when it asked for progress, and the call's signal
 * cancels. Cancellation surfaces as the signal's reason (CANCELLED, TOOL_TIMEOUT, SHUTTING_DOWN)
 * after the process group is gone; the caller maps `stoppedBy: 'timeout'` to its own code.
 */
export async function runForTool(context: ToolContext, options: Omit<RunProcessOptions, 'signal' | 'onLine'>): Promise<ProcessOutcome> {
  const stream = context.client.wantsProgress ? lineProgress(context) : undefined;
  const outcome = await runProcess({ ...options, signal: context.signal, onLine: stream?.onLine });
  if (outcome.stoppedBy === 'abort') {
    const reason: unknown = context.signal.reason;
    throw NexusError.is(reason) ? reason : new NexusError('CANCELLED', 'The command was cancelled and its process group killed');
  }
  await stream?.flushed();
  return outcome;
}

function lineProgress(context: ToolContext): { onLine: (line: OutputLine) => void; flushed: () => Promise<void> } {
  let count = 0;
  // Notifications go out one after another, in output order, without holding up the pipe reads.
  let chain: Promise<void> = Promise.resolve();
  const send = (message: string): void => {
    count += 1;
    const progress = count;
    chain = chain.then(() => context.progress({ progress, message })).catch((error: unknown) => context.logger.debug({ err: error }, 'progress notification failed'));
  };
  return {
    onLine: ({ stream, line }) => {
      if (count < MAX_STREAMED_LINES) send(stream === 'stderr' ? `[stderr] ${line}` : line);
      else if (count === MAX_STREAMED_LINES) send(`[output continues; only the first ${MAX_STREAMED_LINES} lines are streamed]`);
    },
    flushed: () => chain,
  };
}
