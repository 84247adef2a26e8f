import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineTool, type Tool } from '../../src/tools/types.js';
import { startTestRuntime, type TestRuntime } from '../support/runtime.js';

// A tool's structured output is checked against the JSON Schema it advertises in tools/list
// (what a client validates it against), compiled once; a mismatch is the tool's fault and comes
// back as OUTPUT_INVALID naming the field, never as a result a client would reject.

let harness: TestRuntime | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

/** A tool with no input that returns `data` under `outputSchema`. */
function returning(name: string, outputSchema: Tool['outputSchema'], data: unknown): Tool {
  return defineTool({
    name,
    description: `returns fixed data (${name})`,
    inputSchema: z.strictObject({}),
    outputSchema,
    execute: () => ({ data }),
  });
}

async function callTool(name: string): Promise<{ isError?: boolean; structuredContent?: Record<string, unknown>; content: Array<{ type: string; text?: string }> }> {
  return (await harness!.client.callTool({ name, arguments: {} })) as never;
}

describe('tool output validation', () => {
  it('passes output that matches its zod schema, as returned', async () => {
    harness = await startTestRuntime();
    const data = { count: 2, hits: [{ id: 'a', score: 0.5 }, { id: 'b', score: 0.25, note: null }] };
    harness.runtime.tools.register(returning('test.ok', z.object({ count: z.number(), hits: z.array(z.object({ id: z.string(), score: z.number(), note: z.string().nullable().optional() })) }), data));
    const result = await callTool('test.ok');
    expect(result.isError).toBeUndefined();
    expect(result.structuredContent).toEqual(data);
    expect(JSON.parse(result.content[0]!.text!)).toEqual(data);
  });

  it('refuses output that breaks its zod schema with OUTPUT_INVALID naming the field', async () => {
    harness = await startTestRuntime();
    harness.runtime.tools.register(returning('test.wrong-type', z.object({ count: z.number(), hits: z.array(z.object({ id: z.string() })) }), { count: 1, hits: [{ id: 7 }] }));
    harness.runtime.tools.register(returning('test.missing', z.object({ count: z.number(), label: z.string() }), { count: 1 }));
    for (const [name, field] of [
      ['test.wrong-type', 'hits.0.id'],
      ['test.missing', 'label'],
    ] as const) {
      const result = await callTool(name);
      expect(result.isError).toBe(true);
      expect(result.structuredContent?.['code']).toBe('OUTPUT_INVALID');
      const problems = (result.structuredContent?.['details'] as { problems: Array<{ field: string }> }).problems;
      expect(problems.map((problem) => problem.field)).toContain(field);
    }
  });

  it('holds a tool to the schema it advertises: a field the listed schema does not admit is refused', async () => {
    harness = await startTestRuntime();
    // zod would strip the extra field and pass; the advertised schema (what clients check) forbids it.
    harness.runtime.tools.register(returning('test.strict', z.object({ count: z.number() }), { count: 1, extra: true }));
    const listed = (await harness.client.listTools()).tools.find((tool) => tool.name === 'test.strict');
    // Listed as "the data or an error object" (anyOf); the data's schema admits no other field.
    const [dataSchema] = listed?.outputSchema?.['anyOf'] as Array<Record<string, unknown>>;
    expect(dataSchema?.['additionalProperties']).toBe(false);
    const result = await callTool('test.strict');
    expect(result.structuredContent?.['code']).toBe('OUTPUT_INVALID');
  });

  it('checks JSON Schema output (plugin tools) without filling in defaults', async () => {
    harness = await startTestRuntime();
    const schema = { type: 'object' as const, properties: { count: { type: 'integer' }, unit: { type: 'string', default: 'items' } }, required: ['count'] };
    harness.runtime.tools.register(returning('test.json-ok', schema, { count: 3 }));
    harness.runtime.tools.register(returning('test.json-bad', schema, { count: 1.5 }));
    const ok = await callTool('test.json-ok');
    // Sent as the tool returned it: no `unit` added from the schema's default.
    expect(ok.structuredContent).toEqual({ count: 3 });
    const bad = await callTool('test.json-bad');
    expect(bad.structuredContent?.['code']).toBe('OUTPUT_INVALID');
    expect((bad.structuredContent?.['details'] as { problems: Array<{ field: string }> }).problems[0]?.field).toBe('count');
  });
});
