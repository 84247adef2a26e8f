import { McpError, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { ERROR_CODES } from './codes.js';
import { NexusError } from './nexus-error.js';

/**
 * Internal faults must not leak their text (it may hold paths, SQL or stack fragments) to
 * clients; the trace id in details lets an operator find the full story in the logs.
 */
function publicView(error: NexusError): { code: string; message: string; details: Record<string, unknown> } {
  if (error.code === 'INTERNAL_ERROR') {
    return { code: error.code, message: 'Internal error', details: pickTrace(error.details) };
  }
  return error.toJSON();
}

function pickTrace(details: Record<string, unknown>): Record<string, unknown> {
  return details['traceId'] === undefined ? {} : { traceId: details['traceId'] };
}

/** Tool failure → MCP tool result with isError and structured error content. */
export function toToolErrorResult(error: unknown): CallToolResult {
  const view = publicView(NexusError.from(error));
  return {
    isError: true,
    content: [{ type: 'text', text: `${view.code}: ${view.message}` }],
    structuredContent: view,
  };
}

/** Protocol fault → JSON-RPC error (McpError is what the SDK turns into an error response). */
export function toJsonRpcError(error: unknown): McpError {
  const nexusError = NexusError.from(error);
  const view = publicView(nexusError);
  return new McpError(ERROR_CODES[nexusError.code].jsonRpcCode, view.message, { code: view.code, ...view.details });
}

/** HTTP boundary → status and JSON body. */
export function toHttpError(error: unknown): { status: number; body: { error: ReturnType<typeof publicView> } } {
  const nexusError = NexusError.from(error);
  return { status: nexusError.httpStatus, body: { error: publicView(nexusError) } };
}

/** CLI boundary → one line and an exit code; the stack only when debugging. */
export function toCliError(error: unknown, options: { debug: boolean }): { line: string; exitCode: 1 | 2; stack?: string } {
  const nexusError = NexusError.from(error);
  const base = { line: `nexus: ${nexusError.code}: ${nexusError.message}`, exitCode: ERROR_CODES[nexusError.code].exitCode };
  const original = nexusError.cause instanceof Error ? nexusError.cause : nexusError;
  return options.debug && original.stack ? { ...base, stack: original.stack } : base;
}
