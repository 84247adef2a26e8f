/**
 * The workflow expression language: paths into earlier results (`steps.fetch.body.items[0]`),
 * literals, comparisons, boolean and arithmetic operators and a few named functions. It is parsed
 * by a small recursive-descent parser into a tree that is walked to evaluate: no `eval`, no
 * `new Function`, no access to anything but the data the engine hands in, and property lookups
 * only see own keys (so `__proto__` or `constructor` are simply missing). See
 * docs/decisions/0005-workflow-expressions.md for why this is hand-written.
 */

/** One path step: an object key or an array index (negative counts from the end). */
export type Segment = string | number;

export interface PathNode {
  readonly kind: 'path';
  readonly root: string;
  readonly segments: readonly Segment[];
  /** The path as written, for error messages. */
  readonly text: string;
}

export type ExpressionNode =
  | PathNode
  | { readonly kind: 'literal'; readonly value: string | number | boolean | null }
  | { readonly kind: 'array'; readonly items: readonly ExpressionNode[] }
  | { readonly kind: 'unary'; readonly op: '!' | '-'; readonly operand: ExpressionNode }
  | { readonly kind: 'binary'; readonly op: BinaryOp; readonly left: ExpressionNode; readonly right: ExpressionNode }
  | { readonly kind: 'logical'; readonly op: '&&' | '||'; readonly left: ExpressionNode; readonly right: ExpressionNode }
  | { readonly kind: 'call'; readonly name: FunctionName; readonly args: readonly ExpressionNode[] };

type BinaryOp = '==' | '!=' | '<' | '<=' | '>' | '>=' | '+' | '-' | '*' | '/' | '%' | 'in';

/** A syntax error with the offset where it was found. */
export class ExpressionSyntaxError extends Error {
  constructor(
    message: string,
    readonly position: number,
  ) {
    super(`${message} (at character ${position + 1})`);
    this.name = 'ExpressionSyntaxError';
  }
}

/** An evaluation error (type mismatch); the engine turns it into WORKFLOW_TEMPLATE_ERROR. */
export class ExpressionEvalError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ExpressionEvalError';
  }
}

const FUNCTIONS = {
  len: 1,
  exists: 1,
  empty: 1,
  contains: 2,
  starts_with: 2,
  ends_with: 2,
  lower: 1,
  upper: 1,
} as const;
type FunctionName = keyof typeof FUNCTIONS;

const MAX_EXPRESSION_LENGTH = 4000;
const MAX_NESTING = 64;

type Token =
  | { type: 'number'; value: number; pos: number }
  | { type: 'string'; value: string; pos: number }
  | { type: 'ident'; value: string; pos: number }
  | { type: 'op'; value: string; pos: number }
  | { type: 'end'; pos: number };

const OPERATORS = ['==', '!=', '<=', '>=', '&&', '||', '<', '>', '!', '+', '-', '*', '/', '%', '(', ')', '[', ']', '.', ','];
const IDENT_START = /[A-Za-z_]/;
const IDENT_PART = /[A-Za-z0-9_]/;

function tokenize(source: string): Token[] {
  if (source.length > MAX_EXPRESSION_LENGTH) throw new ExpressionSyntaxError(`Expression longer than ${MAX_EXPRESSION_LENGTH} characters`, MAX_EXPRESSION_LENGTH);
  const tokens: Token[] = [];
  let i = 0;
  while (i < source.length) {
    const char = source.charAt(i);
    if (/\s/.test(char)) {
      i += 1;
      continue;
    }
    const afterDot = tokens.at(-1)?.type === 'op' && (tokens.at(-1) as { value: string }).value === '.';
    if (/[0-9]/.test(char)) {
      // After a dot only an integer index may follow (`items.0.name`), never a decimal fraction.
      const match = (afterDot ? /^[0-9]+/ : /^[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?/).exec(source.slice(i));
      const text = match?.[0] ?? char;
      tokens.push({ type: 'number', value: Number(text), pos: i });
      i += text.length;
      continue;
    }
    if (char === '"' || char === "'") {
      const { value, end } = readString(source, i);
      tokens.push({ type: 'string', value, pos: i });
      i = end;
      continue;
    }
    if (IDENT_START.test(char)) {
      let end = i + 1;
      while (end < source.length && IDENT_PART.test(source.charAt(end))) end += 1;
      tokens.push({ type: 'ident', value: source.slice(i, end), pos: i });
      i = end;
      continue;
    }
    const op = OPERATORS.find((candidate) => source.startsWith(candidate, i));
    if (op === undefined) {
      const hint = char === '=' ? ' (use == to compare)' : '';
      throw new ExpressionSyntaxError(`Unexpected character "${char}"${hint}`, i);
    }
    tokens.push({ type: 'op', value: op, pos: i });
    i += op.length;
  }
  tokens.push({ type: 'end', pos: source.length });
  return tokens;
}

const ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', '"': '"', "'": "'" };

function readString(source: string, start: number): { value: string; end: number } {
  const quote = source.charAt(start);
  let value = '';
  let i = start + 1;
  while (i < source.length) {
    const char = source.charAt(i);
    if (char === quote) return { value, end: i + 1 };
    if (char === '\\') {
      const escaped = ESCAPES[source.charAt(i + 1)];
      if (escaped === undefined) throw new ExpressionSyntaxError(`Unknown escape "\\${source.charAt(i + 1)}" in string`, i);
      value += escaped;
      i += 2;
      continue;
    }
    value += char;
    i += 1;
  }
  throw new ExpressionSyntaxError('Unterminated string', start);
}

const COMPARISONS = new Set(['==', '!=', '<', '<=', '>', '>=']);

class Parser {
  private index = 0;
  private depth = 0;

  constructor(
    private readonly tokens: Token[],
    private readonly source: string,
  ) {}

  parseExpression(): ExpressionNode {
    const node = this.or();
    this.expectEnd();
    return node;
  }

  parsePathOnly(): PathNode {
    const token = this.peek();
    if (token.type !== 'ident' || isKeyword(token.value) || token.value in FUNCTIONS) {
      throw new ExpressionSyntaxError('Expected a reference such as steps.<id>.<field>, prev, input.<name> or item', token.pos);
    }
    this.index += 1;
    const node = this.path(token);
    this.expectEnd();
    return node;
  }

  private expectEnd(): void {
    const token = this.peek();
    if (token.type !== 'end') throw new ExpressionSyntaxError(`Unexpected ${describe(token)}`, token.pos);
  }

  private peek(): Token {
    return this.tokens[this.index] ?? { type: 'end', pos: this.source.length };
  }

  private next(): Token {
    const token = this.peek();
    this.index += 1;
    return token;
  }

  private isOp(value: string): boolean {
    const token = this.peek();
    return token.type === 'op' && token.value === value;
  }

  private isWord(value: string): boolean {
    const token = this.peek();
    return token.type === 'ident' && token.value === value;
  }

  private expectOp(value: string): void {
    const token = this.next();
    if (token.type !== 'op' || token.value !== value) throw new ExpressionSyntaxError(`Expected "${value}" but found ${describe(token)}`, token.pos);
  }

  private nest<T>(work: () => T): T {
    this.depth += 1;
    if (this.depth > MAX_NESTING) throw new ExpressionSyntaxError(`Expression nested deeper than ${MAX_NESTING} levels`, this.peek().pos);
    try {
      return work();
    } finally {
      this.depth -= 1;
    }
  }

  private or(): ExpressionNode {
    let left = this.and();
    while (this.isOp('||') || this.isWord('or')) {
      this.next();
      left = { kind: 'logical', op: '||', left, right: this.and() };
    }
    return left;
  }

  private and(): ExpressionNode {
    let left = this.not();
    while (this.isOp('&&') || this.isWord('and')) {
      this.next();
      left = { kind: 'logical', op: '&&', left, right: this.not() };
    }
    return left;
  }

  private not(): ExpressionNode {
    if (this.isOp('!') || this.isWord('not')) {
      this.next();
      return this.nest(() => ({ kind: 'unary', op: '!', operand: this.not() }));
    }
    return this.comparison();
  }

  private comparison(): ExpressionNode {
    const left = this.additive();
    const token = this.peek();
    if ((token.type === 'op' && COMPARISONS.has(token.value)) || this.isWord('in')) {
      this.next();
      const op = (token as { value: string }).value as BinaryOp;
      return { kind: 'binary', op, left, right: this.additive() };
    }
    return left;
  }

  private additive(): ExpressionNode {
    let left = this.multiplicative();
    while (this.isOp('+') || this.isOp('-')) {
      const op = (this.next() as { value: string }).value as '+' | '-';
      left = { kind: 'binary', op, left, right: this.multiplicative() };
    }
    return left;
  }

  private multiplicative(): ExpressionNode {
    let left = this.unary();
    while (this.isOp('*') || this.isOp('/') || this.isOp('%')) {
      const op = (this.next() as { value: string }).value as '*' | '/' | '%';
      left = { kind: 'binary', op, left, right: this.unary() };
    }
    return left;
  }

  private unary(): ExpressionNode {
    if (this.isOp('-')) {
      this.next();
      return this.nest(() => ({ kind: 'unary', op: '-', operand: this.unary() }));
    }
    return this.primary();
  }

  private primary(): ExpressionNode {
    const token = this.next();
    switch (token.type) {
      case 'number':
        return { kind: 'literal', value: token.value };
      case 'string':
        return { kind: 'literal', value: token.value };
      case 'ident':
        return this.identifier(token);
      case 'op':
        if (token.value === '(') {
          const inner = this.nest(() => this.or());
          this.expectOp(')');
          return inner;
        }
        if (token.value === '[') return this.nest(() => this.arrayLiteral());
        throw new ExpressionSyntaxError(`Unexpected "${token.value}"`, token.pos);
      case 'end':
        throw new ExpressionSyntaxError('Unexpected end of expression', token.pos);
    }
  }

  private identifier(token: Extract<Token, { type: 'ident' }>): ExpressionNode {
    if (token.value === 'true') return { kind: 'literal', value: true };
    if (token.value === 'false') return { kind: 'literal', value: false };
    if (token.value === 'null') return { kind: 'literal', value: null };
    if (this.isOp('(')) {
      if (!(token.value in FUNCTIONS)) throw new ExpressionSyntaxError(`Unknown function "${token.value}" (known: ${Object.keys(FUNCTIONS).join(', ')})`, token.pos);
      const name = token.value as FunctionName;
      this.next();
      const args = this.nest(() => this.list(')'));
      if (args.length !== FUNCTIONS[name]) throw new ExpressionSyntaxError(`${name}() takes ${FUNCTIONS[name]} argument(s), got ${args.length}`, token.pos);
      return { kind: 'call', name, args };
    }
    if (isKeyword(token.value)) throw new ExpressionSyntaxError(`Unexpected "${token.value}"`, token.pos);
    return this.path(token);
  }

  private arrayLiteral(): ExpressionNode {
    return { kind: 'array', items: this.list(']') };
  }

  private list(close: string): ExpressionNode[] {
    const items: ExpressionNode[] = [];
    if (this.isOp(close)) {
      this.next();
      return items;
    }
    for (;;) {
      items.push(this.or());
      if (this.isOp(',')) {
        this.next();
        continue;
      }
      this.expectOp(close);
      return items;
    }
  }

  private path(rootToken: Extract<Token, { type: 'ident' }>): PathNode {
    const segments: Segment[] = [];
    let end = rootToken.pos + rootToken.value.length;
    for (;;) {
      if (this.isOp('.')) {
        this.next();
        const token = this.next();
        if (token.type === 'ident') segments.push(token.value);
        else if (token.type === 'number' && Number.isInteger(token.value)) segments.push(token.value);
        else throw new ExpressionSyntaxError(`Expected a field name or index after "." but found ${describe(token)}`, token.pos);
        end = token.pos + String(token.value).length;
        continue;
      }
      if (this.isOp('[')) {
        this.next();
        const negative = this.isOp('-');
        if (negative) this.next();
        const token = this.next();
        if (token.type === 'number' && Number.isInteger(token.value)) segments.push(negative ? -token.value : token.value);
        else if (token.type === 'string' && !negative) segments.push(token.value);
        else throw new ExpressionSyntaxError(`Expected an index or a quoted key inside [ ] but found ${describe(token)}`, token.pos);
        const close = this.peek();
        this.expectOp(']');
        end = close.pos + 1;
        continue;
      }
      return { kind: 'path', root: rootToken.value, segments, text: this.source.slice(rootToken.pos, end) };
    }
  }
}

function isKeyword(word: string): boolean {
  return word === 'and' || word === 'or' || word === 'not' || word === 'in' || word === 'true' || word === 'false' || word === 'null';
}

function describe(token: Token): string {
  switch (token.type) {
    case 'end':
      return 'the end of the expression';
    case 'string':
      return `the string "${token.value}"`;
    default:
      return `"${String(token.value)}"`;
  }
}

/** Parses a condition or other expression; throws ExpressionSyntaxError. */
export function parseExpression(source: string): ExpressionNode {
  return new Parser(tokenize(source), source).parseExpression();
}

/** Parses a bare reference (what goes between `{{` and `}}`); throws ExpressionSyntaxError. */
export function parsePath(source: string): PathNode {
  return new Parser(tokenize(source), source).parsePathOnly();
}

/** Every path an expression reads, for static checks. */
export function pathsOf(node: ExpressionNode): PathNode[] {
  switch (node.kind) {
    case 'path':
      return [node];
    case 'literal':
      return [];
    case 'array':
      return node.items.flatMap(pathsOf);
    case 'unary':
      return pathsOf(node.operand);
    case 'binary':
    case 'logical':
      return [...pathsOf(node.left), ...pathsOf(node.right)];
    case 'call':
      return node.args.flatMap(pathsOf);
  }
}

/** The outcome of following a path: the value, or where and why it stopped. */
export type Lookup = { ok: true; value: unknown } | { ok: false; at: string; reason: string };

/**
 * Marks a step that produced no value (skipped by its condition, or failed with
 * `on_error: continue`). Reading it, or anything below it, gives null rather than an error.
 */
export const NO_VALUE: unique symbol = Symbol('workflow.no-value');

/** Follows a path through own properties and array indexes only. */
export function lookupPath(scope: Readonly<Record<string, unknown>>, path: PathNode): Lookup {
  if (!Object.hasOwn(scope, path.root)) return { ok: false, at: path.root, reason: `"${path.root}" is not available here` };
  let current: unknown = scope[path.root];
  let walked = path.root;
  for (const segment of path.segments) {
    if (current === NO_VALUE) return { ok: true, value: null };
    const next = step(current, segment);
    if (!next.ok) return { ok: false, at: walked, reason: next.reason };
    current = next.value;
    walked += typeof segment === 'number' ? `[${segment}]` : `.${segment}`;
  }
  return { ok: true, value: current === NO_VALUE ? null : current };
}

function step(current: unknown, segment: Segment): { ok: true; value: unknown } | { ok: false; reason: string } {
  if (Array.isArray(current)) {
    const index = typeof segment === 'number' ? segment : /^-?[0-9]+$/.test(segment) ? Number(segment) : Number.NaN;
    if (Number.isNaN(index)) return { ok: false, reason: `is an array; "${segment}" is not an index` };
    const resolved = index < 0 ? current.length + index : index;
    if (resolved < 0 || resolved >= current.length) return { ok: false, reason: `has no index ${index} (length ${current.length})` };
    return { ok: true, value: current[resolved] };
  }
  if (typeof current === 'object' && current !== null) {
    const key = String(segment);
    if (!Object.hasOwn(current, key)) {
      const keys = Object.keys(current);
      const shown = keys.slice(0, 10).join(', ') + (keys.length > 10 ? ', …' : '');
      return { ok: false, reason: `has no key "${key}" (${keys.length ? `keys: ${shown}` : 'it is empty'})` };
    }
    return { ok: true, value: (current as Record<string, unknown>)[key] };
  }
  return { ok: false, reason: `is ${current === null ? 'null' : `a ${typeof current}`}, so it has no "${String(segment)}"` };
}

/**
 * Evaluates an expression. Paths that do not resolve read as null, so conditions can test for
 * optional fields (`exists(steps.fetch.body.next)`); type mismatches throw ExpressionEvalError.
 */
export function evaluate(node: ExpressionNode, scope: Readonly<Record<string, unknown>>): unknown {
  switch (node.kind) {
    case 'literal':
      return node.value;
    case 'path': {
      const found = lookupPath(scope, node);
      return found.ok ? found.value : null;
    }
    case 'array':
      return node.items.map((item) => evaluate(item, scope));
    case 'unary': {
      const operand = evaluate(node.operand, scope);
      if (node.op === '!') return !truthy(operand);
      return -asNumber(operand, 'negate');
    }
    case 'logical': {
      const left = truthy(evaluate(node.left, scope));
      if (node.op === '&&') return left && truthy(evaluate(node.right, scope));
      return left || truthy(evaluate(node.right, scope));
    }
    case 'binary':
      return binary(node.op, evaluate(node.left, scope), evaluate(node.right, scope));
    case 'call':
      return call(
        node.name,
        node.args.map((arg) => evaluate(arg, scope)),
      );
  }
}

/** Falsy: false, null, 0, NaN, "", [] and {}; everything else is true. */
export function truthy(value: unknown): boolean {
  if (value === null || value === undefined || value === false || value === '' || value === 0 || Number.isNaN(value)) return false;
  if (Array.isArray(value)) return value.length > 0;
  if (typeof value === 'object') return Object.keys(value).length > 0;
  return true;
}

function typeName(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

function asNumber(value: unknown, what: string): number {
  if (typeof value !== 'number') throw new ExpressionEvalError(`Cannot ${what} a ${typeName(value)} (a number is needed)`);
  return value;
}

function binary(op: BinaryOp, left: unknown, right: unknown): unknown {
  switch (op) {
    case '==':
      return deepEqual(left, right);
    case '!=':
      return !deepEqual(left, right);
    case '<':
    case '<=':
    case '>':
    case '>=':
      return compare(op, left, right);
    case '+':
      if (typeof left === 'string' && typeof right === 'string') return left + right;
      return asNumber(left, 'add') + asNumber(right, 'add');
    case '-':
      return asNumber(left, 'subtract') - asNumber(right, 'subtract');
    case '*':
      return asNumber(left, 'multiply') * asNumber(right, 'multiply');
    case '/':
      return asNumber(left, 'divide') / asNumber(right, 'divide');
    case '%':
      return asNumber(left, 'take the remainder of') % asNumber(right, 'take the remainder of');
    case 'in':
      return contains(right, left);
  }
}

function compare(op: '<' | '<=' | '>' | '>=', left: unknown, right: unknown): boolean {
  const bothNumbers = typeof left === 'number' && typeof right === 'number';
  const bothStrings = typeof left === 'string' && typeof right === 'string';
  if (!bothNumbers && !bothStrings) throw new ExpressionEvalError(`Cannot compare a ${typeName(left)} with a ${typeName(right)} using ${op}`);
  const a = left;
  const b = right;
  switch (op) {
    case '<':
      return a < b;
    case '<=':
      return a <= b;
    case '>':
      return a > b;
    case '>=':
      return a >= b;
  }
}

function contains(haystack: unknown, needle: unknown): boolean {
  if (Array.isArray(haystack)) return haystack.some((item) => deepEqual(item, needle));
  if (typeof haystack === 'string') {
    if (typeof needle !== 'string') throw new ExpressionEvalError(`Cannot look for a ${typeName(needle)} in a string`);
    return haystack.includes(needle);
  }
  if (typeof haystack === 'object' && haystack !== null) {
    if (typeof needle !== 'string') throw new ExpressionEvalError(`Object keys are strings; cannot look for a ${typeName(needle)}`);
    return Object.hasOwn(haystack, needle);
  }
  throw new ExpressionEvalError(`Cannot look inside a ${typeName(haystack)} (an array, string or object is needed)`);
}

function call(name: FunctionName, args: unknown[]): unknown {
  const [first, second] = args;
  switch (name) {
    case 'len':
      if (typeof first === 'string' || Array.isArray(first)) return first.length;
      if (typeof first === 'object' && first !== null) return Object.keys(first).length;
      throw new ExpressionEvalError(`len() needs a string, array or object, got a ${typeName(first)}`);
    case 'exists':
      return first !== null && first !== undefined;
    case 'empty':
      return !truthy(first) && first !== 0 && first !== false;
    case 'contains':
      return contains(first, second);
    case 'starts_with':
    case 'ends_with':
      if (typeof first !== 'string' || typeof second !== 'string') throw new ExpressionEvalError(`${name}() needs two strings`);
      return name === 'starts_with' ? first.startsWith(second) : first.endsWith(second);
    case 'lower':
    case 'upper':
      if (typeof first !== 'string') throw new ExpressionEvalError(`${name}() needs a string, got a ${typeName(first)}`);
      return name === 'lower' ? first.toLowerCase() : first.toUpperCase();
  }
}

/** Structural equality over JSON values; null and a missing value are equal. */
export function deepEqual(a: unknown, b: unknown): boolean {
  const left = a === undefined ? null : a;
  const right = b === undefined ? null : b;
  if (left === right) return true;
  if (typeof left !== 'object' || typeof right !== 'object' || left === null || right === null) return false;
  if (Array.isArray(left) !== Array.isArray(right)) return false;
  if (Array.isArray(left) && Array.isArray(right)) return left.length === right.length && left.every((item, index) => deepEqual(item, right[index]));
  const leftKeys = Object.keys(left);
  const rightRecord = right as Record<string, unknown>;
  return leftKeys.length === Object.keys(right).length && leftKeys.every((key) => Object.hasOwn(rightRecord, key) && deepEqual((left as Record<string, unknown>)[key], rightRecord[key]));
}
