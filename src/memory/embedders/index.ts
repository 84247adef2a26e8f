import type { NexusConfig } from '../../config/index.js';
import { NexusError } from '../../errors/index.js';
import type { Logger } from '../../logging/index.js';
import { GloveEmbedder } from './glove.js';
import { HttpEmbedder } from './http.js';
import type { Embedder } from './types.js';

export { GLOVE_EMBEDDER_ID, GloveEmbedder, embedText } from './glove.js';
export { gloveCachePath, loadGloveTable, type GloveTable } from './glove-cache.js';
export { HttpEmbedder, type HttpEmbedderOptions } from './http.js';
export type { Embedder } from './types.js';

/** The `memory.embedder` config section. */
export type EmbedderConfig = NexusConfig['memory']['embedder'];

/** Builds the configured embedder: the offline GloVe one by default, or an OpenAI-compatible server. */
export function createEmbedder(config: EmbedderConfig, context: { dataDir: string; logger: Logger }): Embedder {
  if (config.provider === 'builtin') return new GloveEmbedder({ dataDir: context.dataDir });
  if (config.url === undefined || config.model === undefined) {
    // The schema already requires both; this guards callers that build the section by hand.
    throw new NexusError('CONFIG_INVALID', 'memory.embedder.url and memory.embedder.model are required when provider is "openai"', {
      details: { problems: [{ path: '$.memory.embedder', message: 'url and model are required' }] },
    });
  }
  return new HttpEmbedder({
    url: config.url,
    model: config.model,
    apiKey: config.api_key,
    batchSize: config.batch_size,
    timeoutMs: config.timeout_secs * 1000,
    maxRetries: config.max_retries,
    logger: context.logger.child({ component: 'embedder', provider: 'openai' }),
  });
}
