import { describe, expect, it } from 'vitest';
import { evaluate, ExpressionEvalError, ExpressionSyntaxError, parseExpression, parsePath } from '../../src/workflows/expression.js';
import { parseTemplate, render } from '../../src/workflows/template.js';

const scope = {
  input: { n: 3, name: 'Ada', tags: ['x', 'y'], nested: { 'odd key': true } },
  steps: { fetch: { status: 200, body: { items: [{ id: 1 }, { id: 2 }] } } },
  prev: { ok: true },
  errors: {},
};
const run = (source: string): unknown => evaluate(parseExpression(source), scope);

describe('expressions', () => {
  it('evaluates comparisons, boolean logic, arithmetic, membership and functions', () => {
    expect(run('steps.fetch.status == 200 and input.n >= 3')).toBe(true);
    expect(run('not (input.n > 3) && !false')).toBe(true);
    expect(run('input.n * 2 + 1 == 7 or 1 / 0 > 0')).toBe(true);
    expect(run('"y" in input.tags and "d" in input.name and "items" in steps.fetch.body')).toBe(true);
    expect(run('len(steps.fetch.body.items) == 2 && steps.fetch.body.items[-1].id == 2 && steps.fetch.body.items.0.id == 1')).toBe(true);
    expect(run('input.nested["odd key"] and starts_with(lower(input.name), "ad") and ends_with(upper(input.name), "DA")')).toBe(true);
    expect(run('[1, 2] == [1, 2] and [1] != [2] and null == input.missing')).toBe(true);
    expect(run('exists(steps.fetch.body.next) or empty(steps.fetch.body.next)')).toBe(true);
    expect(run("contains(input.tags, 'x') and 'it\\'s' == \"it's\"")).toBe(true);
  });

  it('reads missing paths as null and never reaches prototypes', () => {
    expect(run('input.missing.deeper == null')).toBe(true);
    expect(run('exists(input.constructor) or exists(input.__proto__) or exists(input.tags.length) or exists(input.name.length)')).toBe(false);
  });

  it('throws a type error rather than coercing', () => {
    expect(() => run('input.name > 2')).toThrow(ExpressionEvalError);
    expect(() => run('input.name - 1')).toThrow(ExpressionEvalError);
    expect(() => run('1 in 5')).toThrow(ExpressionEvalError);
  });

  it('rejects anything that is not the language, with a position', () => {
    for (const source of ['a = 1', 'a.b(', 'eval("1")', 'x ? 1 : 2', '"unterminated', 'a..b', 'steps.', '`template`', 'a; b', '() => 1', 'new Date()', 'a[b]']) {
      expect(() => parseExpression(source), source).toThrow(ExpressionSyntaxError);
    }
    expect(() => parseExpression('a = 1')).toThrow(/use == to compare/);
  });

  it('bounds hostile input: nesting depth and length', () => {
    expect(() => parseExpression('('.repeat(200) + '1' + ')'.repeat(200))).toThrow(/nested deeper/);
    expect(() => parseExpression('!'.repeat(500) + 'true')).toThrow(/nested deeper/);
    expect(() => parseExpression('1 + '.repeat(2000) + '1')).toThrow(/longer than/);
  });
});

describe('templates', () => {
  it('parses whole, embedded and escaped templates', () => {
    expect(parseTemplate('{{ steps.fetch.status }}').kind).toBe('whole');
    expect(parseTemplate('a {{input.n}} b').kind).toBe('parts');
    expect(parseTemplate('\\{{input.n}}')).toEqual({ kind: 'text', text: '{{input.n}}' });
    expect(() => parseTemplate('{{input.n')).toThrow(/Unclosed/);
    expect(() => parseTemplate('{{ 1 + 1 }}')).toThrow(/Bad reference/);
    expect(parsePath('input.tags[0]').segments).toEqual(['tags', 0]);
  });

  it('renders nested arguments, keeping types of whole templates', () => {
    const rendered = render({ list: '{{steps.fetch.body.items}}', text: 'n={{input.n}} {{input.tags}}', deep: [{ v: '{{input.nested}}' }], n: 5 }, scope, { step: 's' });
    expect(rendered).toEqual({ list: [{ id: 1 }, { id: 2 }], text: 'n=3 ["x","y"]', deep: [{ v: { 'odd key': true } }], n: 5 });
    expect(() => render('{{input.tags[5]}}', scope, { step: 's', tool: 't' })).toThrow(/In step "s" \(t\), \{\{input.tags\[5\]\}\} does not resolve: input.tags has no index 5/);
  });
});
