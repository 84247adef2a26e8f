import { setTimeout as delay } from 'node:timers/promises';
import { z } from 'zod';
import { NexusError } from '../../errors/index.js';
import type { Logger } from '../../logging/index.js';
import type { Embedder } from './types.js';

export interface HttpEmbedderOptions {
  /** Base URL of an OpenAI-compatible API ("http://127.0.0.1:11434/v1") or its /embeddings endpoint. */
  url: string;
  model: string;
  /** Sent as a Bearer token; never logged. */
  apiKey?: string | undefined;
  /** Most texts per request; larger calls are split. */
  batchSize?: number;
  /** Per-request limit. */
  timeoutMs?: number;
  /** Extra attempts after a 429, a 5xx, a timeout or a network error. */
  maxRetries?: number;
  logger: Logger;
}

const DEFAULT_BATCH_SIZE = 64;
const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_MAX_RETRIES = 3;
const BASE_BACKOFF_MS = 250;
const MAX_BACKOFF_MS = 8_000;
/** A batch of embeddings is a few MB at most; anything far larger is not an embeddings answer. */
const MAX_RESPONSE_BYTES = 64 * 1024 * 1024;
/** How much of an error body is quoted back (servers explain 4xx there). */
const ERROR_BODY_CHARS = 300;

const responseSchema = z.object({
  data: z.array(z.object({ index: z.number().int().min(0).optional(), embedding: z.array(z.number()).min(1) })),
});

/** A failed attempt that may succeed when repeated, with the server's wait hint when it gave one. */
class RetryableFailure extends Error {
  constructor(
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

/**
 * Embeds through an OpenAI-compatible `POST /embeddings` (OpenAI, Ollama, llama.cpp server, vLLM,
 * LM Studio…). Batches, a timeout per request, retries with exponential backoff on 429/5xx/network
 * errors (honouring Retry-After), and the caller's AbortSignal. Vectors are L2-normalised here,
 * since not every server normalises. Dimensions are learned from the first answer and then held.
 */
export class HttpEmbedder implements Embedder {
  readonly id: string;
  #dimensions = 0;
  readonly #endpoint: string;
  readonly #options: Required<Omit<HttpEmbedderOptions, 'apiKey' | 'logger'>> & Pick<HttpEmbedderOptions, 'apiKey' | 'logger'>;

  constructor(options: HttpEmbedderOptions) {
    this.#endpoint = embeddingsEndpoint(options.url);
    this.#options = {
      ...options,
      batchSize: options.batchSize ?? DEFAULT_BATCH_SIZE,
      timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      maxRetries: options.maxRetries ?? DEFAULT_MAX_RETRIES,
    };
    this.id = `http:${options.model}`;
  }

  get dimensions(): number {
    return this.#dimensions;
  }

  async embed(texts: readonly string[], options: { signal?: AbortSignal } = {}): Promise<Float32Array[]> {
    const vectors: Float32Array[] = [];
    for (let start = 0; start < texts.length; start += this.#options.batchSize) {
      vectors.push(...(await this.#embedBatch(texts.slice(start, start + this.#options.batchSize), options.signal)));
    }
    return vectors;
  }

  async #embedBatch(texts: readonly string[], signal: AbortSignal | undefined): Promise<Float32Array[]> {
    const { maxRetries, logger } = this.#options;
    for (let attempt = 0; ; attempt += 1) {
      throwIfCancelled(signal);
      try {
        return await this.#request(texts, signal);
      } catch (error) {
        if (!(error instanceof RetryableFailure)) throw error;
        if (attempt >= maxRetries) {
          throw new NexusError('EMBEDDER_FAILED', `Embedding request to ${this.#endpoint} failed after ${attempt + 1} attempts: ${error.message}`, {
            details: { url: this.#endpoint, model: this.#options.model, attempts: attempt + 1 },
          });
        }
        const wait = error.retryAfterMs ?? backoff(attempt);
        logger.warn({ url: this.#endpoint, model: this.#options.model, attempt: attempt + 1, waitMs: wait, reason: error.message }, 'embedding request failed; retrying');
        try {
          await delay(wait, undefined, { signal });
        } catch {
          throwIfCancelled(signal);
        }
      }
    }
  }

  async #request(texts: readonly string[], signal: AbortSignal | undefined): Promise<Float32Array[]> {
    const timeout = AbortSignal.timeout(this.#options.timeoutMs);
    const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
    const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
    if (this.#options.apiKey) headers['authorization'] = `Bearer ${this.#options.apiKey}`;
    let body: string;
    let status: number;
    try {
      const response = await fetch(this.#endpoint, {
        method: 'POST',
        headers,
        body: JSON.stringify({ model: this.#options.model, input: texts }),
        signal: combined,
        redirect: 'error',
      });
      status = response.status;
      body = await readCapped(response);
      if (status === 429 || status >= 500) throw new RetryableFailure(`HTTP ${status} ${excerpt(body)}`, retryAfterMs(response.headers.get('retry-after')));
    } catch (error) {
      throwIfCancelled(signal);
      if (error instanceof RetryableFailure || NexusError.is(error)) throw error;
      if (timeout.aborted) throw new RetryableFailure(`no answer within ${this.#options.timeoutMs} ms`);
      throw new RetryableFailure(networkReason(error));
    }
    if (status < 200 || status >= 300) {
      throw new NexusError('EMBEDDER_FAILED', `Embedding server answered HTTP ${status}: ${excerpt(body)}`, {
        details: { url: this.#endpoint, model: this.#options.model, status },
      });
    }
    return this.#parse(body, texts.length);
  }

  #parse(body: string, expected: number): Float32Array[] {
    const fail = (problem: string): NexusError =>
      new NexusError('EMBEDDER_FAILED', `Embedding server at ${this.#endpoint} answered in an unexpected shape: ${problem}`, {
        details: { url: this.#endpoint, model: this.#options.model, problem },
      });
    let json: unknown;
    try {
      json = JSON.parse(body);
    } catch {
      throw fail('the body is not JSON');
    }
    const parsed = responseSchema.safeParse(json);
    if (!parsed.success) throw fail('expected {"data": [{"embedding": [numbers…]}, …]}');
    const { data } = parsed.data;
    if (data.length !== expected) throw fail(`${data.length} embeddings for ${expected} inputs`);
    // Servers may return items out of order; `index` says which input each belongs to.
    const ordered = data.some((item) => item.index !== undefined) ? [...data].sort((a, b) => (a.index ?? 0) - (b.index ?? 0)) : data;
    const dimensions = ordered[0]?.embedding.length ?? 0;
    const vectors = ordered.map((item, position) => {
      if (item.index !== undefined && item.index !== position) throw fail('embedding indexes do not cover the inputs');
      if (item.embedding.length !== dimensions) throw fail('embeddings of different lengths in one answer');
      const vector = normalise(item.embedding);
      if (!vector) throw fail('an embedding is not finite and non-zero');
      return vector;
    });
    if (this.#dimensions !== 0 && dimensions !== this.#dimensions) {
      throw fail(`${dimensions} dimensions where earlier answers had ${this.#dimensions} (was the model changed?)`);
    }
    this.#dimensions = dimensions;
    return vectors;
  }
}

/** Accepts a base URL ("…/v1") or the full endpoint ("…/v1/embeddings"). */
function embeddingsEndpoint(url: string): string {
  const trimmed = url.replace(/\/+$/, '');
  return trimmed.endsWith('/embeddings') ? trimmed : `${trimmed}/embeddings`;
}

function normalise(values: readonly number[]): Float32Array | null {
  let sum = 0;
  for (const value of values) sum += value * value;
  if (!Number.isFinite(sum) || sum === 0) return null;
  const inverse = 1 / Math.sqrt(sum);
  return Float32Array.from(values, (value) => value * inverse);
}

function throwIfCancelled(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new NexusError('CANCELLED', 'The embedding request was cancelled');
}

/** Exponential backoff with full jitter, so many clients do not retry in lockstep. */
function backoff(attempt: number): number {
  return Math.round(Math.random() * Math.min(MAX_BACKOFF_MS, BASE_BACKOFF_MS * 2 ** attempt));
}

/** Retry-After as delta-seconds or an HTTP date, capped so a hostile value cannot stall us. */
function retryAfterMs(header: string | null): number | undefined {
  if (header === null) return undefined;
  const seconds = Number(header);
  const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(header) - Date.now();
  return Number.isFinite(ms) ? Math.min(Math.max(0, ms), MAX_BACKOFF_MS) : undefined;
}

async function readCapped(response: Response): Promise<string> {
  const declared = Number(response.headers.get('content-length') ?? 0);
  if (declared > MAX_RESPONSE_BYTES) throw tooLarge();
  if (!response.body) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of response.body) {
    size += chunk.byteLength;
    if (size > MAX_RESPONSE_BYTES) throw tooLarge();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function tooLarge(): NexusError {
  return new NexusError('EMBEDDER_FAILED', `The embedding server's answer exceeds ${MAX_RESPONSE_BYTES} bytes`, { details: { limit: MAX_RESPONSE_BYTES } });
}

function excerpt(body: string): string {
  const flat = body.replace(/\s+/g, ' ').trim();
  return flat.length > ERROR_BODY_CHARS ? `${flat.slice(0, ERROR_BODY_CHARS)}…` : flat;
}

function networkReason(error: unknown): string {
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
  const code = typeof cause === 'object' && cause !== null && 'code' in cause ? String(cause.code) : undefined;
  const message = cause instanceof Error ? cause.message : String(cause);
  return code ? `${code} (${message})` : message;
}
