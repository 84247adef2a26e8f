import { createHash } from 'node:crypto';
import type { Embedder } from '../../src/memory/embedders/types.js';
import { isStopWord, tokenize } from '../../src/memory/text/index.js';

/**
 * A small real embedder for tests: each content word's character trigrams are hashed into
 * `dimensions` buckets and the counts L2-normalised. Deterministic, instant, no data files. It
 * captures spelling similarity ("recieve" ≈ "receive", "colour" ≈ "color"), which full-text search
 * cannot, and nothing of meaning. `hold()` pauses batches until released, to observe the queue.
 */
export class TrigramEmbedder implements Embedder {
  readonly id: string;
  readonly dimensions: number;
  calls = 0;
  private gate: Promise<void> | undefined;

  constructor(options: { id?: string; dimensions?: number } = {}) {
    this.id = options.id ?? 'test-trigram@1';
    this.dimensions = options.dimensions ?? 256;
  }

  /** Makes embed() wait until the returned function is called. */
  hold(): () => void {
    let release: () => void = () => undefined;
    this.gate = new Promise((resolve) => {
      release = resolve;
    });
    return () => {
      this.gate = undefined;
      release();
    };
  }

  async embed(texts: readonly string[], options: { signal?: AbortSignal } = {}): Promise<Float32Array[]> {
    this.calls += 1;
    await this.gate;
    options.signal?.throwIfAborted();
    return texts.map((text) => this.vector(text));
  }

  private vector(text: string): Float32Array {
    const vector = new Float32Array(this.dimensions);
    for (const word of tokenize(text).filter((token) => !isStopWord(token))) {
      const padded = `^${word}$`;
      for (let index = 0; index + 3 <= padded.length; index += 1) {
        const bucket = createHash('md5').update(padded.slice(index, index + 3)).digest().readUInt32LE(0) % this.dimensions;
        vector[bucket] = (vector[bucket] ?? 0) + 1;
      }
    }
    const norm = Math.hypot(...vector);
    return norm === 0 ? vector : vector.map((value) => value / norm);
  }
}
