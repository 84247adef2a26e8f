import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { NexusError } from '../../src/errors/index.js';
import { createLogger, createSilentLogger } from '../../src/logging/index.js';
import { HttpEmbedder } from '../../src/memory/embedders/http.js';

interface Received {
  headers: IncomingMessage['headers'];
  body: { model?: string; input?: string[] };
  url: string | undefined;
}

type Handler = (request: Received, response: ServerResponse, attempt: number) => void;

let server: Server | undefined;

/** A real HTTP server on 127.0.0.1:0 whose answer to the n-th request is decided by `handler`. */
async function serve(handler: Handler): Promise<{ url: string; requests: Received[] }> {
  const requests: Received[] = [];
  server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const received: Received = { headers: request.headers, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Received['body'], url: request.url };
      requests.push(received);
      handler(received, response, requests.length);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/v1`, requests };
}

afterEach(async () => {
  if (!server) return;
  server.closeAllConnections();
  server.close();
  await once(server, 'close');
  server = undefined;
});

/** A deterministic fake model: text of length L → [L, 1, 0, …] in `dims` dimensions. */
function vectorFor(text: string, dims = 4): number[] {
  return Array.from({ length: dims }, (_, i) => (i === 0 ? text.length : i === 1 ? 1 : 0));
}

function answer(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  response.writeHead(status, { 'content-type': 'application/json', ...headers });
  response.end(typeof body === 'string' ? body : JSON.stringify(body));
}

function embeddingsOf(request: Received, dims = 4): unknown {
  return { object: 'list', data: (request.body.input ?? []).map((text, index) => ({ object: 'embedding', index, embedding: vectorFor(text, dims) })) };
}

async function failure(promise: Promise<unknown>): Promise<NexusError> {
  const error: unknown = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(NexusError.is(error), String(error)).toBe(true);
  return error as NexusError;
}

const silent = createSilentLogger();

describe('HttpEmbedder', () => {
  it('batches inputs, sends model and key, learns dimensions, returns normalised vectors in input order', async () => {
    const { url, requests } = await serve((request, response) => {
      const body = embeddingsOf(request) as { data: unknown[] };
      // Answer out of order: the client must use `index`.
      answer(response, 200, { ...body, data: [...body.data].reverse() });
    });
    const embedder = new HttpEmbedder({ url, model: 'nomic-embed-text', apiKey: 'sk-test-123', batchSize: 2, logger: silent });
    expect(embedder.id).toBe('http:nomic-embed-text');
    expect(embedder.dimensions).toBe(0);

    const texts = ['a', 'bbb', 'cc', 'dddd', 'e'];
    const vectors = await embedder.embed(texts);

    expect(requests.map((request) => request.body.input)).toEqual([['a', 'bbb'], ['cc', 'dddd'], ['e']]);
    expect(requests.every((request) => request.url === '/v1/embeddings' && request.body.model === 'nomic-embed-text')).toBe(true);
    expect(requests[0]?.headers.authorization).toBe('Bearer sk-test-123');
    expect(embedder.dimensions).toBe(4);
    vectors.forEach((vector, index) => {
      const raw = vectorFor(texts[index]!);
      const norm = Math.hypot(...raw);
      expect([...vector].map((value) => Number(value.toFixed(5)))).toEqual(raw.map((value) => Number((value / norm).toFixed(5))));
    });
  });

  it('accepts the full /embeddings endpoint as the URL and sends no Authorization without a key', async () => {
    const { url, requests } = await serve((request, response) => answer(response, 200, embeddingsOf(request)));
    await new HttpEmbedder({ url: `${url}/embeddings/`, model: 'm', logger: silent }).embed(['x']);
    expect(requests[0]?.url).toBe('/v1/embeddings');
    expect(requests[0]?.headers.authorization).toBeUndefined();
  });

  it('makes no request for an empty batch', async () => {
    const { url, requests } = await serve((request, response) => answer(response, 200, embeddingsOf(request)));
    expect(await new HttpEmbedder({ url, model: 'm', logger: silent }).embed([])).toEqual([]);
    expect(requests).toHaveLength(0);
  });

  it('retries a 503 and then succeeds', async () => {
    const { url, requests } = await serve((request, response, attempt) => {
      if (attempt === 1) answer(response, 503, { error: 'loading model' });
      else answer(response, 200, embeddingsOf(request));
    });
    const vectors = await new HttpEmbedder({ url, model: 'm', maxRetries: 2, logger: silent }).embed(['hello']);
    expect(requests).toHaveLength(2);
    expect(vectors).toHaveLength(1);
  });

  it('honours Retry-After on a 429', async () => {
    const { url, requests } = await serve((request, response, attempt) => {
      if (attempt === 1) answer(response, 429, { error: 'slow down' }, { 'retry-after': '0' });
      else answer(response, 200, embeddingsOf(request));
    });
    await new HttpEmbedder({ url, model: 'm', maxRetries: 1, logger: silent }).embed(['hello']);
    expect(requests).toHaveLength(2);
  });

  it('gives up after max_retries with a coded error, never logging the key', async () => {
    const lines: string[] = [];
    const logger = createLogger({ level: 'debug', destination: { write: (line: string) => lines.push(line) } });
    const { url, requests } = await serve((_request, response) => answer(response, 500, 'upstream exploded'));
    const error = await failure(new HttpEmbedder({ url, model: 'm', apiKey: 'sk-secret-xyz', maxRetries: 2, logger }).embed(['hello']));
    expect(requests).toHaveLength(3);
    expect(error.code).toBe('EMBEDDER_FAILED');
    expect(error.message).toContain('3 attempts');
    expect(error.message).toContain('HTTP 500 upstream exploded');
    expect(lines.filter((line) => line.includes('retrying'))).toHaveLength(2);
    expect(JSON.stringify([error.message, error.details, lines])).not.toContain('sk-secret-xyz');
  });

  it('does not retry a 4xx and quotes the server’s explanation', async () => {
    const { url, requests } = await serve((_request, response) => answer(response, 400, { error: { message: 'model "nope" not found' } }));
    const error = await failure(new HttpEmbedder({ url, model: 'nope', apiKey: 'sk-secret-xyz', maxRetries: 3, logger: silent }).embed(['x']));
    expect(requests).toHaveLength(1);
    expect(error.code).toBe('EMBEDDER_FAILED');
    expect(error.details).toMatchObject({ status: 400, model: 'nope' });
    expect(error.message).toContain('model \\"nope\\" not found');
    expect(JSON.stringify([error.message, error.details])).not.toContain('sk-secret-xyz');
  });

  it('times out a request that gets no answer', async () => {
    const { url, requests } = await serve(() => {
      // Never answers.
    });
    const error = await failure(new HttpEmbedder({ url, model: 'm', timeoutMs: 200, maxRetries: 1, logger: silent }).embed(['x']));
    expect(error.code).toBe('EMBEDDER_FAILED');
    expect(error.message).toContain('no answer within 200 ms');
    expect(requests).toHaveLength(2);
  });

  it('retries network errors (connection refused) and then fails with a coded error', async () => {
    const probe = createServer();
    probe.listen(0, '127.0.0.1');
    await once(probe, 'listening');
    const { port } = probe.address() as AddressInfo;
    probe.close();
    await once(probe, 'close');
    const error = await failure(new HttpEmbedder({ url: `http://127.0.0.1:${port}/v1`, model: 'm', maxRetries: 1, logger: silent }).embed(['x']));
    expect(error.code).toBe('EMBEDDER_FAILED');
    expect(error.message).toContain('ECONNREFUSED');
    expect(error.details).toMatchObject({ attempts: 2 });
  });

  it('stops at once when the caller aborts, without retrying', async () => {
    let arrived!: () => void;
    const requestArrived = new Promise<void>((resolve) => (arrived = resolve));
    const { url, requests } = await serve(() => arrived());
    const controller = new AbortController();
    const pending = new HttpEmbedder({ url, model: 'm', timeoutMs: 60_000, maxRetries: 5, logger: silent }).embed(['x'], { signal: controller.signal });
    await requestArrived;
    controller.abort();
    const error = await failure(pending);
    expect(error.code).toBe('CANCELLED');
    expect(requests).toHaveLength(1);
  });

  describe('rejects answers of the wrong shape with EMBEDDER_FAILED', () => {
    const cases: Array<[string, (request: Received) => unknown, string]> = [
      ['not JSON', () => '<html>proxy error</html>', 'not JSON'],
      ['no data array', () => ({ embeddings: [[1, 2]] }), 'expected {"data"'],
      ['fewer embeddings than inputs', () => ({ data: [{ index: 0, embedding: [1, 0] }] }), '1 embeddings for 2 inputs'],
      ['strings instead of numbers', (request) => ({ data: (request.body.input ?? []).map((_, index) => ({ index, embedding: ['1', '2'] })) }), 'expected {"data"'],
      ['ragged lengths', (request) => ({ data: (request.body.input ?? []).map((_, index) => ({ index, embedding: index === 0 ? [1, 2] : [1, 2, 3] })) }), 'different lengths'],
      ['a zero vector', (request) => ({ data: (request.body.input ?? []).map((_, index) => ({ index, embedding: [0, 0] })) }), 'non-zero'],
      ['duplicate indexes', (request) => ({ data: (request.body.input ?? []).map(() => ({ index: 0, embedding: [1, 0] })) }), 'indexes'],
    ];
    for (const [name, body, message] of cases) {
      it(name, async () => {
        const { url } = await serve((request, response) => answer(response, 200, body(request)));
        const error = await failure(new HttpEmbedder({ url, model: 'm', maxRetries: 3, logger: silent }).embed(['one', 'two']));
        expect(error.code).toBe('EMBEDDER_FAILED');
        expect(error.message).toContain(message);
      });
    }
  });

  it('refuses an answer whose dimensions differ from earlier ones', async () => {
    const { url } = await serve((request, response, attempt) => answer(response, 200, embeddingsOf(request, attempt === 1 ? 4 : 8)));
    const embedder = new HttpEmbedder({ url, model: 'm', logger: silent });
    await embedder.embed(['first']);
    const error = await failure(embedder.embed(['second']));
    expect(error.message).toContain('8 dimensions where earlier answers had 4');
    expect(embedder.dimensions).toBe(4);
  });
});
