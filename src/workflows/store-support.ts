import { NexusError } from '../errors/index.js';
import type { StepRecord } from './engine.js';
import type { RunRecord } from './store.js';

/** Helpers both run stores share, so the twins behave the same. */

/**
 * `host/pid/instance`. Another live process on this host (a second Nexus on the same database)
 * keeps its runs; a process that is gone, or one on another host (a moved data folder), does not.
 * Runs of this very process belong to runtimes that are still open: one that closed finished them.
 */
export function ownerAlive(owner: string, self: string): boolean {
  const [host, pidText] = owner.split('/');
  const [selfHost, selfPid] = self.split('/');
  if (host !== selfHost) return false;
  if (pidText === selfPid) return true;
  const pid = Number(pidText);
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A run's steps once it is known to have been interrupted: the running one failed, the rest skipped. */
export function interruptedSteps(steps: readonly StepRecord[], message: string): StepRecord[] {
  return steps.map((step): StepRecord => {
    if (step.status === 'running') return { ...step, status: 'failed', error: { code: 'WORKFLOW_INTERRUPTED', message } };
    return step.status === 'pending' ? { ...step, status: 'skipped' } : step;
  });
}

/** Same cursor format as the SQLite store: base64url of {list, startedAt, id}. */
export function encodeRunCursor(run: Pick<RunRecord, 'startedAt' | 'id'>): string {
  return Buffer.from(JSON.stringify({ list: 'workflow-runs', startedAt: run.startedAt, id: run.id })).toString('base64url');
}

export function decodeRunCursor(cursor: string): { startedAt: string; id: string } {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (typeof parsed === 'object' && parsed !== null) {
      const { list, startedAt, id } = parsed as Record<string, unknown>;
      if (list === 'workflow-runs' && typeof startedAt === 'string' && typeof id === 'string') return { startedAt, id };
    }
  } catch {
    // fall through to the coded error
  }
  throw new NexusError('INVALID_CURSOR', 'Invalid pagination cursor', { details: { cursor } });
}
