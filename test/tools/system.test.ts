import os from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NEXUS_VERSION } from '../../src/runtime/version.js';
import { EnvView } from '../../src/tools/builtin/system.js';
import { startTestRuntime, type TestRuntime } from '../support/runtime.js';

type Result = Awaited<ReturnType<TestRuntime['client']['callTool']>>;

const planted = {
  NXT_PLAIN: 'hello',
  NXT_API_KEY: 'sk-live-123',
  NXT_GITHUB_TOKEN: 'ghp_abc',
  NXT_DB_PASSWORD: 'hunter2',
  NXT_CLIENT_SECRET: 'shh',
  NXT_DATABASE_URL: 'postgres://app:s3cret@db.internal:5432/app',
  NXS_OTHER: 'not allowed',
};

let harness: TestRuntime;
beforeAll(async () => {
  Object.assign(process.env, planted);
  harness = await startTestRuntime({ security: { env_allowlist: ['NXT_*', 'HOME'] } });
});
afterAll(async () => {
  await harness.close();
  for (const key of Object.keys(planted)) Reflect.deleteProperty(process.env, key);
});

function call(name: string, args: Record<string, unknown>, on: TestRuntime = harness): Promise<Result> {
  return on.client.callTool({ name, arguments: args });
}
function errorCode(result: Result): string {
  expect(result.isError).toBe(true);
  return (result.structuredContent as { code: string }).code;
}

describe('env.get', () => {
  it('reads an allow-listed variable ({key, value, found} as in the original)', async () => {
    const result = await call('env.get', { key: 'NXT_PLAIN' });
    expect(result.structuredContent).toEqual({ key: 'NXT_PLAIN', value: 'hello', found: true, redacted: false });
    expect(JSON.parse((result.content as Array<{ text: string }>)[0]?.text ?? '')).toMatchObject({ key: 'NXT_PLAIN', value: 'hello', found: true });
  });

  it.each(['NXT_API_KEY', 'NXT_GITHUB_TOKEN', 'NXT_DB_PASSWORD', 'NXT_CLIENT_SECRET'])('redacts %s even though it is allowed', async (key) => {
    const result = await call('env.get', { key });
    expect(result.structuredContent).toEqual({ key, value: '[REDACTED]', found: true, redacted: true });
    expect(JSON.stringify(result)).not.toContain(planted[key as keyof typeof planted]);
  });

  it('hides a password inside a URL value', async () => {
    const result = await call('env.get', { key: 'NXT_DATABASE_URL' });
    expect(result.structuredContent).toMatchObject({ value: 'postgres://app:[REDACTED]@db.internal:5432/app', redacted: true });
  });

  it('refuses names outside the allow-list whether or not they are set', async () => {
    expect(errorCode(await call('env.get', { key: 'NXS_OTHER' }))).toBe('ENV_NOT_ALLOWED');
    expect(errorCode(await call('env.get', { key: 'PATH' }))).toBe('ENV_NOT_ALLOWED');
    expect(errorCode(await call('env.get', { key: 'NXS_UNSET_ANYWHERE' }))).toBe('ENV_NOT_ALLOWED');
  });

  it('returns the default for an allowed name that is not set', async () => {
    const result = await call('env.get', { key: 'NXT_UNSET', default: 'fallback' });
    expect(result.structuredContent).toEqual({ key: 'NXT_UNSET', value: 'fallback', found: false, redacted: false });
  });
});

describe('env.list', () => {
  it('lists only allow-listed names, without values unless asked', async () => {
    const result = await call('env.list', { prefix: 'NXT_' });
    const listed = result.structuredContent as { count: number; variables: Array<{ key: string; value?: string }> };
    expect(listed.variables.map((variable) => variable.key)).toEqual(Object.keys(planted).filter((key) => key.startsWith('NXT_')).sort());
    expect(listed.count).toBe(6);
    expect(listed.variables.every((variable) => variable.value === undefined)).toBe(true);
    const all = (await call('env.list', {})).structuredContent as { variables: Array<{ key: string }> };
    expect(all.variables.some((variable) => variable.key === 'PATH' || variable.key === 'NXS_OTHER')).toBe(false);
  });

  it('shows values with redaction when show_values is true', async () => {
    const result = await call('env.list', { prefix: 'NXT_', show_values: true });
    const text = JSON.stringify(result);
    for (const secret of ['sk-live-123', 'ghp_abc', 'hunter2', 'shh', 's3cret']) expect(text).not.toContain(secret);
    expect(text).toContain('"value":"hello"');
  });

  it('exposes nothing by default', async () => {
    const bare = await startTestRuntime();
    try {
      expect((await call('env.list', { show_values: true }, bare)).structuredContent).toEqual({ count: 0, variables: [] });
      expect(errorCode(await call('env.get', { key: 'HOME' }, bare))).toBe('ENV_NOT_ALLOWED');
    } finally {
      await bare.close();
    }
  });
});

describe('EnvView', () => {
  it('matches globs case-sensitively over the given snapshot only', () => {
    const view = new EnvView({ APP_ONE: '1', app_two: '2', OTHER: '3' }, ['APP_*']);
    expect(view.names()).toEqual(['APP_ONE']);
    expect(view.isAllowed('app_two')).toBe(false);
  });
});

describe('sys.info', () => {
  it('reports the original fields (Rust spellings) plus runtime facts', async () => {
    const info = (await call('sys.info', {})).structuredContent as Record<string, unknown>;
    expect(info).toMatchObject({
      os: process.platform === 'darwin' ? 'macos' : process.platform,
      family: 'unix',
      hostname: os.hostname(),
      current_dir: process.cwd(),
      temp_dir: os.tmpdir(),
      exe_path: process.execPath,
      node_version: process.version,
      nexus_version: NEXUS_VERSION,
    });
    expect(['x86_64', 'aarch64']).toContain(info['arch']);
    expect(info['cpus']).toBeGreaterThan(0);
  });
});
