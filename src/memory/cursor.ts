import { NexusError } from '../errors/index.js';

/**
 * Opaque pagination cursors for memory lists: base64url JSON tagged with the list they belong to,
 * so a cursor from another list (or namespace) or a forged one is INVALID_CURSOR.
 */
export function encodeCursor(list: string, position: Record<string, string | number>): string {
  return Buffer.from(JSON.stringify({ list, ...position })).toString('base64url');
}

export function decodeCursor<K extends string>(cursor: string, list: string, fields: Record<K, 'string' | 'number'>): Record<K, string | number> {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (typeof parsed === 'object' && parsed !== null && (parsed as { list?: unknown }).list === list) {
      const record = parsed as Record<string, unknown>;
      const entries = Object.keys(fields).map((field) => [field, record[field]] as const);
      if (entries.every(([field, value]) => typeof value === fields[field as K])) return Object.fromEntries(entries) as Record<K, string | number>;
    }
  } catch {
    // fall through to the coded error
  }
  throw new NexusError('INVALID_CURSOR', 'Invalid pagination cursor', { details: { cursor } });
}
