import { afterEach, describe, expect, it, vi } from 'vitest';
import { createSilentLogger } from '../../src/logging/index.js';
import { EmbeddingQueue, type EmbeddingJob } from '../../src/memory/embedding-queue.js';
import { InMemoryVectorIndex } from '../../src/memory/in-memory/in-memory-vector-index.js';
import { TrigramEmbedder } from '../support/trigram-embedder.js';

function job(refId: number): EmbeddingJob {
  return { kind: 'kv', refId, tenant: 'default', scope: 'notes', timestamp: 1_000 + refId, text: `note number ${refId} about gardening`, textHash: `h${refId}` };
}

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('EmbeddingQueue', () => {
  const opened: EmbeddingQueue[] = [];
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((queue) => queue.close()));
  });

  function setup(options: { batchSize?: number; lingerMs?: number } = {}) {
    const embedder = new TrigramEmbedder({ dimensions: 32 });
    const vectors = new InMemoryVectorIndex();
    const queue = new EmbeddingQueue({ embedder, vectors, logger: createSilentLogger(), batchSize: options.batchSize ?? 64, lingerMs: options.lingerMs ?? 60_000, stillCurrent: async (jobs) => [...jobs] });
    opened.push(queue);
    const stored = async (): Promise<number> => (await vectors.counts()).reduce((sum, entry) => sum + entry.count, 0);
    return { embedder, queue, stored };
  }

  it('embeds nothing in the turn that queued the job: the batch waits, then jobs queued meanwhile join it', async () => {
    const { embedder, queue, stored } = setup({ lingerMs: 40 });
    queue.enqueue([job(1)]);
    for (let turn = 2; turn <= 5; turn += 1) {
      await nextTurn();
      expect(embedder.calls).toBe(0);
      queue.enqueue([job(turn)]);
    }
    expect(queue.pending).toBe(5);
    await vi.waitFor(() => expect(queue.pending).toBe(0));
    expect(embedder.calls).toBe(1);
    expect(await stored()).toBe(5);
  });

  it('starts a full batch at once, and flush() ends the wait', async () => {
    const { embedder, queue, stored } = setup({ batchSize: 3 });
    queue.enqueue([job(1), job(2)]);
    await nextTurn();
    expect(embedder.calls).toBe(0);
    queue.enqueue([job(3)]);
    await vi.waitFor(() => expect(queue.pending).toBe(0));
    expect(embedder.calls).toBe(1);
    expect(await stored()).toBe(3);

    queue.enqueue([job(4)]);
    await queue.flush();
    expect(embedder.calls).toBe(2);
    expect(await stored()).toBe(4);
  });

  it('closes during the wait without embedding what waited', async () => {
    const { embedder, queue, stored } = setup();
    queue.enqueue([job(1)]);
    await queue.close();
    expect(embedder.calls).toBe(0);
    expect(await stored()).toBe(0);
    expect(queue.pending).toBe(0);
  });
});
