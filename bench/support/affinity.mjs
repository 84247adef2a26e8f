// CPU pinning for latency measurements (Linux `taskset`, util-linux). On a small VM a round trip
// between two processes costs ~0.08 ms when the scheduler keeps them on one core and ~0.2 ms when
// it wakes the other one across cores, and which of the two it does flips from run to run; a
// latency ratio measured unpinned moves by ±25% for that reason alone. Pinning the client and the
// server to one core makes the figure what the two processes' work costs.

import { execFileSync } from 'node:child_process';

function taskset(args) {
  return execFileSync('taskset', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
}

/** The CPU list a process may run on (`0,1` or `0-3`), or undefined where taskset is missing. */
function affinityOf(pid) {
  try {
    return /list:\s*(\S+)/.exec(taskset(['-p', '-c', String(pid)]))?.[1];
  } catch {
    return undefined;
  }
}

/**
 * Runs `work` with this process and `pids` (every thread of each) on one CPU, then gives each
 * process back its own CPU list. Returns `{ value, pinned }`; `pinned` is false (and `work` runs
 * unpinned) where taskset is not available.
 */
export async function onOneCpu(pids, work) {
  const all = [process.pid, ...pids];
  const before = all.map(affinityOf);
  const cpu = before[0]?.split(/[,-]/)[0];
  if (cpu === undefined || before.includes(undefined)) return { value: await work(), pinned: false };
  try {
    for (const pid of all) taskset(['-a', '-p', '-c', cpu, String(pid)]);
    return { value: await work(), pinned: true };
  } finally {
    all.forEach((pid, index) => {
      try {
        taskset(['-a', '-p', '-c', before[index], String(pid)]);
      } catch {
        // The process may have exited; nothing to give back.
      }
    });
  }
}
