import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { RegisteredTool } from '../tools/registry.js';

/**
 * Implicit piping: when a step leaves a required argument of its tool unset, the first such
 * argument receives the previous step's primary value. The rule, in order:
 *
 * 1. A step's value is its `structuredContent`, or else its text (parsed as JSON when it is JSON).
 * 2. Its primary value is the part a next tool most plausibly wants:
 *    - an HTTP response (`status` number and a `body`) → the `body`;
 *    - a value envelope (an object with a `value` field: json.query, json.parse, memory.recall) → `value`;
 *    - an object with exactly one field (echo's `{text}`) → that field;
 *    - anything else → the value itself.
 * 3. When the argument is declared as a string and the value is not one, it is passed as JSON
 *    text (a number as its digits).
 *
 * Only the *first* missing required argument is filled; anything else missing still fails the
 * executor's validation with INVALID_ARGUMENTS. Inside a foreach the current item plays the part
 * of the previous value. An explicit `{{prev…}}` or `{{steps.<id>…}}` always wins.
 */

/** What a successful call contributes to the workflow's scope. */
export function stepValue(result: CallToolResult): unknown {
  if (result.structuredContent !== undefined) return result.structuredContent;
  const text = result.content
    .filter((block): block is Extract<typeof block, { type: 'text' }> => block.type === 'text')
    .map((block) => block.text)
    .join('\n');
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** The part of a step's value that flows into the next step's missing argument. */
export function primaryValue(value: unknown): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
  const record = value as Record<string, unknown>;
  if (typeof record['status'] === 'number' && Object.hasOwn(record, 'body')) return record['body'];
  if (Object.hasOwn(record, 'value')) return record['value'];
  const keys = Object.keys(record);
  const [only] = keys;
  if (keys.length === 1 && only !== undefined) return record[only];
  return value;
}

/** The name of the argument that would be filled, or undefined when nothing required is missing. */
export function firstMissingRequired(entry: RegisteredTool, args: Record<string, unknown>): string | undefined {
  const required = entry.input.jsonSchema.required ?? [];
  return required.find((name) => !Object.hasOwn(args, name));
}

/** Returns args with the first missing required argument filled from `source`. */
export function fillMissing(entry: RegisteredTool, args: Record<string, unknown>, source: { value: unknown } | undefined): Record<string, unknown> {
  if (source === undefined) return args;
  const missing = firstMissingRequired(entry, args);
  if (missing === undefined) return args;
  const value = primaryValue(source.value);
  return { ...args, [missing]: declaredString(entry, missing) && typeof value !== 'string' ? (JSON.stringify(value) ?? 'null') : value };
}

/**
 * A whole-string template (`"{{steps.x.items}}"`) keeps its value's type; when the argument it fills
 * is declared as a string, the value goes in as JSON text instead, as piped values do.
 */
export function stringsWhereDeclared(entry: RegisteredTool, raw: Record<string, unknown>, rendered: Record<string, unknown>): Record<string, unknown> {
  let out = rendered;
  for (const [name, value] of Object.entries(rendered)) {
    if (typeof raw[name] !== 'string' || typeof value === 'string' || !declaredString(entry, name)) continue;
    out = { ...out, [name]: JSON.stringify(value) ?? 'null' };
  }
  return out;
}

function declaredString(entry: RegisteredTool, name: string): boolean {
  const property = entry.input.jsonSchema.properties?.[name];
  return typeof property === 'object' && property !== null && (property as { type?: unknown }).type === 'string';
}
