import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES, NexusError, toCliError, toHttpError, toJsonRpcError, toToolErrorResult, type ErrorCode } from '../src/errors/index.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const REGENERATE = 'regenerate it with `node scripts/gen-errors-doc.mjs`';

interface DocRow {
  code: string;
  http: number;
  jsonRpc: number;
  meaning: string;
}

/** Rows of the `| CODE | HTTP | JSON-RPC | meaning |` table in docs/errors.md. */
function docRows(): DocRow[] {
  const text = readFileSync(path.join(root, 'docs/errors.md'), 'utf8');
  return text
    .split('\n')
    .filter((line) => /^\|\s*`?[A-Z][A-Z0-9_]*`?\s*\|/.test(line))
    .map((line) => {
      const cells = line
        .slice(1, line.trimEnd().length - 1)
        .split(/(?<!\\)\|/)
        .map((cell) => cell.trim().replaceAll('\\|', '|'));
      return { code: (cells[0] ?? '').replaceAll('`', ''), http: Number(cells[1]), jsonRpc: Number(cells[2]), meaning: cells[3] ?? '' };
    });
}

describe('docs/errors.md matches the catalogue', () => {
  const rows = docRows();
  const documented = new Set(rows.map((row) => row.code));
  const catalogued = Object.keys(ERROR_CODES);

  it('has a row for every code (none missing)', () => {
    const missing = catalogued.filter((code) => !documented.has(code));
    expect(missing, `codes missing from docs/errors.md; ${REGENERATE}`).toEqual([]);
  });

  it('has no row for a code that does not exist (none extra, none twice)', () => {
    const extra = rows.map((row) => row.code).filter((code) => !Object.hasOwn(ERROR_CODES, code));
    expect(extra, `rows in docs/errors.md with no code in src/errors/codes.ts; ${REGENERATE}`).toEqual([]);
    expect(rows.length, 'a code is documented twice').toBe(documented.size);
  });

  it('documents each code with the catalogue\'s HTTP status, JSON-RPC code and description', () => {
    const differing = rows
      .filter((row) => Object.hasOwn(ERROR_CODES, row.code))
      .filter((row) => {
        const spec = ERROR_CODES[row.code as ErrorCode];
        return spec.httpStatus !== row.http || spec.jsonRpcCode !== row.jsonRpc || spec.description !== row.meaning;
      })
      .map((row) => row.code);
    expect(differing, `rows that differ from src/errors/codes.ts; ${REGENERATE}`).toEqual([]);
  });

  it('every catalogue entry is usable: UPPER_SNAKE code, real HTTP status, JSON-RPC error code, a sentence', () => {
    for (const [code, spec] of Object.entries(ERROR_CODES)) {
      expect(code).toMatch(/^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$/);
      expect(spec.httpStatus >= 400 && spec.httpStatus < 600, code).toBe(true);
      expect(spec.jsonRpcCode < 0, code).toBe(true);
      expect(spec.description.length, code).toBeGreaterThan(10);
    }
  });
});

describe('error mappers', () => {
  const notFound = new NexusError('TOOL_NOT_FOUND', 'Unknown tool: nope', { details: { tool: 'nope' } });

  it('tool boundary: isError result with a text line and {code, message, details}', () => {
    const result = toToolErrorResult(new NexusError('PATH_NOT_ALLOWED', 'Path /etc/shadow is outside the read roots', { details: { path: '/etc/shadow' } }));
    expect(result).toEqual({
      isError: true,
      content: [{ type: 'text', text: 'PATH_NOT_ALLOWED: Path /etc/shadow is outside the read roots' }],
      structuredContent: { code: 'PATH_NOT_ALLOWED', message: 'Path /etc/shadow is outside the read roots', details: { path: '/etc/shadow' } },
    });
  });

  it('JSON-RPC boundary: the catalogue\'s code, the Nexus code in data, no stack', () => {
    const error = toJsonRpcError(notFound);
    expect(error.code).toBe(-32602);
    expect(error.message).toContain('Unknown tool: nope');
    expect(error.data).toEqual({ code: 'TOOL_NOT_FOUND', tool: 'nope' });
    expect(JSON.stringify(error.data)).not.toContain(' at ');
    expect(toJsonRpcError(new NexusError('RESOURCE_NOT_FOUND', 'Resource not found: x://y')).code).toBe(-32002);
    expect(toJsonRpcError(new NexusError('INVALID_CURSOR', 'Invalid pagination cursor')).code).toBe(-32602);
  });

  it('HTTP boundary: the catalogue\'s status and an {error: {code, message, details}} body', () => {
    expect(toHttpError(notFound)).toEqual({ status: 404, body: { error: { code: 'TOOL_NOT_FOUND', message: 'Unknown tool: nope', details: { tool: 'nope' } } } });
    expect(toHttpError(new NexusError('PAYLOAD_TOO_LARGE', 'too big')).status).toBe(413);
    expect(toHttpError(new NexusError('FORBIDDEN_ORIGIN', 'no')).status).toBe(403);
    expect(toHttpError(new NexusError('UNAUTHORIZED', 'no')).status).toBe(401);
  });

  it('CLI boundary: one line and the code\'s exit code; the stack only when debugging', () => {
    const config = new NexusError('CONFIG_INVALID', 'bad config');
    expect(toCliError(config, { debug: false })).toEqual({ line: 'nexus: CONFIG_INVALID: bad config', exitCode: 2 });
    expect(toCliError(notFound, { debug: false })).toEqual({ line: 'nexus: TOOL_NOT_FOUND: Unknown tool: nope', exitCode: 1 });
    const cause = new Error('disk on fire');
    const debugged = toCliError(new NexusError('INTERNAL_ERROR', 'wrapped', { cause }), { debug: true });
    expect(debugged.stack).toBe(cause.stack);
    expect(toCliError(new Error('plain'), { debug: true }).stack).toContain('Error: plain');
  });

  it('INTERNAL_ERROR hides its message at every client boundary but keeps the trace id', () => {
    const internal = new NexusError('INTERNAL_ERROR', 'SQLITE_CORRUPT at /home/alice/.nexus/nexus.db', { details: { traceId: 't-1', sql: 'SELECT secret' } });
    const tool = toToolErrorResult(internal);
    expect(tool.structuredContent).toEqual({ code: 'INTERNAL_ERROR', message: 'Internal error', details: { traceId: 't-1' } });
    expect(JSON.stringify(tool)).not.toContain('alice');
    const rpc = toJsonRpcError(internal);
    expect(rpc.code).toBe(-32603);
    expect(JSON.stringify({ message: rpc.message, data: rpc.data })).not.toMatch(/alice|SELECT/);
    expect(rpc.data).toEqual({ code: 'INTERNAL_ERROR', traceId: 't-1' });
    const http = toHttpError(internal);
    expect(http.status).toBe(500);
    expect(JSON.stringify(http.body)).not.toMatch(/alice|SELECT/);
  });

  it('anything thrown that is not a NexusError becomes INTERNAL_ERROR and is hidden likewise', () => {
    const result = toToolErrorResult(new TypeError('Cannot read properties of undefined (reading "x") at /src/secret.ts'));
    expect(result.structuredContent).toEqual({ code: 'INTERNAL_ERROR', message: 'Internal error', details: {} });
    expect(toHttpError('a string was thrown').status).toBe(500);
  });

  it('recognises NexusErrors from another copy of the module by their brand', () => {
    const foreign = Object.assign(new Error('from a bundled plugin'), { code: 'RATE_LIMITED', details: {}, [Symbol.for('nexus.error')]: true });
    expect(NexusError.is(foreign)).toBe(true);
    expect(NexusError.is(new Error('x'))).toBe(false);
  });
});
