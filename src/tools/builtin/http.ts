import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import { z } from 'zod';
import { DEFAULT_BLOCKED_URLS, type NexusConfig } from '../../config/index.js';
import { NexusError } from '../../errors/index.js';
import { NEXUS_VERSION } from '../../runtime/version.js';
import { pinnedRequest } from '../../security/pinned-request.js';
import { assertPublicAddresses, bareHostname, resolveHost } from '../../security/ssrf.js';
import { UrlPolicy } from '../../security/url-policy.js';
import { defineTool, type Tool } from '../types.js';

const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD'] as const;
/** Per-call ceiling for `timeout_secs` unless http_client.timeout_secs is larger. */
const MAX_TIMEOUT_SECS = 300;
const EXECUTOR_MARGIN_SECS = 5;
/** Framing and routing headers are Nexus's to set; a caller-supplied one is dropped. */
const RESERVED_HEADERS = new Set(['host', 'content-length', 'transfer-encoding', 'connection', 'keep-alive', 'upgrade', 'te', 'trailer']);
/** Credentials do not follow a redirect to another origin. */
const CREDENTIAL_HEADERS = new Set(['authorization', 'cookie', 'proxy-authorization']);

const inputSchema = z.strictObject({
  url: z.string().min(1).max(8192).describe('http:// or https:// URL'),
  method: z
    .string()
    .regex(/^(get|post|put|delete|patch|head)$/i, `one of ${METHODS.join(', ')}`)
    .default('GET')
    .describe(`HTTP method (${METHODS.join(', ')}; case-insensitive)`),
  headers: z.record(z.string(), z.string()).default({}).describe('Request headers'),
  body: z.string().optional().describe('Request body as text'),
  json: z.unknown().optional().describe('Request body as JSON (takes precedence over body; sets Content-Type)'),
  timeout_secs: z.number().positive().optional().describe('Seconds for the whole exchange, redirects included (default http_client.timeout_secs)'),
  max_response_bytes: z.number().int().positive().optional().describe('Stop reading the body past this many bytes (default and ceiling http_client.max_response_bytes)'),
});

const outputSchema = z.object({
  status: z.number().int(),
  statusText: z.string(),
  headers: z.record(z.string(), z.string()),
  body: z.unknown().describe('Parsed JSON when the body is JSON, otherwise text'),
  size: z.number().int().describe('Body bytes received (up to the cap)'),
  truncated: z.boolean(),
  url: z.string().describe('Final URL after redirects'),
  redirects: z.number().int(),
});

type HttpInput = z.infer<typeof inputSchema>;
type HttpOutput = z.infer<typeof outputSchema>;

interface Hop {
  url: URL;
  method: string;
  headers: Record<string, string>;
  body: Buffer | undefined;
}

function createHttpRequest(config: NexusConfig): Tool {
  const client = config.http_client;
  const policy = new UrlPolicy({ allowedUrls: client.allowed_urls, blockedUrls: client.blocked_urls, allowedHosts: client.allowed_hosts, privateRangePatterns: DEFAULT_BLOCKED_URLS });
  const userAgent = client.user_agent ?? `Nexus/${NEXUS_VERSION}`;
  const maxTimeoutSecs = Math.max(MAX_TIMEOUT_SECS, client.timeout_secs);

  /** Checks one hop (policy, resolution, address classes) and sends it pinned to what was checked. */
  async function send(hop: Hop, raw: string, signal: AbortSignal): Promise<IncomingMessage> {
    const verdict = policy.check(hop.url, raw);
    const addresses = await resolveHost(bareHostname(hop.url), signal);
    if (!verdict.explicit) assertPublicAddresses(hop.url, addresses);
    return pinnedRequest({ ...hop, addresses, signal });
  }

  return defineTool({
    name: 'http.request',
    title: 'HTTP request',
    description:
      'Makes an HTTP(S) request and returns status, headers and body (JSON bodies parsed). Loopback, private, link-local and metadata addresses are refused unless ' +
      'an http_client allow-list entry names the exact target; every redirect hop is checked again. HTTP error statuses are results, not tool errors.',
    inputSchema,
    outputSchema,
    annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true },
    timeoutSecs: maxTimeoutSecs + EXECUTOR_MARGIN_SECS,
    async execute(input, context) {
      const timeoutSecs = Math.min(input.timeout_secs ?? client.timeout_secs, maxTimeoutSecs);
      const maxBytes = Math.min(input.max_response_bytes ?? client.max_response_bytes, client.max_response_bytes);
      const deadline = AbortSignal.timeout(timeoutSecs * 1000);
      const signal = AbortSignal.any([context.signal, deadline]);
      let hop = firstHop(input, userAgent);
      let raw = input.url;
      try {
        for (let redirects = 0; ; redirects += 1) {
          const response = await send(hop, raw, signal);
          const next = redirectTarget(hop, response);
          if (next === undefined) return await readResponse(response, { url: hop.url, method: hop.method, maxBytes, redirects });
          response.destroy();
          if (redirects >= client.max_redirects) {
            throw new NexusError('HTTP_REQUEST_FAILED', `Too many redirects (more than http_client.max_redirects = ${client.max_redirects})`, {
              details: { url: hop.url.href, reason: 'redirects', max_redirects: client.max_redirects },
            });
          }
          raw = next.url.href;
          hop = next;
        }
      } catch (error) {
        if (context.signal.aborted) throw context.signal.reason;
        if (deadline.aborted) {
          throw new NexusError('TOOL_TIMEOUT', `Timeout after ${timeoutSecs} seconds: ${hop.url.href}`, { details: { url: hop.url.href, timeout_secs: timeoutSecs } });
        }
        if (NexusError.is(error)) throw error;
        const errno = (error as NodeJS.ErrnoException).code ?? null;
        if (errno === 'ERR_INVALID_CHAR' || errno === 'ERR_INVALID_HTTP_TOKEN') {
          throw new NexusError('INVALID_ARGUMENTS', `Invalid request header: ${(error as Error).message}`, { details: { field: 'headers' } });
        }
        throw new NexusError('HTTP_REQUEST_FAILED', `Request to ${hop.url.origin} failed: ${(error as Error).message}`, { details: { url: hop.url.href, reason: 'network', errno }, cause: error });
      }
    },
  });
}

function firstHop(input: HttpInput, userAgent: string): Hop {
  let url: URL;
  try {
    url = new URL(input.url);
  } catch {
    throw new NexusError('INVALID_ARGUMENTS', `Not a valid URL: ${input.url}`, { details: { field: 'url' } });
  }
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(input.headers)) {
    if (!RESERVED_HEADERS.has(name.toLowerCase())) headers[name.toLowerCase()] = value;
  }
  headers['user-agent'] ??= userAgent;
  let body: Buffer | undefined;
  if (input.json !== undefined) {
    body = Buffer.from(JSON.stringify(input.json));
    headers['content-type'] ??= 'application/json';
  } else if (input.body !== undefined) {
    body = Buffer.from(input.body);
  }
  if (body !== undefined) headers['content-length'] = String(body.length);
  return { url, method: input.method.toUpperCase(), headers, body };
}

/** The next hop of a redirect, or undefined when the response is final. Methods change as browsers do. */
function redirectTarget(hop: Hop, response: IncomingMessage): Hop | undefined {
  const status = response.statusCode ?? 0;
  const location = response.headers.location;
  if (![301, 302, 303, 307, 308].includes(status) || location === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(location, hop.url);
  } catch {
    return undefined;
  }
  const keepsBody = status === 307 || status === 308 || (hop.method !== 'POST' && status !== 303);
  const method = keepsBody || hop.method === 'HEAD' ? hop.method : 'GET';
  const headers = { ...hop.headers };
  if (!keepsBody) {
    delete headers['content-length'];
    delete headers['content-type'];
  }
  if (url.origin !== hop.url.origin) for (const name of CREDENTIAL_HEADERS) delete headers[name];
  return { url, method, headers, body: keepsBody ? hop.body : undefined };
}

function decoded(response: IncomingMessage): Readable {
  switch (response.headers['content-encoding']?.trim().toLowerCase()) {
    case 'gzip':
    case 'x-gzip':
      return response.pipe(createGunzip());
    case 'deflate':
      return response.pipe(createInflate());
    case 'br':
      return response.pipe(createBrotliDecompress());
    default:
      return response;
  }
}

/** Streams the body up to the cap (never more in memory), then parses JSON when it is JSON. */
async function readResponse(response: IncomingMessage, request: { url: URL; method: string; maxBytes: number; redirects: number }): Promise<{ data: HttpOutput }> {
  const chunks: Buffer[] = [];
  let size = 0;
  let truncated = false;
  if (request.method !== 'HEAD') {
    const body = decoded(response);
    try {
      for await (const chunk of body as AsyncIterable<Buffer>) {
        const room = request.maxBytes - size;
        if (chunk.length > room) {
          chunks.push(chunk.subarray(0, room));
          size += room;
          truncated = true;
          break;
        }
        chunks.push(chunk);
        size += chunk.length;
      }
    } finally {
      body.destroy();
      response.destroy();
    }
  } else {
    response.destroy();
  }
  const text = new TextDecoder().decode(Buffer.concat(chunks), { stream: truncated });
  return {
    data: {
      status: response.statusCode ?? 0,
      statusText: response.statusMessage ?? '',
      headers: flattenHeaders(response.headers),
      body: truncated ? text : parseJsonOrText(text),
      size,
      truncated,
      url: request.url.href,
      redirects: request.redirects,
    },
  };
}

function parseJsonOrText(text: string): unknown {
  if (text.trim() === '') return text;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

function flattenHeaders(headers: IncomingMessage['headers']): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) flat[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return flat;
}

/** `http.request`: outbound HTTP behind the URL policy and the SSRF guard. */
export function httpTools(deps: { config: NexusConfig }): Tool[] {
  return [createHttpRequest(deps.config)];
}
