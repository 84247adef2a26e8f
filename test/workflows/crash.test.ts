import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/index.js';
import { createSilentLogger } from '../../src/logging/index.js';
import { createRuntime } from '../../src/runtime/runtime.js';
import { spawnCli } from '../support/cli.js';
import { tempDir } from '../support/runtime.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('a run interrupted by a crash (real CLI process, kill -9; needs dist/)', () => {
  it('is marked failed with WORKFLOW_INTERRUPTED when Nexus next starts on the same data folder', async () => {
    // A server that accepts the workflow's request and never answers: the run is mid-step.
    const held: ServerResponse[] = [];
    let arrived: (request: IncomingMessage) => void = () => undefined;
    const requestArrived = new Promise<IncomingMessage>((resolve) => (arrived = resolve));
    const server = createServer((request, response) => {
      held.push(response);
      arrived(request);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(
      () =>
        new Promise<void>((resolve) => {
          for (const response of held) response.destroy();
          server.close(() => resolve());
        }),
    );
    const port = (server.address() as AddressInfo).port;

    const data = tempDir('nexus-wf-crash-');
    cleanups.push(() => data.remove());
    const config = path.join(data.dir, 'nexus.json');
    writeFileSync(config, JSON.stringify({ http_client: { allowed_hosts: [`127.0.0.1:${port}`] } }));
    const args = { name: 'nightly', steps: [{ id: 'fetch', tool: 'http.request', args: { url: `http://127.0.0.1:${port}/slow` } }, { id: 'after', tool: 'echo', args: { text: 'x' } }] };
    const child = spawnCli(['run', 'workflow.run', '--data-dir', data.dir, '-c', config, '-a', JSON.stringify(args)], { cwd: data.dir, env: { HOME: data.dir } });
    cleanups.push(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    child.stdin.end();
    child.stdout.resume();
    child.stderr.resume();
    const request = await requestArrived;
    expect(request.url).toBe('/slow');
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    const [, signal] = (await exited) as [number | null, string | null];
    expect(signal).toBe('SIGKILL');

    const runtime = await createRuntime(parseConfig({ data_dir: data.dir }), { logger: createSilentLogger() });
    cleanups.push(() => runtime.close());
    const { runs } = runtime.workflows.runs.list({ tenant: 'default', limit: 10 });
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ workflow: 'nightly', status: 'failed', error: { code: 'WORKFLOW_INTERRUPTED' } });
    expect(runs[0]?.finishedAt).toBeDefined();
    expect(runs[0]?.steps.map((step) => [step.id, step.status])).toEqual([
      ['fetch', 'failed'],
      ['after', 'skipped'],
    ]);
  });
});
