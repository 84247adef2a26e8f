#!/usr/bin/env node
// Regenerates docs/errors.md from the catalogue in src/errors/codes.ts.
//   node scripts/gen-errors-doc.mjs          write the file
//   node scripts/gen-errors-doc.mjs --check  exit 1 when the file is out of date
// It reads the TypeScript source (not dist/) so a freshly added code is picked up without a build:
// codes.ts has no imports, so transpiling it alone and importing the result is enough.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { isMainModule, writeOrCheck } from './generated-file.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const source = path.join(root, 'src/errors/codes.ts');
const target = path.join(root, 'docs/errors.md');

/** The ERROR_CODES object of src/errors/codes.ts. */
export async function loadCatalogue() {
  const { outputText } = ts.transpileModule(readFileSync(source, 'utf8'), {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
  });
  const module = await import(`data:text/javascript;base64,${Buffer.from(outputText).toString('base64')}`);
  return module.ERROR_CODES;
}

const escapeCell = (text) => String(text).replaceAll('|', '\\|').replaceAll('\n', ' ');

/** The whole Markdown document for a catalogue. */
export function renderErrorsDoc(catalogue) {
  const rows = Object.entries(catalogue).map(
    ([code, spec]) => `| \`${code}\` | ${spec.httpStatus} | ${spec.jsonRpcCode} | ${escapeCell(spec.description)} |`,
  );
  return [
    '# Error codes',
    '',
    '<!-- Generated from src/errors/codes.ts by `node scripts/gen-errors-doc.mjs`; do not edit by hand. -->',
    '',
    'Every failure in Nexus is a `NexusError` with one of the codes below. Each boundary maps it once:',
    '',
    '- **Tool call** that fails: a result with `isError: true`, text `CODE: message` and',
    '  `structuredContent: {code, message, details}` (details carry the call\'s `traceId`).',
    '- **Protocol fault** (unknown tool, bad cursor, missing prompt argument…): a JSON-RPC error with the',
    '  code in the JSON-RPC column and `data.code` set to the Nexus code; never a stack trace.',
    '- **HTTP**: the status in the HTTP column with body `{"error": {"code", "message", "details"}}`.',
    '- **CLI**: one line `nexus: CODE: message` on stderr; exit code 2 for configuration and usage',
    '  problems, 1 otherwise. `--debug` adds the stack.',
    '',
    '`INTERNAL_ERROR` never shows its message to clients: look its `traceId` up in the logs.',
    '',
    '| Code | HTTP | JSON-RPC | Meaning |',
    '|---|---|---|---|',
    ...rows,
    '',
  ].join('\n');
}

if (isMainModule(import.meta.url)) {
  const catalogue = await loadCatalogue();
  writeOrCheck(target, renderErrorsDoc(catalogue), {
    regenerate: 'node scripts/gen-errors-doc.mjs',
    written: `wrote ${path.relative(root, target)} (${Object.keys(catalogue).length} codes)`,
  });
}
