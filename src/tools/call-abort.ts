import type { NexusError } from '../errors/index.js';

/**
 * How one tool call is stopped early: timeout, the caller's cancellation or shutdown, whichever
 * comes first, with that reason. The AbortSignal a tool sees is made only when the tool asks for
 * it (most short tools never do): creating an AbortController per call was a measurable share of
 * a short call's CPU on Node 20. `stopped` rejects with the reason either way, so the executor can
 * stop waiting for a tool that ignores its signal.
 */
export class CallAbort {
  private controller: AbortController | undefined;
  private stopReason: NexusError | undefined;
  private stoppedPromise: Promise<never> | undefined;
  private rejectStopped: ((reason: NexusError) => void) | undefined;

  /**
   * Rejects with the reason once the call is stopped (made on first use: a tool that answers
   * synchronously is never waited for).
   */
  get stopped(): Promise<never> {
    if (this.stoppedPromise === undefined) {
      this.stoppedPromise = new Promise<never>((_resolve, reject) => {
        this.rejectStopped = reject;
      });
      // Nobody may be waiting when the call is stopped after it finished.
      this.stoppedPromise.catch(() => undefined);
      if (this.stopReason !== undefined) this.rejectStopped?.(this.stopReason);
    }
    return this.stoppedPromise;
  }

  get signal(): AbortSignal {
    if (this.controller === undefined) {
      this.controller = new AbortController();
      if (this.stopReason !== undefined) this.controller.abort(this.stopReason);
    }
    return this.controller.signal;
  }

  /** The first reason given, or undefined while the call may run on. */
  get reason(): NexusError | undefined {
    return this.stopReason;
  }

  /** Stops the call with `reason`; later calls keep the first reason. */
  abort(reason: NexusError): void {
    if (this.stopReason !== undefined) return;
    this.stopReason = reason;
    this.controller?.abort(reason);
    this.rejectStopped?.(reason);
  }
}
