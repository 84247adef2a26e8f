import { describe, expect, it } from 'vitest';
import { JSONRPCMessageSchema } from '@modelcontextprotocol/sdk/types.js';
import { isJsonRpcMessage } from '../../src/transport/jsonrpc-shape.js';

// The hand-written check replaces the SDK's zod union on the stdio hot path: it must take
// exactly the same decisions, so every case is checked against the SDK schema too.
const accepted: Array<[string, unknown]> = [
  ['request', { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', arguments: { text: 'hi' } } }],
  ['request with a string id and no params', { jsonrpc: '2.0', id: 'a-1', method: 'ping' }],
  ['request with _meta', { jsonrpc: '2.0', id: 0, method: 'tools/list', params: { _meta: { progressToken: 7 } } }],
  ['notification', { jsonrpc: '2.0', method: 'notifications/initialized' }],
  ['notification with params', { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 3 } }],
  ['result', { jsonrpc: '2.0', id: 9, result: {} }],
  ['result with content', { jsonrpc: '2.0', id: 'x', result: { content: [], _meta: {} } }],
  ['error', { jsonrpc: '2.0', id: 2, error: { code: -32601, message: 'Method not found' } }],
  ['error with data', { jsonrpc: '2.0', id: 2, error: { code: -1, message: 'm', data: { any: 1 } } }],
  ['error without id', { jsonrpc: '2.0', error: { code: -32700, message: 'Parse error' } }],
];

const refused: Array<[string, unknown]> = [
  ['a batch', [{ jsonrpc: '2.0', id: 1, method: 'ping' }]],
  ['null', null],
  ['a string', 'ping'],
  ['a number', 42],
  ['no jsonrpc', { id: 1, method: 'ping' }],
  ['jsonrpc 1.0', { jsonrpc: '1.0', id: 1, method: 'ping' }],
  ['numeric method', { jsonrpc: '2.0', id: 1, method: 5 }],
  ['null id on a request', { jsonrpc: '2.0', id: null, method: 'ping' }],
  ['fractional id', { jsonrpc: '2.0', id: 1.5, method: 'ping' }],
  ['object id', { jsonrpc: '2.0', id: {}, method: 'ping' }],
  ['array params', { jsonrpc: '2.0', id: 1, method: 'ping', params: [1, 2] }],
  ['string params', { jsonrpc: '2.0', method: 'x', params: 'p' }],
  ['an unknown envelope key on a request', { jsonrpc: '2.0', id: 1, method: 'ping', extra: true }],
  ['an unknown envelope key on a notification', { jsonrpc: '2.0', method: 'n', extra: true }],
  ['result and error together', { jsonrpc: '2.0', id: 1, result: {}, error: { code: 1, message: 'm' } }],
  ['result without id', { jsonrpc: '2.0', result: {} }],
  ['array result', { jsonrpc: '2.0', id: 1, result: [] }],
  ['error without code', { jsonrpc: '2.0', id: 1, error: { message: 'm' } }],
  ['error with a string code', { jsonrpc: '2.0', id: 1, error: { code: '1', message: 'm' } }],
  ['error with a fractional code', { jsonrpc: '2.0', id: 1, error: { code: 1.5, message: 'm' } }],
  ['error with null id', { jsonrpc: '2.0', id: null, error: { code: 1, message: 'm' } }],
  ['neither method, result nor error', { jsonrpc: '2.0', id: 1 }],
];

describe('isJsonRpcMessage', () => {
  it.each(accepted)('accepts %s, as the SDK schema does', (_name, value) => {
    expect(JSONRPCMessageSchema.safeParse(value).success).toBe(true);
    expect(isJsonRpcMessage(value)).toBe(true);
  });

  it.each(refused)('refuses %s, as the SDK schema does', (_name, value) => {
    expect(JSONRPCMessageSchema.safeParse(value).success).toBe(false);
    expect(isJsonRpcMessage(value)).toBe(false);
  });
});
