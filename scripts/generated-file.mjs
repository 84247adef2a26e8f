// Shared by the doc generators (gen-errors-doc, gen-config-doc, gen-tools-table): write a
// generated file, or with --check only compare it and fail when it is out of date.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Whether `moduleUrl` (a script's import.meta.url) is the script node was started with. */
export function isMainModule(moduleUrl) {
  return process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(moduleUrl);
}

/**
 * With `--check` on the command line: exit 1 (printing `regenerate`) unless `file` holds exactly
 * `expected`. Otherwise: write it and print `written`.
 */
export function writeOrCheck(file, expected, { regenerate, written }) {
  if (process.argv.includes('--check')) {
    let current = '';
    try {
      current = readFileSync(file, 'utf8');
    } catch {
      // a missing file is simply out of date
    }
    if (current !== expected) {
      console.error(`${path.basename(file)} is out of date: run \`${regenerate}\``);
      process.exit(1);
    }
    return;
  }
  writeFileSync(file, expected);
  console.log(written);
}
