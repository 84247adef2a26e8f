import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig, parseConfig } from '../../src/config/index.js';
import { NexusError } from '../../src/errors/index.js';
import { createSilentLogger } from '../../src/logging/index.js';
import { createEmbedder, GLOVE_EMBEDDER_ID, GloveEmbedder, HttpEmbedder } from '../../src/memory/embedders/index.js';
import { tempDir } from '../support/runtime.js';

const logger = createSilentLogger();
const temps: Array<{ remove(): void }> = [];
afterEach(() => temps.splice(0).forEach((temp) => temp.remove()));

function configError(run: () => unknown): NexusError {
  try {
    run();
  } catch (error) {
    expect(NexusError.is(error)).toBe(true);
    return error as NexusError;
  }
  throw new Error('expected a configuration error');
}

describe('memory.embedder config and createEmbedder', () => {
  it('defaults to the offline built-in embedder', () => {
    const config = parseConfig({});
    expect(config.memory.embedder).toMatchObject({ provider: 'builtin', batch_size: 64, timeout_secs: 30, max_retries: 3 });
    const embedder = createEmbedder(config.memory.embedder, { dataDir: '/unused', logger });
    expect(embedder).toBeInstanceOf(GloveEmbedder);
    expect(embedder.id).toBe(GLOVE_EMBEDDER_ID);
  });

  it('builds an HTTP embedder for provider "openai"', () => {
    const config = parseConfig({ memory: { embedder: { provider: 'openai', url: 'http://127.0.0.1:11434/v1', model: 'nomic-embed-text' } } });
    const embedder = createEmbedder(config.memory.embedder, { dataDir: '/unused', logger });
    expect(embedder).toBeInstanceOf(HttpEmbedder);
    expect(embedder.id).toBe('http:nomic-embed-text');
    expect(embedder.dimensions).toBe(0);
  });

  it('requires url and model for "openai", and rejects unknown keys and non-http URLs', () => {
    const missing = configError(() => parseConfig({ memory: { embedder: { provider: 'openai' } } }));
    expect(missing.code).toBe('CONFIG_INVALID');
    expect(missing.message).toContain('memory.embedder.url');
    expect(missing.message).toContain('memory.embedder.model');
    expect(configError(() => parseConfig({ memory: { embedder: { provider: 'openai', url: 'file:///etc/passwd', model: 'm' } } })).message).toContain('http(s) URL');
    expect(configError(() => parseConfig({ memory: { embedder: { modle: 'x' } } })).message).toContain('unknown key "modle"');
    expect(configError(() => parseConfig({ memory: { embedder: { provider: 'cohere' } } })).code).toBe('CONFIG_INVALID');
  });

  it('expands ${ENV} in api_key when loading a config file, and reports an unset variable without echoing values', () => {
    const dir = tempDir();
    temps.push(dir);
    const file = path.join(dir.dir, 'nexus.json');
    writeFileSync(file, JSON.stringify({ memory: { embedder: { provider: 'openai', url: 'https://api.example.com/v1', model: 'text-embedding-3-small', api_key: '${EMBED_KEY}' } } }));
    const loaded = loadConfig({ configPath: file, env: { EMBED_KEY: 'sk-from-env' }, cwd: dir.dir });
    expect(loaded.config.memory.embedder.api_key).toBe('sk-from-env');

    const unset = configError(() => loadConfig({ configPath: file, env: {}, cwd: dir.dir }));
    expect(unset.code).toBe('CONFIG_INVALID');
    expect(unset.message).toContain('memory.embedder.api_key');
    expect(unset.message).toContain('EMBED_KEY');
  });

  it('leaves a literal api_key as it is', () => {
    const dir = tempDir();
    temps.push(dir);
    const file = path.join(dir.dir, 'nexus.json');
    writeFileSync(file, JSON.stringify({ memory: { embedder: { provider: 'openai', url: 'http://127.0.0.1:8080/v1', model: 'm', api_key: 'plain-key' } } }));
    expect(loadConfig({ configPath: file, env: {}, cwd: dir.dir }).config.memory.embedder.api_key).toBe('plain-key');
  });
});
