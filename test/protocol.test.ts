import { afterEach, describe, expect, it } from 'vitest';
import { CORE_TOOL_NAMES } from '../src/tools/builtin/index.js';
import { startTestRuntime, type TestRuntime } from './support/runtime.js';

let harness: TestRuntime | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

describe('protocol over a real SDK client', () => {
  it('lists built-in tools with annotations and output schemas, sorted', async () => {
    harness = await startTestRuntime();
    const { tools } = await harness.client.listTools();
    const names = tools.map((tool) => tool.name);
    expect(names).toContain('echo');
    expect(names).toEqual([...names].sort());
    const echo = tools.find((tool) => tool.name === 'echo');
    expect(echo?.annotations?.readOnlyHint).toBe(true);
    expect(echo?.outputSchema?.type).toBe('object');
  });

  it('calls echo and returns text plus structured content with a trace id', async () => {
    harness = await startTestRuntime();
    const result = await harness.client.callTool({ name: 'echo', arguments: { text: 'hello' } });
    expect(result.content).toEqual([{ type: 'text', text: 'hello' }]);
    expect(result.structuredContent).toEqual({ text: 'hello' });
    expect(typeof result._meta?.['dev.nexus/traceId']).toBe('string');
  });

  it('reports invalid arguments as a tool error naming the field', async () => {
    harness = await startTestRuntime();
    const result = await harness.client.callTool({ name: 'echo', arguments: { text: 42 } });
    expect(result.isError).toBe(true);
    const error = result.structuredContent as { code: string; details: { problems: Array<{ field: string }> } };
    expect(error.code).toBe('INVALID_ARGUMENTS');
    expect(error.details.problems[0]?.field).toBe('text');
  });

  it('answers an unknown tool with a JSON-RPC invalid-params error', async () => {
    harness = await startTestRuntime();
    await expect(harness.client.callTool({ name: 'nope', arguments: {} })).rejects.toMatchObject({ code: -32602 });
  });

  it('resolves underscore names and exposes them when configured', async () => {
    harness = await startTestRuntime({ tool_names: 'underscore' });
    const { tools } = await harness.client.listTools();
    expect(tools.every((tool) => !tool.name.includes('.'))).toBe(true);
    const result = await harness.client.callTool({ name: 'get_time', arguments: { timezone: 'Europe/Paris' } });
    expect((result.structuredContent as { timezone: string }).timezone).toBe('Europe/Paris');
  });

  it('exposes only the original core tools when extras are disabled (--core-only)', async () => {
    harness = await startTestRuntime({ extras_enabled: false });
    const names = (await harness.client.listTools()).tools.map((tool) => tool.name);
    expect(names).toEqual([...CORE_TOOL_NAMES].sort((a, b) => a.localeCompare(b)));
    await expect(harness.client.callTool({ name: 'fs.stat', arguments: { path: '/' } })).rejects.toMatchObject({ code: -32602 });
  });
});
