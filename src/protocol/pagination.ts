import { NexusError } from '../errors/index.js';

/**
 * Opaque cursors for every MCP list: base64url of `{list, offset}`. A cursor from another list
 * or a forged one is INVALID_CURSOR (-32602), as the spec recommends.
 */
export function paginate<T>(items: readonly T[], options: { list: string; cursor: string | undefined; pageSize: number }): { page: T[]; nextCursor?: string } {
  const offset = options.cursor === undefined ? 0 : decodeCursor(options.cursor, options.list);
  const page = items.slice(offset, offset + options.pageSize);
  const next = offset + options.pageSize;
  return next < items.length ? { page, nextCursor: encodeCursor(options.list, next) } : { page };
}

function encodeCursor(list: string, offset: number): string {
  return Buffer.from(JSON.stringify({ list, offset })).toString('base64url');
}

function decodeCursor(cursor: string, list: string): number {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (typeof parsed === 'object' && parsed !== null && 'list' in parsed && 'offset' in parsed) {
      const { list: cursorList, offset } = parsed;
      if (cursorList === list && typeof offset === 'number' && Number.isInteger(offset) && offset >= 0) return offset;
    }
  } catch {
    // fall through to the coded error
  }
  throw new NexusError('INVALID_CURSOR', 'Invalid pagination cursor', { details: { cursor } });
}
