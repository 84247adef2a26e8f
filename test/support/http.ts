import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  json(): unknown;
}

export interface RawRequestOptions {
  method?: string;
  headers?: Record<string, string>;
  /** A string is sent with Content-Length; an array of chunks is sent chunked, without it. */
  body?: string | string[];
}

/**
 * One HTTP request with full control of headers (Host included, which fetch will not let a test
 * forge) and of framing (chunked bodies without Content-Length).
 */
export function rawRequest(url: string, options: RawRequestOptions = {}): Promise<RawResponse> {
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      { host: target.hostname, port: target.port, path: `${target.pathname}${target.search}`, method: options.method ?? 'GET', headers: options.headers ?? {} },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (text += chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, text, json: () => JSON.parse(text) as unknown }));
        response.on('error', reject);
      },
    );
    // The server may answer (413) and stop reading before the body is fully sent.
    request.on('error', (error: NodeJS.ErrnoException) => (error.code === 'EPIPE' || error.code === 'ECONNRESET' ? undefined : reject(error)));
    if (Array.isArray(options.body)) {
      for (const chunk of options.body) request.write(chunk);
    } else if (options.body !== undefined) {
      request.setHeader('Content-Length', Buffer.byteLength(options.body));
      request.write(options.body);
    }
    request.end();
  });
}

export interface SseEvent {
  id?: string;
  event?: string;
  /** The reconnection delay hint (ms) a priming event carries. */
  retry?: string;
  data: string;
}

/** Parses a complete text/event-stream body into its events. */
export function parseSse(text: string): SseEvent[] {
  return text
    .split(/\r?\n\r?\n/)
    .filter((block) => block.trim() !== '')
    .map((block) => {
      const event: SseEvent = { data: '' };
      const data: string[] = [];
      for (const line of block.split(/\r?\n/)) {
        const colon = line.indexOf(':');
        const field = colon === -1 ? line : line.slice(0, colon);
        const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'id') event.id = value;
        else if (field === 'event') event.event = value;
        else if (field === 'retry') event.retry = value;
        else if (field === 'data') data.push(value);
      }
      event.data = data.join('\n');
      return event;
    });
}

/** The JSON-RPC messages carried by an SSE body (priming events have empty data). */
export function sseMessages(text: string): Array<Record<string, unknown>> {
  return parseSse(text)
    .filter((event) => event.data.trim() !== '')
    .map((event) => JSON.parse(event.data) as Record<string, unknown>);
}

/** The JSON-RPC messages of a POST response, whichever framing the server chose (JSON or SSE). */
export function responseMessages(response: RawResponse): Array<Record<string, unknown>> {
  const type = String(response.headers['content-type'] ?? '');
  return type.startsWith('application/json') ? [response.json() as Record<string, unknown>] : sseMessages(response.text);
}
