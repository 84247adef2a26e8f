import { readFileSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';

/**
 * Whether a process still runs. A killed process whose parent has not reaped it yet is a zombie:
 * it runs no code and holds no files, so it counts as gone (Linux /proc; kill(pid, 0) elsewhere).
 */
export function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) [ZX]/s.test(stat);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    }
    return false;
  }
}

/**
 * A TCP listener on 127.0.0.1 that child processes connect to. A process's connection closes when
 * it dies, so `allClosed()` is an event that proves the processes are gone (no polling).
 */
export async function lifelineServer(): Promise<{ port: number; connected(count: number): Promise<void>; allClosed(): Promise<void>; close(): Promise<void> }> {
  const sockets: Socket[] = [];
  const closed: Array<Promise<void>> = [];
  const waiters: Array<{ count: number; resolve: () => void }> = [];
  const server = createServer((socket) => {
    sockets.push(socket);
    socket.on('error', () => undefined);
    closed.push(new Promise((resolve) => socket.once('close', () => resolve())));
    for (const waiter of waiters.filter((entry) => sockets.length >= entry.count)) waiter.resolve();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return {
    port: address.port,
    connected: (count) => (sockets.length >= count ? Promise.resolve() : new Promise((resolve) => waiters.push({ count, resolve }))),
    allClosed: async () => {
      await Promise.all(closed);
    },
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
