import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

const root = path.resolve(import.meta.dirname, '../..');
const built = new Map<string, string>();

/**
 * Compiles source files (and everything they import) to JavaScript that a child `node` process can
 * import, without depending on a fresh `npm run build`. Output goes under node_modules/.cache so
 * the compiled files resolve npm packages from the repository's node_modules. Returns the folder
 * that mirrors the repository layout (`<folder>/src/...`). Compiled once per test process.
 */
export function compileForChild(entries: readonly string[]): string {
  const cacheKey = [...entries].sort().join('\n');
  const existing = built.get(cacheKey);
  if (existing !== undefined) return existing;
  const outDir = path.join(root, 'node_modules', '.cache', 'nexus-child-build', `${process.pid}-${built.size}`);
  mkdirSync(outDir, { recursive: true });
  // Package scope lookup stops at node_modules: say explicitly that the output is ESM.
  writeFileSync(path.join(outDir, 'package.json'), '{"type": "module"}\n');
  const program = ts.createProgram(
    entries.map((entry) => path.join(root, entry)),
    {
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      rootDir: root,
      outDir,
      skipLibCheck: true,
      esModuleInterop: true,
      resolveJsonModule: true,
      sourceMap: false,
      declaration: false,
      noEmitOnError: false,
    },
  );
  const result = program.emit();
  if (result.emitSkipped) throw new Error(`compiling ${entries.join(', ')} for a child process failed`);
  built.set(cacheKey, outDir);
  return outDir;
}

/** Deletes what compileForChild built in this test process (call from afterAll). */
export function removeChildBuilds(): void {
  for (const folder of built.values()) rmSync(folder, { recursive: true, force: true });
  built.clear();
}
