import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestRuntime, type TestRuntime } from '../support/runtime.js';

let harness: TestRuntime;
beforeAll(async () => {
  harness = await startTestRuntime({ security: { regex_timeout_ms: 300 } });
});
afterAll(async () => {
  await harness.close();
});

type Result = Awaited<ReturnType<TestRuntime['client']['callTool']>>;
async function call(name: string, args: Record<string, unknown>): Promise<Result> {
  return harness.client.callTool({ name, arguments: args });
}
function text(result: Result): string {
  const [first] = result.content as Array<{ type: string; text: string }>;
  return first?.text ?? '';
}
function errorOf(result: Result): { code: string; message: string; details: Record<string, unknown> } {
  expect(result.isError).toBe(true);
  return result.structuredContent as { code: string; message: string; details: Record<string, unknown> };
}

describe('data tools are listed with full metadata', () => {
  it('every tool has a title, four annotations and an output schema', async () => {
    const { tools } = await harness.client.listTools();
    const names = ['uuid.generate', 'base64.encode', 'base64.decode', 'json.parse', 'json.query', 'hash.sha256', 'regex.match', 'regex.replace'];
    for (const name of names) {
      const tool = tools.find((candidate) => candidate.name === name);
      expect(tool, name).toBeDefined();
      expect(tool?.title).toBeTruthy();
      expect(Object.keys(tool?.annotations ?? {}).sort()).toEqual(['destructiveHint', 'idempotentHint', 'openWorldHint', 'readOnlyHint']);
      expect(tool?.outputSchema?.type).toBe('object');
    }
  });
});

describe('uuid.generate', () => {
  const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

  it('returns one bare UUID by default, as the original did', async () => {
    const result = await call('uuid.generate', {});
    expect(text(result)).toMatch(UUID);
    expect(result.structuredContent).toEqual({ uuids: [text(result)], count: 1 });
  });

  it('returns a pretty JSON array of distinct UUIDs for count > 1 and clamps to 100', async () => {
    const three = await call('uuid.generate', { count: 3 });
    const parsed = JSON.parse(text(three)) as string[];
    expect(parsed).toHaveLength(3);
    expect(new Set(parsed).size).toBe(3);
    expect(text(three)).toContain('\n  "');
    const many = await call('uuid.generate', { count: 500 });
    expect((many.structuredContent as { count: number }).count).toBe(100);
    expect(text(await call('uuid.generate', { count: 0 }))).toBe('[]');
  });

  it('refuses a fractional count instead of guessing', async () => {
    expect(errorOf(await call('uuid.generate', { count: 1.5 })).code).toBe('INVALID_ARGUMENTS');
  });
});

describe('base64', () => {
  it('encodes UTF-8 text with padding and decodes it back (raw text results)', async () => {
    const encoded = await call('base64.encode', { text: 'héllo wörld' });
    expect(text(encoded)).toBe(Buffer.from('héllo wörld').toString('base64'));
    const decoded = await call('base64.decode', { encoded: text(encoded) });
    expect(text(decoded)).toBe('héllo wörld');
    expect(decoded.structuredContent).toEqual({ decoded: 'héllo wörld', encoding: 'utf8', bytes: 13 });
  });

  it('supports base64url without padding', async () => {
    const bytes = Buffer.from([0xfb, 0xff, 0xfe]);
    const encoded = await call('base64.encode', { text: '\u{FFFE}', variant: 'url' });
    expect(text(encoded)).not.toMatch(/[+/=]/);
    const hex = await call('base64.decode', { encoded: bytes.toString('base64url'), variant: 'url', output_encoding: 'hex' });
    expect(text(hex)).toBe('fbfffe');
  });

  it.each([
    ['abc$', 3],
    ['SGVsbG8=garbage', 7],
    ['SGVsbG8', 7],
    ['QR==', 1],
    ['A', 1],
    ['SGVs bG8=', 4],
  ])('rejects %j with INVALID_BASE64 at position %i (Node alone would accept most of these)', async (encoded, position) => {
    const error = errorOf(await call('base64.decode', { encoded }));
    expect(error.code).toBe('INVALID_BASE64');
    expect(error.details['position']).toBe(position);
  });

  it('reports NOT_UTF8 for binary bytes and offers hex', async () => {
    expect(errorOf(await call('base64.decode', { encoded: '/w==' })).code).toBe('NOT_UTF8');
    expect(text(await call('base64.decode', { encoded: '/w==', output_encoding: 'hex' }))).toBe('ff');
  });
});

describe('hash.sha256', () => {
  it('returns the lowercase hex digest of the UTF-8 bytes', async () => {
    expect(text(await call('hash.sha256', { text: 'hello' }))).toBe('2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824');
    const result = await call('hash.sha256', { text: 'é' });
    expect(text(result)).toBe(createHash('sha256').update(Buffer.from([0xc3, 0xa9])).digest('hex'));
    expect(result.structuredContent).toMatchObject({ algorithm: 'sha256', bytes: 2 });
  });

  it('hashes base64-given bytes', async () => {
    expect(text(await call('hash.sha256', { text: '/w==', input_encoding: 'base64' }))).toBe(createHash('sha256').update(Buffer.from([0xff])).digest('hex'));
  });
});

describe('json.parse', () => {
  it('returns pretty re-serialised JSON and the value', async () => {
    const result = await call('json.parse', { text: '{"a":[1,2],"b":null}' });
    expect(text(result)).toBe(JSON.stringify({ a: [1, 2], b: null }, null, 2));
    expect(result.structuredContent).toEqual({ value: { a: [1, 2], b: null }, type: 'object' });
  });

  it('locates invalid JSON by line and column', async () => {
    const error = errorOf(await call('json.parse', { text: '{\n  "a": 1,\n  "b": }' }));
    expect(error.code).toBe('INVALID_JSON');
    expect(error.details).toMatchObject({ line: 3, column: 8, position: 19 });
    expect(error.message).toContain('line 3, column 8');
    expect(errorOf(await call('json.parse', { text: '{"a":1,}' })).code).toBe('INVALID_JSON');
    expect(errorOf(await call('json.parse', { text: '' })).code).toBe('INVALID_JSON');
  });

  it('refuses absurdly deep nesting instead of overflowing the stack later', async () => {
    const deep = '['.repeat(5000) + ']'.repeat(5000);
    const error = errorOf(await call('json.parse', { text: deep }));
    expect(error.code).toBe('INVALID_JSON');
    expect(error.message).toContain('5000');
  });
});

describe('json.query', () => {
  const doc = { users: [{ name: 'ada', tags: ['x', 'y'], id: 1 }, { name: 'bob', tags: [], id: 2 }], meta: { 'a.b': 3 }, grid: [[1, 2], [3, 4]] };

  it('follows the original dotted paths and returns pretty JSON', async () => {
    const result = await call('json.query', { json: doc, path: 'users[0].name' });
    expect(text(result)).toBe('"ada"');
    expect(result.structuredContent).toEqual({ language: 'dotted', value: 'ada' });
    expect((await call('json.query', { json: doc, path: 'users[1]' })).structuredContent).toMatchObject({ value: doc.users[1] });
    expect((await call('json.query', { json: [10, 20], path: '[1]' })).structuredContent).toMatchObject({ value: 20 });
    expect((await call('json.query', { json: doc, path: 'users..id' })).isError).toBe(true);
  });

  it('adds a[0][1], negative indexes and quoted keys, and accepts JSON text', async () => {
    expect((await call('json.query', { json: doc, path: 'grid[1][0]' })).structuredContent).toMatchObject({ value: 3 });
    expect((await call('json.query', { json: doc, path: 'users[-1].name' })).structuredContent).toMatchObject({ value: 'bob' });
    expect((await call('json.query', { json: doc, path: 'meta["a.b"]' })).structuredContent).toMatchObject({ value: 3 });
    expect((await call('json.query', { json: JSON.stringify(doc), path: 'users.0.tags.1' })).structuredContent).toMatchObject({ value: 'y' });
  });

  it('reports missing keys and indexes with the original wording', async () => {
    const missingKey = errorOf(await call('json.query', { json: doc, path: 'users[0].email' }));
    expect(missingKey).toMatchObject({ code: 'JSON_PATH_NOT_FOUND', message: 'Key not found: email' });
    const outOfBounds = errorOf(await call('json.query', { json: doc, path: 'users[5]' }));
    expect(outOfBounds).toMatchObject({ code: 'JSON_PATH_NOT_FOUND', message: 'Index 5 out of bounds' });
    expect(errorOf(await call('json.query', { json: doc, path: 'users[x]' })).code).toBe('INVALID_JSON_PATH');
    expect(errorOf(await call('json.query', { json: '{"a":', path: 'a' })).code).toBe('INVALID_JSON');
  });

  it('runs RFC 9535 JSONPath for $-paths with normalized result paths', async () => {
    const ids = await call('json.query', { json: doc, path: '$..id' });
    expect(ids.structuredContent).toEqual({ language: 'jsonpath', value: [1, 2], paths: ['$[\'users\'][0][\'id\']', '$[\'users\'][1][\'id\']'], count: 2, truncated: false });
    expect(JSON.parse(text(ids))).toEqual([1, 2]);
    const filtered = await call('json.query', { json: doc, path: '$.users[?length(@.tags) > 0].name' });
    expect((filtered.structuredContent as { value: unknown }).value).toEqual(['ada']);
    const none = await call('json.query', { json: doc, path: '$.nothing' });
    expect(none.structuredContent).toMatchObject({ value: [], count: 0 });
    const limited = await call('json.query', { json: doc, path: '$..*', limit: 2 });
    expect(limited.structuredContent).toMatchObject({ count: 2, truncated: true });
  });

  it('rejects malformed JSONPath with a position', async () => {
    const error = errorOf(await call('json.query', { json: doc, path: '$.users[' }));
    expect(error.code).toBe('INVALID_JSON_PATH');
    expect(typeof error.details['position']).toBe('number');
  });

  it('stops a catastrophic regex inside a JSONPath filter and keeps serving', async () => {
    const hostile = { items: [{ s: 'a'.repeat(50_000) + '!' }] };
    const error = errorOf(await call('json.query', { json: hostile, path: '$.items[?match(@.s, "(a+)+")]' }));
    expect(error.code).toBe('JSON_QUERY_TIMEOUT');
    expect(text(await call('echo', { text: 'still here' }))).toBe('still here');
  });
});

describe('regex.match', () => {
  it('returns the original non-global shape, with null for groups that did not take part', async () => {
    const result = await call('regex.match', { text: 'order 42 shipped', pattern: '(\\d+)( pending)?' });
    expect(JSON.parse(text(result))).toMatchObject({ found: true, match: '42', groups: ['42', '42', null] });
    expect(result.structuredContent).toMatchObject({ start: 6, end: 8 });
    const none = await call('regex.match', { text: 'abc', pattern: '\\d' });
    expect(none.structuredContent).toEqual({ found: false, match: null, groups: [] });
  });

  it('lists every match with UTF-8 byte offsets when global', async () => {
    const result = await call('regex.match', { text: 'é1 é22', pattern: '\\d+', global: true });
    expect(result.structuredContent).toMatchObject({
      found: true,
      count: 2,
      truncated: false,
      matches: [
        { match: '1', start: 2, end: 3 },
        { match: '22', start: 6, end: 8 },
      ],
    });
    const limited = await call('regex.match', { text: 'aaaa', pattern: 'a', global: true, limit: 2 });
    expect(limited.structuredContent).toMatchObject({ count: 2, truncated: true });
  });

  it('accepts the original\'s (?P<name>) groups and leading inline flags', async () => {
    const result = await call('regex.match', { text: 'Year: 2024', pattern: '(?i)year: (?P<year>\\d{4})' });
    expect(result.structuredContent).toMatchObject({ found: true, named_groups: { year: '2024' } });
  });

  it('reports a pattern that does not compile as INVALID_REGEX', async () => {
    expect(errorOf(await call('regex.match', { text: 'x', pattern: '(unclosed' })).code).toBe('INVALID_REGEX');
    expect(errorOf(await call('regex.match', { text: 'x', pattern: '(?x)a' })).code).toBe('INVALID_REGEX');
  });

  it('stops (a+)+$ on a 50k-character string with REGEX_TIMEOUT and keeps serving', async () => {
    const hostile = 'a'.repeat(50_000) + '!';
    const [first, second] = await Promise.all([
      call('regex.match', { text: hostile, pattern: '(a+)+$' }),
      call('regex.replace', { text: hostile, pattern: '(a|aa)+$', replacement: '' }),
    ]);
    expect(errorOf(first).code).toBe('REGEX_TIMEOUT');
    expect(errorOf(second).code).toBe('REGEX_TIMEOUT');
    const after = await call('regex.match', { text: 'still 1 here', pattern: '\\d' });
    expect(after.structuredContent).toMatchObject({ found: true, match: '1' });
  });
});

describe('regex.replace', () => {
  it('replaces every match by default and returns raw text', async () => {
    const result = await call('regex.replace', { text: 'a1 b2 c3', pattern: '(\\w)(\\d)', replacement: '$2$1' });
    expect(text(result)).toBe('1a 2b 3c');
    expect(result.structuredContent).toEqual({ result: '1a 2b 3c', replacements: 3 });
  });

  it('supports ${n}, ${name}, $<name>, $$ and global: false', async () => {
    const named = await call('regex.replace', { text: '2024-05', pattern: '(?P<y>\\d+)-(?P<m>\\d+)', replacement: '${m}/${y} $<y> $$${1}x' });
    expect(text(named)).toBe('05/2024 2024 $2024x');
    const once = await call('regex.replace', { text: 'aaa', pattern: 'a', replacement: 'b', global: false });
    expect(text(once)).toBe('baa');
  });

  it('refuses a result that would explode in size', async () => {
    const error = errorOf(await call('regex.replace', { text: 'x'.repeat(20_000), pattern: '', replacement: 'y'.repeat(1000) }));
    expect(error.code).toBe('RESULT_TOO_LARGE');
  });
});
