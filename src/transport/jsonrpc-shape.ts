import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';

/**
 * Whether a parsed line is one JSON-RPC 2.0 message as MCP defines it: a request, notification,
 * result or error, with exactly the envelope keys the SDK's (strict) message schemas allow.
 * This is the same decision as `JSONRPCMessageSchema.safeParse`, made by hand because it runs on
 * every incoming line and the zod union (tried member by member) was the largest single cost
 * of a short tool call over stdio. Params are not checked here: the SDK validates each request
 * against its method's own schema when it dispatches it.
 */
export function isJsonRpcMessage(value: unknown): value is JSONRPCMessage {
  if (!isObject(value) || value['jsonrpc'] !== '2.0') return false;
  if ('method' in value) {
    if (typeof value['method'] !== 'string' || !optionalObject(value['params'])) return false;
    // With an id it is a request, without one a notification.
    return 'id' in value ? isRequestId(value['id']) && onlyKeys(value, REQUEST_KEYS) : onlyKeys(value, NOTIFICATION_KEYS);
  }
  if ('result' in value) return isRequestId(value['id']) && isObject(value['result']) && onlyKeys(value, RESULT_KEYS);
  if ('error' in value) {
    // An error answering a request whose id could not be read carries no id.
    const idOk = value['id'] === undefined || isRequestId(value['id']);
    return idOk && isErrorObject(value['error']) && onlyKeys(value, ERROR_KEYS);
  }
  return false;
}

const REQUEST_KEYS: ReadonlySet<string> = new Set(['jsonrpc', 'id', 'method', 'params']);
const NOTIFICATION_KEYS: ReadonlySet<string> = new Set(['jsonrpc', 'method', 'params']);
const RESULT_KEYS: ReadonlySet<string> = new Set(['jsonrpc', 'id', 'result']);
const ERROR_KEYS: ReadonlySet<string> = new Set(['jsonrpc', 'id', 'error']);

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function optionalObject(value: unknown): boolean {
  return value === undefined || isObject(value);
}

/** MCP request ids are strings or integers (never null). */
function isRequestId(value: unknown): boolean {
  return typeof value === 'string' || Number.isInteger(value);
}

function isErrorObject(value: unknown): boolean {
  return isObject(value) && Number.isInteger(value['code']) && typeof value['message'] === 'string';
}

function onlyKeys(value: Record<string, unknown>, allowed: ReadonlySet<string>): boolean {
  for (const key in value) if (!allowed.has(key)) return false;
  return true;
}
