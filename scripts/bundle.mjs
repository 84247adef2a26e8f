#!/usr/bin/env node
// Bundles the compiled CLI (dist/) into dist/bundle/, which bin/nexus runs. Why: Node 20 has no
// module compile cache, and finding, reading and linking the ~500 modules of the unbundled tree
// cost more start-up time than running them (docs/decisions/0005-startup-bundle.md). Code
// splitting keeps what is imported on demand (the HTTP stack for `nexus --stdio`, jose,
// chokidar) in chunks of its own that a process reads only when it needs them. The unbundled
// dist/ stays: tests import it, and its stack traces name the source files.
//
// Outside the bundle: native addons and packages that find files next to themselves at run time
// (better-sqlite3 loads its .node binding, sqlite-vec its loadable extension). dist/bundle/ sits
// two levels below the package root like every dist/<domain>/ module, so paths computed from
// import.meta.url (package.json for the version) resolve the same in both layouts.

import { build } from 'esbuild';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/**
 * zod re-exports all of its ~40 error-message locales (~0.35 MB, half of zod) as `z.locales`,
 * which defeats tree shaking. Nexus (and the SDK) use only the English default, so the bundle
 * gets a locales module with just `en`; zod itself imports en.js directly for its default.
 */
const englishOnlyZodLocales = {
  name: 'english-only-zod-locales',
  setup(build) {
    build.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) =>
      /[\\/]node_modules[\\/]zod[\\/]/.test(args.importer) ? { path: path.join(path.dirname(args.importer), '../locales/en.js'), namespace: 'zod-locales' } : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: 'zod-locales' }, (args) => ({
      contents: `export { default as en } from ${JSON.stringify(args.path)};`,
      resolveDir: path.dirname(args.path),
      loader: 'js',
    }));
  },
};
const dist = path.join(repoRoot, 'dist');
const outdir = path.join(dist, 'bundle');

// Chunk names carry content hashes: start clean so stale chunks never pile up.
rmSync(outdir, { recursive: true, force: true });

await build({
  entryPoints: {
    nexus: path.join(dist, 'cli/main.js'),
    // Started as a Worker by URL from beside glove-cache.js, so it must be an entry of its own.
    'glove-build-worker': path.join(dist, 'memory/embedders/glove-build-worker.js'),
  },
  outdir,
  chunkNames: 'chunk-[hash]',
  bundle: true,
  splitting: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // Prefer each package's ES build: some CommonJS builds (jsonc-parser's UMD) require() files by
  // computed paths a bundler cannot follow.
  mainFields: ['module', 'main'],
  external: ['better-sqlite3', 'sqlite-vec'],
  plugins: [englishOnlyZodLocales],
  // CommonJS dependencies call require(); an ES module has none, so give each output file one.
  banner: { js: "import { createRequire as __nexusCreateRequire } from 'node:module';\nconst require = __nexusCreateRequire(import.meta.url);" },
  sourcemap: 'linked',
  legalComments: 'linked',
  logLevel: 'warning',
  // Module plugins are imported by a path known only at run time; esbuild rightly leaves those alone.
  logOverride: { 'unsupported-dynamic-import': 'silent' },
});
