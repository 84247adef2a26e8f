import { NexusError } from '../errors/index.js';

/** A JSON value as stored: what JSON.parse can return. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

export interface StorableLimits {
  /** Largest serialised size in UTF-8 bytes (VALUE_TOO_LARGE beyond). */
  maxBytes: number;
  /** Deepest nesting of arrays/objects (INVALID_VALUE beyond). */
  maxDepth: number;
}

/**
 * Serialises a value for storage, refusing anything JSON cannot carry losslessly instead of
 * letting JSON.stringify quietly turn NaN into null, drop undefined, or write a lone surrogate
 * that SQLite would store as U+FFFD. The walk is iterative, so 10 000 levels of nesting are a
 * coded error rather than a stack overflow. `field` names the argument in error details.
 */
export function serializeStorable(value: unknown, limits: StorableLimits, field: string): string {
  assertJson(value, limits, field);
  const text = JSON.stringify(value);
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > limits.maxBytes) {
    throw new NexusError('VALUE_TOO_LARGE', `${field} is ${bytes} bytes serialised; the limit is ${limits.maxBytes} (memory.max_value_bytes)`, {
      details: { field, bytes, maxBytes: limits.maxBytes },
    });
  }
  return text;
}

// In /u mode a surrogate pair is one astral code point, so only unpaired halves match \p{Cs}.
const LONE_SURROGATE = /\p{Cs}/u;

/** A string that can be stored and read back unchanged (no lone UTF-16 surrogates). */
export function assertWellFormed(text: string, field: string): void {
  if (LONE_SURROGATE.test(text)) {
    throw new NexusError('INVALID_VALUE', `${field} contains a lone UTF-16 surrogate, which cannot be stored as UTF-8 without corruption`, { details: { field } });
  }
}

function assertJson(root: unknown, limits: StorableLimits, field: string): void {
  const { maxDepth, maxBytes } = limits;
  const stack: Array<{ value: unknown; depth: number; path: string }> = [{ value: root, depth: 0, path: field }];
  // Every node costs at least one byte serialised, so more nodes than maxBytes is too large; this
  // also bounds the walk when a programmatic caller shares one object many times over.
  let nodes = 0;
  for (let entry = stack.pop(); entry !== undefined; entry = stack.pop()) {
    const { value, depth, path } = entry;
    nodes += 1;
    if (nodes > maxBytes) {
      throw new NexusError('VALUE_TOO_LARGE', `${field} exceeds ${maxBytes} bytes (memory.max_value_bytes)`, { details: { field, maxBytes } });
    }
    if (value === null || typeof value === 'boolean') continue;
    if (typeof value === 'string') {
      assertWellFormed(value, path);
      continue;
    }
    if (typeof value === 'number') {
      if (!Number.isFinite(value)) invalid(path, `${String(value)} is not a JSON number`);
      continue;
    }
    if (typeof value !== 'object') invalid(path, `a ${typeof value} is not JSON`);
    if (depth >= maxDepth) {
      throw new NexusError('INVALID_VALUE', `${field} nests deeper than ${maxDepth} levels (memory.max_value_depth)`, { details: { field, maxDepth } });
    }
    if (Array.isArray(value)) {
      value.forEach((item, index) => stack.push({ value: item, depth: depth + 1, path: `${path}[${index}]` }));
      continue;
    }
    const prototype: unknown = Object.getPrototypeOf(value);
    if (prototype !== Object.prototype && prototype !== null) invalid(path, 'only plain objects are JSON');
    for (const [key, item] of Object.entries(value)) {
      assertWellFormed(key, `${path} key`);
      stack.push({ value: item, depth: depth + 1, path: `${path}.${key}` });
    }
  }
}

function invalid(path: string, reason: string): never {
  throw new NexusError('INVALID_VALUE', `${path}: ${reason}`, { details: { field: path } });
}

/** Parses stored JSON back; stored text was produced by serializeStorable. */
export function parseStored(text: string): JsonValue {
  return JSON.parse(text) as JsonValue;
}
