import { afterEach, describe, expect, it } from 'vitest';
import { NexusError } from '../../src/errors/index.js';
import { EvalFailure, EvalSandbox } from '../../src/tools/builtin/eval-sandbox.js';
import { byteOffsets, parseReplacement, translatePattern } from '../../src/tools/builtin/regex-syntax.js';

const CATASTROPHIC = { kind: 'regex.match', source: '(a+)+$', flags: 'u', text: 'a'.repeat(50_000) + '!', global: false, limit: 1 } as const;
const SIMPLE = { kind: 'regex.match', source: '\\d+', flags: 'u', text: 'abc 123', global: false, limit: 1 } as const;

let sandbox: EvalSandbox | undefined;
afterEach(async () => {
  await sandbox?.close();
  sandbox = undefined;
});

describe('EvalSandbox', () => {
  it('kills a catastrophic match at the deadline, then serves the next job (one worker slot)', async () => {
    sandbox = new EvalSandbox({ timeoutMs: 200, maxWorkers: 1 });
    const slow = sandbox.run(CATASTROPHIC, new AbortController().signal);
    const queued = sandbox.run(SIMPLE, new AbortController().signal);
    await expect(slow).rejects.toMatchObject({ reason: 'timeout' });
    await expect(slow).rejects.toBeInstanceOf(EvalFailure);
    expect((await queued).matches[0]?.match).toBe('123');
  });

  it('stops a running job when its signal aborts', async () => {
    sandbox = new EvalSandbox({ timeoutMs: 60_000 });
    // Fires while the 60 s-deadline job is spinning (or earlier, if start-up is slow: same outcome).
    const running = sandbox.run(CATASTROPHIC, AbortSignal.timeout(300));
    await expect(running).rejects.toMatchObject({ code: 'CANCELLED' });
    const controller = new AbortController();
    controller.abort(new NexusError('SHUTTING_DOWN', 'stopping'));
    await expect(sandbox.run(SIMPLE, controller.signal)).rejects.toMatchObject({ code: 'SHUTTING_DOWN' });
    expect((await sandbox.run(SIMPLE, new AbortController().signal)).matches).toHaveLength(1);
  });

  it('refuses work after close', async () => {
    sandbox = new EvalSandbox({ timeoutMs: 1000 });
    await sandbox.close();
    await expect(sandbox.run(SIMPLE, new AbortController().signal)).rejects.toMatchObject({ code: 'SHUTTING_DOWN' });
  });
});

describe('regex syntax compatibility', () => {
  it('translates (?P<name>) outside classes and escapes, and leading inline flags', () => {
    expect(translatePattern('(?i)(?P<a>x)[(?P<]\\(?P<b>', 'u')).toEqual({ source: '(?<a>x)[(?P<]\\(?P<b>', flags: 'ui' });
    expect(() => translatePattern('(?U)a', '')).toThrow(/not supported/);
  });

  it('parses replacement templates with the original\'s rules', () => {
    expect(parseReplacement('$1a ${1}a $name $<n> $$ $ ${')).toEqual([
      { name: '1a' },
      { literal: ' ' },
      { group: 1 },
      { literal: 'a ' },
      { name: 'name' },
      { literal: ' ' },
      { name: 'n' },
      { literal: ' $ $ ${' },
    ]);
  });

  it('converts UTF-16 indexes to UTF-8 byte offsets', () => {
    expect(byteOffsets('aé😀b', [0, 1, 2, 4, 5])).toEqual([0, 1, 3, 7, 8]);
  });
});
