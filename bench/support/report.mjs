// What every bench/*.bench.mjs receives: options, a place to print tables, and a results object
// that `--json FILE` writes out for CI or for comparing runs.

import { writeFileSync } from 'node:fs';

export class Report {
  /** Results by section and key, e.g. results.echo['stdio.p50_ms'] = {nexus, reference, ratio}. */
  results = {};

  constructor(options, write = (text) => process.stdout.write(text)) {
    this.options = options;
    this.write = write;
  }

  section(title) {
    this.write(`\n== ${title} ==\n`);
  }

  note(text) {
    this.write(`${text}\n`);
  }

  /** Prints rows (arrays of cells) under column headers, left-aligned, padded to fit. */
  table(headers, rows) {
    const widths = headers.map((header, column) => Math.max(header.length, ...rows.map((row) => String(row[column] ?? '').length)));
    const line = (cells) => cells.map((cell, column) => String(cell ?? '').padEnd(widths[column])).join('  ').trimEnd();
    this.write(`${line(headers)}\n${line(widths.map((width) => '-'.repeat(width)))}\n${rows.map(line).join('\n')}\n`);
  }

  record(section, key, value) {
    (this.results[section] ??= {})[key] = value;
  }

  saveJson(file) {
    writeFileSync(file, `${JSON.stringify({ date: new Date().toISOString(), node: process.version, options: this.options, results: this.results }, null, 2)}\n`);
  }
}
