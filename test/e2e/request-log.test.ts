import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { LineTransport } from '../../src/transport/stdio.js';
import { exitOf, JsonLines, spawnCli } from '../support/cli.js';
import { writeE2eConfig } from '../support/e2e-plugin.js';
import { tempDir } from '../support/runtime.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const SECRET = 'sk-live-do-not-log-me-1234567890';
const TRACE_KEY = 'dev.nexus/traceId';

interface LogLine {
  time: string;
  direction: 'in' | 'out';
  transport: string;
  message: { id?: unknown; method?: string; params?: { name?: string; arguments?: Record<string, unknown> }; result?: { _meta?: Record<string, unknown> } };
}

describe('--request-log and --debug (real CLI over stdio)', () => {
  it('logs every message as JSONL with secrets redacted and large payloads truncated; traces share the trace id', async () => {
    const temp = tempDir('nexus-reqlog-');
    cleanups.push(() => temp.remove());
    const config = writeE2eConfig(temp.dir);
    const logFile = path.join(temp.dir, 'logs', 'requests.jsonl');
    const child = spawnCli(['--stdio', '--debug', '--request-log', logFile, '--data-dir', temp.dir, '-c', config], { cwd: temp.dir, env: { HOME: temp.dir } });
    cleanups.push(async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exitOf(child);
    });
    const stderr = new JsonLines(child.stderr);
    const client = new Client({ name: 'e2e-reqlog', version: '1.0.0' });
    await client.connect(new LineTransport(child.stdout, child.stdin));

    const blob = 'b'.repeat(10_000);
    const ok = await client.callTool({ name: 'test.secret', arguments: { api_key: SECRET, blob } });
    expect(ok.structuredContent).toEqual({ keyLength: SECRET.length, blobLength: blob.length }); // the tool itself got the real values
    const failed = await client.callTool({ name: 'echo', arguments: { text: 42 } });
    child.stdin.end();
    expect(await exitOf(child)).toBe(0);

    const okTrace = String(ok._meta?.[TRACE_KEY]);
    const failedTrace = String(failed._meta?.[TRACE_KEY]);
    expect(okTrace).toMatch(/^[0-9a-f-]{36}$/);
    // The trace id is in the error's details as well as in _meta.
    expect((failed.structuredContent as { details: { traceId: string } }).details.traceId).toBe(failedTrace);

    const text = readFileSync(logFile, 'utf8');
    expect(text).not.toContain(SECRET);
    const lines = text.trimEnd().split('\n').map((line) => JSON.parse(line) as LogLine);
    expect(lines.every((line) => (line.direction === 'in' || line.direction === 'out') && line.transport === 'stdio' && !Number.isNaN(Date.parse(line.time)))).toBe(true);
    expect(lines.find((line) => line.direction === 'in')?.message.method).toBe('initialize');

    const call = lines.find((line) => line.direction === 'in' && line.message.params?.name === 'test.secret');
    expect(call?.message.params?.arguments?.['api_key']).toBe('[REDACTED]');
    const loggedBlob = String(call?.message.params?.arguments?.['blob']);
    expect(loggedBlob.length).toBeLessThan(blob.length);
    expect(loggedBlob).toContain('truncated 10000 chars');
    const response = lines.find((line) => line.direction === 'out' && line.message.id === call?.message.id);
    expect(response?.message.result?._meta?.[TRACE_KEY]).toBe(okTrace);

    // --debug: one trace per call on stderr, with the same trace id, redacted args, duration and outcome.
    const traces = stderr.records().filter((record) => record['msg'] === 'tool call end');
    const okRecord = traces.find((record) => record['traceId'] === okTrace);
    expect(okRecord).toMatchObject({ tool: 'test.secret', outcome: 'ok', args: { api_key: '[REDACTED]' } });
    expect(typeof okRecord?.['durationMs']).toBe('number');
    expect(traces.find((record) => record['traceId'] === failedTrace)).toMatchObject({ tool: 'echo', outcome: 'error', errorCode: 'INVALID_ARGUMENTS' });
    expect(stderr.text).not.toContain(SECRET);
  });
});
