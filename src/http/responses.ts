import { toHttpError } from '../errors/index.js';

/** A JSON-RPC error as an HTTP response (id null: the request's id is unknown or irrelevant). */
export function jsonRpcErrorResponse(status: number, code: number, message: string, headers: Record<string, string> = {}): Response {
  return Response.json({ jsonrpc: '2.0', id: null, error: { code, message } }, { status, headers });
}

/** Any error as the HTTP boundary's `{error: {code, message, details}}` body. */
export function httpErrorResponse(error: unknown, headers: Record<string, string> = {}): Response {
  const { status, body } = toHttpError(error);
  return Response.json(body, { status, headers });
}
