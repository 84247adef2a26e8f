import { writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * A module plugin for the end-to-end tests, written into a temp folder and loaded by the real
 * CLI through a config file. Its tools let a test observe concurrency and shutdown from outside:
 * - `test.barrier {count}` waits until `count` calls are in flight at once (or 2 s pass, so a
 *   server that runs calls one at a time fails the test instead of hanging) and returns the most
 *   calls it saw in flight together;
 * - `test.sleep {ms}` reports progress 0 when it starts, then waits `ms` or until aborted;
 * - `test.secret {api_key, blob}` echoes the length of its arguments (for request-log redaction).
 */
const PLUGIN_SOURCE = `
let inFlight = 0;
let maxInFlight = 0;
const waiting = [];
const hints = { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false };

function wait(ms, signal) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => { clearTimeout(timer); reject(signal.reason); }, { once: true });
  });
}

export default {
  name: 'e2e',
  version: '1.0.0',
  setup(host) {
    host.registerTool({
      name: 'test.barrier',
      title: 'Barrier',
      description: 'Waits until count calls run at once; returns the most seen in flight together.',
      inputSchema: { type: 'object', properties: { count: { type: 'integer', minimum: 1 } }, required: ['count'], additionalProperties: false },
      annotations: hints,
      async execute({ count }, ctx) {
        inFlight += 1;
        maxInFlight = Math.max(maxInFlight, inFlight);
        try {
          if (inFlight >= count) waiting.splice(0).forEach((release) => release());
          else await new Promise((resolve) => { waiting.push(resolve); wait(2000, ctx.signal).then(resolve, resolve); });
          return { data: { maxInFlight } };
        } finally {
          inFlight -= 1;
        }
      },
    });
    host.registerTool({
      name: 'test.sleep',
      title: 'Sleep',
      description: 'Reports progress 0, then waits ms milliseconds or until aborted.',
      inputSchema: { type: 'object', properties: { ms: { type: 'integer', minimum: 0 } }, required: ['ms'], additionalProperties: false },
      annotations: hints,
      async execute({ ms }, ctx) {
        await ctx.progress({ progress: 0, message: 'started' });
        await wait(ms, ctx.signal);
        return { data: { slept: ms } };
      },
    });
    host.registerTool({
      name: 'test.secret',
      title: 'Secret',
      description: 'Returns the sizes of its arguments.',
      inputSchema: { type: 'object', properties: { api_key: { type: 'string' }, blob: { type: 'string' } }, additionalProperties: false },
      annotations: hints,
      async execute(args) {
        return { data: { keyLength: (args.api_key ?? '').length, blobLength: (args.blob ?? '').length } };
      },
    });
  },
};
`;

/** Writes the plugin and a config that loads it into `dir`; returns the config file's path. */
export function writeE2eConfig(dir: string, config: Record<string, unknown> = {}): string {
  writeFileSync(path.join(dir, 'e2e-plugin.mjs'), PLUGIN_SOURCE);
  const file = path.join(dir, 'nexus-e2e.json');
  writeFileSync(file, JSON.stringify({ plugins: [{ module: './e2e-plugin.mjs' }], ...config }, null, 2));
  return file;
}
