import { afterEach, describe, expect, it } from 'vitest';
import { errorOf, runOf, startWorkflowRuntime, type WorkflowHarness } from './support.js';

let harness: WorkflowHarness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

async function start(config: Parameters<typeof startWorkflowRuntime>[0] = {}): Promise<WorkflowHarness> {
  harness = await startWorkflowRuntime(config);
  return harness;
}

describe('templating', () => {
  it('keeps the type of a whole-string template and stringifies embedded ones', async () => {
    const h = await start();
    const result = await h.call('workflow.run', {
      input: { count: 3, tags: ['a', 'b'], who: 'Ada' },
      steps: [
        { id: 'typed', tool: 'test.capture', args: { value: '{{input.count}}' } },
        { id: 'array', tool: 'test.capture', args: { value: '{{input.tags}}' } },
        { id: 'indexed', tool: 'test.capture', args: { value: '{{input.tags[1]}}-{{input.tags.0}}' } },
        { id: 'embedded', tool: 'echo', args: { text: 'hello {{input.who}}, {{steps.typed.received}} items: {{input.tags}}' } },
        { id: 'escaped', tool: 'echo', args: { text: 'literal \\{{input.who}}' } },
      ],
    });
    const run = runOf(result);
    expect(h.control.captured.map((call) => call['value'])).toEqual([3, ['a', 'b'], 'b-a']);
    expect(run.output).toEqual({ text: 'literal {{input.who}}' });
    const embedded = await h.call('workflow.run', { input: { who: 'Ada' }, steps: [{ tool: 'echo', args: { text: 'hello {{input.who}}, {{input.missing_is_error}}' } }] });
    expect(errorOf(embedded).code).toBe('WORKFLOW_TEMPLATE_ERROR');
  });

  it('names the step and the reference when a path does not resolve, and runs nothing after it', async () => {
    const h = await start();
    const result = await h.call('workflow.run', {
      steps: [
        { id: 'first', tool: 'test.capture', args: { value: { items: [1, 2] } } },
        { id: 'second', tool: 'test.capture', args: { value: '{{steps.first.received.itemz}}' } },
        { id: 'third', tool: 'test.capture', args: { value: 'never' } },
      ],
    });
    const error = errorOf(result);
    expect(error.code).toBe('WORKFLOW_TEMPLATE_ERROR');
    expect(error.message).toContain('step "second"');
    expect(error.message).toContain('{{steps.first.received.itemz}}');
    expect(error.message).toContain('keys: items');
    expect(error.details['step']).toBe('second');
    expect(error.details['reference']).toBe('steps.first.received.itemz');
    expect(h.control.captured).toHaveLength(1);
    const steps = error.details['steps'] as Array<{ id: string; status: string }>;
    expect(steps.map((step) => step.status)).toEqual(['succeeded', 'failed', 'skipped']);
  });

  it('never evaluates templates found inside results or inputs (no double expansion)', async () => {
    const h = await start();
    await h.call('workflow.run', {
      input: { secret: 's3cret', hostile: '{{input.secret}}' },
      steps: [
        { id: 'first', tool: 'test.capture', args: { value: '{{input.hostile}}' } },
        { tool: 'test.capture', args: { value: 'got {{steps.first.received}}', note: '{{steps.first.received}}' } },
      ],
    });
    expect(h.control.captured).toEqual([{ value: '{{input.secret}}' }, { value: 'got {{input.secret}}', note: '{{input.secret}}' }]);
  });

  it('keeps an argument named __proto__ as an ordinary key', async () => {
    const h = await start();
    await h.call('workflow.run', { steps: [{ tool: 'test.capture', args: { value: JSON.parse('{"__proto__": {"polluted": "{{input.x}}"}}') as unknown } }], input: { x: 1 } });
    const received = h.control.captured[0]?.['value'] as Record<string, unknown>;
    expect(Object.hasOwn(received, '__proto__')).toBe(true);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  it('reports an index out of range with the array length', async () => {
    const h = await start();
    const result = await h.call('workflow.run', { input: { list: ['x'] }, steps: [{ tool: 'echo', args: { text: '{{input.list[3]}}' } }] });
    expect(errorOf(result).message).toContain('has no index 3 (length 1)');
  });
});

describe('validation before anything runs', () => {
  it('advertises the step shape in the input schemas', async () => {
    const h = await start();
    const { tools } = await h.client.listTools();
    const schema = (name: string): { properties: { steps: { items: Record<string, unknown> } } } => tools.find((tool) => tool.name === name)?.inputSchema as never;
    const full = schema('workflow.run').properties.steps.items['anyOf'] as Array<{ properties: Record<string, unknown>; required: string[] }>;
    expect(full.map((variant) => variant.required)).toEqual([['tool'], ['parallel']]);
    expect(Object.keys(full[0]!.properties)).toEqual(expect.arrayContaining(['id', 'tool', 'args', 'if', 'on_error', 'retries', 'backoff_ms', 'timeout_secs', 'fail_if', 'foreach', 'concurrency']));
    expect(schema('tools.chain').properties.steps.items).toMatchObject({ required: ['tool'], additionalProperties: false });
    expect(schema('workflow.define').properties.steps.items['anyOf']).toHaveLength(2);
  });

  it('lists every problem by JSON path and runs no step', async () => {
    const h = await start();
    const result = await h.call('workflow.run', {
      steps: [
        { id: 'a', tool: 'test.capture', args: { value: 'runs?' } },
        { id: 'a', tool: 'no.such.tool' },
        { tool: 'echo', args: { text: '{{steps.later.x}}' }, if: 'steps.a.received ==' },
        { id: 'later', tool: 'echo', args: { text: '{{item}}' }, on_error: 'sometimes' },
        { parallel: [{ tool: 'echo', args: { text: '{{prev}}' }, bogus: true }] },
      ],
    });
    const error = errorOf(result);
    expect(error.code).toBe('WORKFLOW_INVALID');
    const problems = error.details['problems'] as Array<{ path: string; message: string }>;
    const paths = problems.map((problem) => problem.path);
    expect(paths).toEqual(
      expect.arrayContaining(['$.steps[1].id', '$.steps[1].tool', '$.steps[2].if', '$.steps[2].args.text', '$.steps[3].on_error', '$.steps[4].parallel[0]']),
    );
    expect(problems.find((problem) => problem.path === '$.steps[1].tool')?.message).toContain('no.such.tool');
    expect(problems.find((problem) => problem.path === '$.steps[2].args.text')?.message).toContain('has not run yet');
    expect(h.control.captured).toHaveLength(0);
  });

  it('refuses prev in the first step and item outside foreach', async () => {
    const h = await start();
    const error = errorOf(await h.call('workflow.run', { steps: [{ tool: 'echo', args: { text: '{{prev.text}}' } }, { tool: 'echo', args: { text: '{{item}}' } }] }));
    const messages = (error.details['problems'] as Array<{ path: string; message: string }>).map((problem) => `${problem.path} ${problem.message}`);
    expect(messages).toEqual([expect.stringContaining('$.steps[0].args.text {{prev.text}}: the first step has no previous result'), expect.stringContaining('$.steps[1].args.text {{item}}')]);
  });

  it('refuses more steps than workflows.max_steps with a limit error', async () => {
    const h = await start({ workflows: { max_steps: 3 } });
    const steps = Array.from({ length: 4 }, () => ({ tool: 'echo', args: { text: 'x' } }));
    const error = errorOf(await h.call('workflow.run', { steps }));
    expect(error.code).toBe('WORKFLOW_LIMIT_EXCEEDED');
    expect(error.details).toMatchObject({ limit: 'max_steps', value: 4, max: 3 });
  });
});

describe('implicit piping', () => {
  it('fills the first missing required argument with the previous primary value', async () => {
    const h = await start();
    const result = await h.call('tools.chain', {
      steps: [
        { tool: 'json.parse', args: { text: '{"data": {"items": [{"n": 1}, {"n": 2}]}}' } },
        { tool: 'json.query', args: { path: 'data.items' } },
        { tool: 'test.capture', args: { note: 'piped' } },
        { tool: 'echo' },
      ],
    });
    const run = runOf(result);
    // json.parse's {value} envelope feeds json.query's `json`; json.query's value feeds capture's `value`.
    expect(h.control.captured).toEqual([{ note: 'piped', value: [{ n: 1 }, { n: 2 }] }]);
    // capture's single-field result is unwrapped, and echo's string argument receives it as JSON text.
    expect(run.output).toEqual({ text: '[{"n":1},{"n":2}]' });
  });

  it('does not override an argument that was given, and prev can be referenced explicitly', async () => {
    const h = await start();
    await h.call('workflow.run', {
      steps: [
        { tool: 'test.capture', args: { value: 'one' } },
        { tool: 'test.capture', args: { value: 'explicit', note: '{{prev.received}}' } },
      ],
    });
    expect(h.control.captured).toEqual([{ value: 'one' }, { value: 'explicit', note: 'one' }]);
  });
});

describe('conditions', () => {
  it('skips a step whose condition is false and runs one whose dotted condition is true', async () => {
    const h = await start();
    const result = await h.call('workflow.run', {
      input: { mode: 'full', limit: 5 },
      steps: [
        { id: 'status', tool: 'test.capture', args: { value: { clean: false, files: ['a.ts', 'b.ts'] } } },
        { id: 'when_dirty', tool: 'test.capture', args: { value: 'dirty' }, if: 'steps.status.received.clean == false and len(steps.status.received.files) < input.limit' },
        { id: 'when_clean', tool: 'test.capture', args: { value: 'clean' }, if: 'steps.status.received.clean' },
        { id: 'membership', tool: 'test.capture', args: { value: 'member' }, if: '"b.ts" in steps.status.received.files && input.mode != "quick"' },
        { id: 'optional', tool: 'test.capture', args: { value: 'absent' }, if: 'exists(steps.status.received.nope)' },
      ],
      output: { skipped: '{{steps.when_clean}}', ran: '{{steps.when_dirty.received}}' },
    });
    const run = runOf(result);
    expect(h.control.captured.map((call) => call['value'])).toEqual([{ clean: false, files: ['a.ts', 'b.ts'] }, 'dirty', 'member']);
    expect(run.steps.map((step) => [step['id'], step['status']])).toEqual([
      ['status', 'succeeded'],
      ['when_dirty', 'succeeded'],
      ['when_clean', 'skipped'],
      ['membership', 'succeeded'],
      ['optional', 'skipped'],
    ]);
    expect(run.output).toEqual({ skipped: null, ran: 'dirty' });
  });

  it('refuses code in a condition: no eval, unknown functions and assignments are syntax errors', async () => {
    const h = await start();
    for (const condition of ['constructor.constructor("return process")()', 'x = 1', 'process.exit(1)', 'steps.__proto__.polluted == 1 ; 2']) {
      const error = errorOf(await h.call('workflow.run', { steps: [{ tool: 'echo', args: { text: 'x' } }, { tool: 'echo', args: { text: 'y' }, if: condition }] }));
      expect(error.code).toBe('WORKFLOW_INVALID');
    }
    // Prototype keys are simply missing: the condition is false, nothing is reached through them.
    const run = runOf(await h.call('workflow.run', { steps: [{ id: 'a', tool: 'echo', args: { text: 'x' } }, { tool: 'test.capture', args: { value: 1 }, if: 'exists(steps.a.constructor) or exists(input.__proto__) or exists(steps.a.text.length)' }] }));
    expect(run.steps[1]?.['status']).toBe('skipped');
  });

  it('fails with a coded error when a condition compares incompatible types', async () => {
    const h = await start();
    const error = errorOf(await h.call('workflow.run', { input: { n: 'ten' }, steps: [{ id: 'check', tool: 'echo', args: { text: 'x' }, if: 'input.n > 5' }] }));
    expect(error.code).toBe('WORKFLOW_TEMPLATE_ERROR');
    expect(error.message).toContain('Cannot compare a string with a number');
  });
});

describe('errors and retries', () => {
  it('retries with exponential backoff until the step succeeds', async () => {
    const h = await start();
    const result = await h.call('workflow.run', { steps: [{ id: 'flaky', tool: 'test.flaky', args: { key: 'k', failures: 2 }, on_error: 'retry', retries: 3, backoff_ms: 40 }] });
    const run = runOf(result);
    expect(run.output).toEqual({ key: 'k', attempt: 3 });
    expect(run.steps[0]).toMatchObject({ status: 'succeeded', attempts: 3 });
    const times = h.control.attemptTimes.get('k') ?? [];
    expect(times).toHaveLength(3);
    // The waits are at least the configured backoff, doubling: 40 ms, then 80 ms.
    expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(35);
    expect(times[2]! - times[1]!).toBeGreaterThanOrEqual(75);
  });

  it('fails with the step error code and id once retries are exhausted', async () => {
    const h = await start();
    const error = errorOf(await h.call('workflow.run', { steps: [{ id: 'flaky', tool: 'test.flaky', args: { key: 'k', failures: 5 }, on_error: 'retry', retries: 2, backoff_ms: 1 }] }));
    expect(error.code).toBe('TOOL_EXECUTION_FAILED');
    expect(error.details['step']).toBe('flaky');
    expect(h.control.attemptTimes.get('k')).toHaveLength(3);
  });

  it('does not retry an error that retrying cannot fix', async () => {
    const h = await start();
    const error = errorOf(await h.call('workflow.run', { steps: [{ id: 'bad', tool: 'json.query', args: { json: { a: 1 }, path: 'b' }, on_error: 'retry', retries: 3, backoff_ms: 1 }] }));
    expect(error.code).toBe('JSON_PATH_NOT_FOUND');
    expect((error.details['steps'] as Array<{ id: string }>)[0]).toMatchObject({ id: 'bad', status: 'failed' });
  });

  it('continues past a failed step with on_error continue; its result reads as null and its error is available', async () => {
    const h = await start();
    const run = runOf(
      await h.call('workflow.run', {
        steps: [
          { id: 'broken', tool: 'test.flaky', args: { key: 'x', failures: 1 }, on_error: 'continue' },
          { id: 'after', tool: 'test.capture', args: { value: '{{steps.broken}}', note: '{{errors.broken.code}}' } },
        ],
      }),
    );
    expect(h.control.captured).toEqual([{ value: null, note: 'TOOL_EXECUTION_FAILED' }]);
    expect(run.steps[0]).toMatchObject({ status: 'failed', error: { code: 'TOOL_EXECUTION_FAILED' } });
  });

  it('counts a tool result with isError as a failure (the original counted it as success)', async () => {
    const h = await start();
    const error = errorOf(await h.call('workflow.run', { steps: [{ id: 'bad_args', tool: 'echo', args: { text: 42 } }, { tool: 'test.capture', args: { value: 'never' } }] }));
    expect(error.code).toBe('INVALID_ARGUMENTS');
    expect(error.details['step']).toBe('bad_args');
    expect(h.control.captured).toHaveLength(0);
  });

  it('fail_if turns a successful result into a failure that can be retried', async () => {
    const h = await start();
    const error = errorOf(await h.call('workflow.run', { steps: [{ id: 'check', tool: 'test.capture', args: { value: { status: 503 } }, fail_if: 'result.received.status >= 500', on_error: 'retry', retries: 1, backoff_ms: 1 }] }));
    expect(error.code).toBe('TOOL_EXECUTION_FAILED');
    expect(error.message).toContain('fail_if');
    expect(h.control.captured).toHaveLength(2);
  });
});

describe('parallel and foreach', () => {
  it('runs a parallel group concurrently and keeps results in declaration order', async () => {
    const h = await start();
    const pending = h.call('workflow.run', {
      steps: [
        { id: 'group', parallel: [{ id: 'a', tool: 'test.gate', args: { name: 'a', value: 1 } }, { id: 'b', tool: 'test.gate', args: { name: 'b', value: 2 } }, { id: 'c', tool: 'test.gate', args: { name: 'c', value: 3 } }] },
        { tool: 'test.capture', args: { value: '{{prev}}', note: 'b={{steps.b.value}}' } },
      ],
    });
    await h.control.whenStarted(3);
    // All three are running at once; finishing in reverse order must not change the result order.
    for (const name of ['c', 'b', 'a']) h.control.release(name);
    runOf(await pending);
    expect(h.control.captured[0]).toEqual({ value: [{ name: 'a', value: 1 }, { name: 'b', value: 2 }, { name: 'c', value: 3 }], note: 'b=2' });
  });

  it('runs foreach with a concurrency limit and returns results in input order', async () => {
    const h = await start();
    const pending = h.call('workflow.run', {
      input: { names: ['n0', 'n1', 'n2', 'n3'] },
      steps: [{ id: 'each', tool: 'test.gate', args: { name: '{{item}}', value: '{{index}}' }, foreach: '{{input.names}}', concurrency: 2 }],
    });
    await h.control.whenStarted(2);
    expect(h.control.started).toEqual(['n0', 'n1']);
    h.control.release('n1');
    await h.control.whenStarted(3);
    expect(h.control.started).toEqual(['n0', 'n1', 'n2']);
    h.control.release('n2');
    await h.control.whenStarted(4);
    h.control.release('n3');
    h.control.release('n0');
    const run = runOf(await pending);
    expect(run.output).toEqual([0, 1, 2, 3].map((index) => ({ name: `n${index}`, value: index })));
    expect(run.steps[0]).toMatchObject({ status: 'succeeded', items: { total: 4, succeeded: 4, failed: 0 } });
  });

  it('pipes each item into a foreach step missing its required argument', async () => {
    const h = await start();
    const run = runOf(await h.call('tools.chain', { steps: [{ tool: 'json.parse', args: { text: '["x", "y"]' } }] }));
    expect(run.output).toEqual({ value: ['x', 'y'], type: 'array' });
    await h.call('workflow.run', { steps: [{ id: 'list', tool: 'json.parse', args: { text: '[1, 2]' } }, { tool: 'test.capture', foreach: '{{steps.list.value}}' }] });
    expect(h.control.captured).toEqual([{ value: 1 }, { value: 2 }]);
  });

  it('refuses a foreach over something that is not an array, and more items than the limit', async () => {
    const h = await start({ workflows: { max_foreach_items: 2 } });
    const notArray = errorOf(await h.call('workflow.run', { input: { x: { a: 1 } }, steps: [{ id: 'loop', tool: 'test.capture', foreach: '{{input.x}}' }] }));
    expect(notArray.code).toBe('WORKFLOW_TEMPLATE_ERROR');
    expect(notArray.message).toContain('must resolve to an array');
    const tooMany = errorOf(await h.call('workflow.run', { input: { x: [1, 2, 3] }, steps: [{ id: 'loop', tool: 'test.capture', foreach: '{{input.x}}' }] }));
    expect(tooMany.code).toBe('WORKFLOW_LIMIT_EXCEEDED');
    expect(h.control.captured).toHaveLength(0);
  });
});

describe('timeouts', () => {
  it('aborts a step past its timeout_secs with TOOL_TIMEOUT naming the step', async () => {
    const h = await start();
    const error = errorOf(await h.call('workflow.run', { steps: [{ id: 'slow', tool: 'test.gate', args: { name: 'never' }, timeout_secs: 0.2 }] }));
    expect(error.code).toBe('TOOL_TIMEOUT');
    expect(error.details['step']).toBe('slow');
    expect(h.control.aborted).toEqual(['never']);
  });

  it('stops the whole run at the workflow timeout and records it', async () => {
    const h = await start();
    const error = errorOf(await h.call('workflow.run', { timeout_secs: 0.2, steps: [{ id: 'slow', tool: 'test.gate', args: { name: 'forever' } }, { id: 'next', tool: 'echo', args: { text: 'x' } }] }));
    expect(error.code).toBe('WORKFLOW_TIMEOUT');
    const record = await h.call('workflow.run_get', { run_id: error.details['run_id'] });
    expect(record.structuredContent).toMatchObject({ status: 'failed', error: { code: 'WORKFLOW_TIMEOUT' } });
    const steps = (record.structuredContent as { steps: Array<{ id: string; status: string }> }).steps;
    expect(steps.map((step) => step.status)).toEqual(['failed', 'skipped']);
    expect(h.control.aborted).toEqual(['forever']);
  });
});
