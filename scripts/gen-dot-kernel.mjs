#!/usr/bin/env node
// Assembles src/memory/search/dot-kernel.wat into src/memory/search/dot-kernel-wasm.ts (its bytes,
// base64), with wabt (a dev dependency: the runtime only ever loads the bytes).
//   node scripts/gen-dot-kernel.mjs          write the file
//   node scripts/gen-dot-kernel.mjs --check  exit 1 when the file is out of date
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import initWabt from 'wabt';
import { isMainModule, writeOrCheck } from './generated-file.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const source = path.join(root, 'src/memory/search/dot-kernel.wat');
const target = path.join(root, 'src/memory/search/dot-kernel-wasm.ts');

/** The module's bytes, assembled from the WAT source. */
export async function assembleDotKernel() {
  const wabt = await initWabt();
  const module = wabt.parseWat(path.basename(source), readFileSync(source, 'utf8'), { simd: true });
  try {
    module.validate();
    return Buffer.from(module.toBinary({}).buffer);
  } finally {
    module.destroy();
  }
}

/** The TypeScript module holding `bytes`. */
export function renderDotKernelModule(bytes) {
  const base64 = bytes.toString('base64');
  const lines = base64.match(/.{1,96}/g) ?? [];
  return [
    '// Generated from dot-kernel.wat by `node scripts/gen-dot-kernel.mjs`; do not edit by hand.',
    '',
    '/** The assembled SIMD dot-product kernel (dot-kernel.wat), base64. */',
    'export const DOT_KERNEL_WASM_BASE64 =',
    lines.map((line) => `  '${line}'`).join(' +\n') + ';',
    '',
  ].join('\n');
}

if (isMainModule(import.meta.url)) {
  writeOrCheck(target, renderDotKernelModule(await assembleDotKernel()), {
    regenerate: 'node scripts/gen-dot-kernel.mjs',
    written: `wrote ${path.relative(root, target)}`,
  });
}
