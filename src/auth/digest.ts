import { hash } from 'node:crypto';

/**
 * JSON with object keys sorted at every level, so equal arguments give equal text whatever order
 * a client sent them in. Values JSON cannot carry (undefined, functions) are dropped as
 * JSON.stringify drops them.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value)) ?? 'null';
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (typeof value !== 'object' || value === null) return value;
  const sorted: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) sorted[key] = sortKeys((value as Record<string, unknown>)[key]);
  return sorted;
}

/**
 * SHA-256 (hex) of the canonical JSON of a call's arguments: the audit log can show that two calls
 * had the same arguments, or match a known value, without ever storing the values.
 */
export function argumentDigest(args: unknown): string {
  // The one-shot hash(): every tool call is digested, and a Hash object per call costs twice as much.
  return hash('sha256', canonicalJson(args ?? {}), 'hex');
}
