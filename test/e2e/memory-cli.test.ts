import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { tempDir } from '../support/runtime.js';

const cleanups: Array<() => void> = [];
afterEach(() => cleanups.splice(0).forEach((cleanup) => cleanup()));

describe('nexus memory reindex', () => {
  it('re-embeds every stored text with the configured embedder', async () => {
    const temp = tempDir();
    cleanups.push(() => temp.remove());
    const base = ['--data-dir', temp.dir];
    for (const [key, value] of [['pets', 'my dog loves the park'], ['work', 'quarterly spreadsheet review']]) {
      const stored = await runCli(['run', 'memory.store', ...base, '--args', JSON.stringify({ key, value })], { cwd: temp.dir });
      expect(stored.code).toBe(0);
    }
    const reindexed = await runCli(['memory', 'reindex', ...base], { cwd: temp.dir });
    expect(reindexed.stderr).toBe('');
    expect(reindexed.code).toBe(0);
    expect(reindexed.stdout).toMatch(/^reindexed with glove-[^:]+: 2 texts embedded, \d+ stale vectors removed$/m);
  }, 120_000);
});
