import { parse as parseTolerant, printParseErrorCode, type ParseError } from 'jsonc-parser';
import { NexusError } from '../../errors/index.js';

/** Deeper documents are refused: they would overflow the stack when serialised back. */
export const MAX_JSON_DEPTH = 1000;

function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  return { line, column: offset - before.lastIndexOf('\n') };
}

/**
 * Strict JSON.parse with a usable error. V8's messages do not always carry a position, so a
 * failure is re-scanned with jsonc-parser (comments and trailing commas disallowed) to locate it.
 */
export function parseJsonStrict(text: string): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    const errors: ParseError[] = [];
    parseTolerant(text, errors, { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false });
    const first = errors[0];
    const fromMessage = /position (\d+)/.exec(error instanceof Error ? error.message : '');
    const position = first?.offset ?? (fromMessage?.[1] === undefined ? 0 : Number(fromMessage[1]));
    const reason = first ? printParseErrorCode(first.error) : error instanceof Error ? error.message : 'invalid JSON';
    const where = lineAndColumn(text, position);
    throw new NexusError('INVALID_JSON', `Invalid JSON: ${reason} at line ${where.line}, column ${where.column} (position ${position})`, {
      details: { position, ...where, reason },
    });
  }
  const depth = jsonDepth(value);
  if (depth > MAX_JSON_DEPTH) {
    throw new NexusError('INVALID_JSON', `Invalid JSON: nested ${depth} levels deep (the limit is ${MAX_JSON_DEPTH})`, { details: { depth } });
  }
  return value;
}

/** Nesting depth without recursion (the input may be hostile). */
export function jsonDepth(value: unknown): number {
  let deepest = 0;
  const stack: Array<[unknown, number]> = [[value, 1]];
  for (let item = stack.pop(); item !== undefined; item = stack.pop()) {
    const [node, depth] = item;
    if (typeof node !== 'object' || node === null) continue;
    deepest = Math.max(deepest, depth);
    for (const child of Object.values(node)) stack.push([child, depth + 1]);
  }
  return deepest;
}

type Step = { key: string } | { index: number };

/**
 * Parses the original's dotted paths — `a.b`, `a.b[0].c`, `[1]` — plus `a[0][1]`, negative
 * indexes from the end, and quoted keys for names with dots or brackets (`a["x.y"]`).
 * Empty segments are ignored, as in the original.
 */
export function parseDottedPath(path: string): Step[] {
  const steps: Step[] = [];
  let index = 0;
  const fail = (message: string): never => {
    throw new NexusError('INVALID_JSON_PATH', `Invalid path "${path}": ${message}`, { details: { path, position: index } });
  };
  while (index < path.length) {
    const char = path[index];
    if (char === '.') {
      index += 1;
    } else if (char === '[') {
      const quote = path[index + 1];
      if (quote === '"' || quote === "'") {
        const end = findClosingQuote(path, index + 1, quote);
        if (end === -1 || path[end + 1] !== ']') fail('unterminated quoted key');
        steps.push({ key: path.slice(index + 2, end).replace(/\\(.)/g, '$1') });
        index = end + 2;
      } else {
        const close = path.indexOf(']', index);
        if (close === -1) fail('unclosed "["');
        const inner = path.slice(index + 1, close).trim();
        if (!/^-?\d+$/.test(inner)) fail(`invalid array index "${inner}"`);
        steps.push({ index: Number(inner) });
        index = close + 1;
      }
    } else {
      const end = path.slice(index).search(/[.[]/);
      const stop = end === -1 ? path.length : index + end;
      steps.push({ key: path.slice(index, stop) });
      index = stop;
    }
  }
  return steps;
}

function findClosingQuote(text: string, open: number, quote: string): number {
  for (let index = open + 1; index < text.length; index += 1) {
    if (text[index] === '\\') index += 1;
    else if (text[index] === quote) return index;
  }
  return -1;
}

/** Walks a dotted path; a missing key or index is JSON_PATH_NOT_FOUND with the original's wording. */
export function selectDotted(value: unknown, path: string): unknown {
  let current = value;
  let walked = '';
  for (const step of parseDottedPath(path)) {
    const notFound = (message: string): never => {
      throw new NexusError('JSON_PATH_NOT_FOUND', message, { details: { path, at: walked || '(root)' } });
    };
    if ('key' in step && Array.isArray(current) && /^\d+$/.test(step.key)) {
      current = indexInto(current, Number(step.key), notFound);
    } else if ('key' in step) {
      if (typeof current !== 'object' || current === null || Array.isArray(current) || !Object.hasOwn(current, step.key)) notFound(`Key not found: ${step.key}`);
      current = (current as Record<string, unknown>)[step.key];
    } else {
      if (!Array.isArray(current)) notFound(`Index ${step.index} applied to a value that is not an array`);
      current = indexInto(current as unknown[], step.index, notFound);
    }
    walked += 'key' in step ? `.${step.key}` : `[${step.index}]`;
  }
  return current;
}

function indexInto(array: unknown[], index: number, notFound: (message: string) => never): unknown {
  const position = index < 0 ? array.length + index : index;
  if (position < 0 || position >= array.length) notFound(`Index ${index} out of bounds`);
  return array[position];
}
