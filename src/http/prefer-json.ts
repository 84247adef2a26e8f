/**
 * Plain JSON where no streaming is needed. Streamable HTTP lets the server answer each request
 * POST either with `application/json` or with an SSE stream; the SDK transport always streams
 * (or, in its JSON mode, silently drops progress, log messages and server requests made during a
 * call). This module decides per request instead: it reads the transport's SSE stream for up to
 * `holdMs`, and when the request's own response is the first message on it, answers with that
 * message as plain JSON — one write, and no event-stream parsing on the client. When anything
 * else comes first (progress, a log message, a sampling or elicitation request), when the stream
 * ends early (a tool closed it so the client polls, SEP-1699), or when the hold expires (a
 * long call keeps the priming event and its resumability), the stream is passed on unchanged,
 * including the part already read.
 */

type ReadResult = Awaited<ReturnType<ReadableStreamDefaultReader<Uint8Array>['read']>>;

const JSON_HEADERS_DROPPED = new Set(['content-type', 'content-length', 'cache-control', 'connection', 'x-accel-buffering']);

export interface PreferJsonOptions {
  /** The id of the single JSON-RPC request the POST carried. */
  requestId: string | number;
  /** How long to wait for the response before committing to SSE. */
  holdMs: number;
}

/** True when a POST body is exactly one JSON-RPC request and the client accepts JSON. */
export function jsonCandidate(request: Request, body: unknown): { requestId: string | number } | undefined {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return undefined;
  const { id, method } = body as { id?: unknown; method?: unknown };
  if (typeof method !== 'string' || (typeof id !== 'string' && typeof id !== 'number')) return undefined;
  return acceptsJson(request.headers.get('accept')) ? { requestId: id } : undefined;
}

function acceptsJson(accept: string | null): boolean {
  return accept !== null && accept.split(',').some((part) => {
    const type = part.split(';')[0]?.trim().toLowerCase();
    return type === 'application/json' || type === 'application/*' || type === '*/*';
  });
}

/** Returns `response` as plain JSON when its stream starts with the final response, else as is. */
export async function preferJson(response: Response, options: PreferJsonOptions): Promise<Response> {
  if (response.status !== 200 || response.body === null || !response.headers.get('content-type')?.startsWith('text/event-stream')) return response;
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  const consumed: Uint8Array[] = [];
  let text = '';
  let scanned = 0;
  let timer: NodeJS.Timeout | undefined;
  const holdOver = new Promise<'hold-over'>((resolve) => {
    timer = setTimeout(() => resolve('hold-over'), options.holdMs);
  });
  let pending: Promise<ReadResult> | undefined;
  try {
    for (;;) {
      pending ??= reader.read();
      const next = await Promise.race([pending, holdOver]);
      if (next === 'hold-over') break;
      pending = undefined;
      if (next.done) break;
      consumed.push(next.value);
      text += decoder.decode(next.value, { stream: true });
      // Look at each complete event (blank-line terminated) once.
      let end = text.indexOf('\n\n', scanned);
      while (end !== -1) {
        const data = eventData(text.slice(scanned, end));
        scanned = end + 2;
        if (data !== '') {
          const message = finalResponse(data, options.requestId);
          if (message === undefined) return passOn(response, reader, consumed, undefined);
          // The transport closes the stream right after the response; nothing else is coming.
          void reader.cancel().catch(() => undefined);
          return jsonResponse(response, message);
        }
        end = text.indexOf('\n\n', scanned);
      }
    }
  } finally {
    clearTimeout(timer);
  }
  return passOn(response, reader, consumed, pending);
}

/** The `data` of one SSE event (lines joined with \n); '' for the priming event. */
function eventData(event: string): string {
  const lines: string[] = [];
  for (const line of event.split('\n')) {
    if (line.startsWith('data:')) lines.push(line.slice(line.startsWith('data: ') ? 6 : 5));
  }
  return lines.join('\n').trim();
}

/** The serialized message when it is the response to `requestId`, otherwise undefined. */
function finalResponse(data: string, requestId: string | number): string | undefined {
  try {
    const message = JSON.parse(data) as { id?: unknown; result?: unknown; error?: unknown };
    return message.id === requestId && ('result' in message || 'error' in message) ? data : undefined;
  } catch {
    return undefined;
  }
}

function jsonResponse(original: Response, body: string): Response {
  const headers = new Headers();
  original.headers.forEach((value, name) => {
    if (!JSON_HEADERS_DROPPED.has(name)) headers.set(name, value);
  });
  headers.set('content-type', 'application/json');
  return new Response(body, { status: 200, headers });
}

/** The original SSE response: what was read first, then the rest of the stream. */
function passOn(
  original: Response,
  reader: ReadableStreamDefaultReader<Uint8Array>,
  consumed: Uint8Array[],
  pending: Promise<ReadResult> | undefined,
): Response {
  let inFlight = pending;
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const chunk of consumed) controller.enqueue(chunk);
    },
    async pull(controller) {
      const next = await (inFlight ?? reader.read());
      inFlight = undefined;
      if (next.done) controller.close();
      else controller.enqueue(next.value);
    },
    // The client went away: let the transport see its stream cancelled, as it would have.
    cancel: (reason) => reader.cancel(reason),
  });
  return new Response(body, { status: original.status, headers: original.headers });
}
