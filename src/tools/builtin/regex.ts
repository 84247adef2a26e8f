import { z } from 'zod';
import { defineTool, type Tool } from '../types.js';
import { READ_ONLY_LOCAL } from './annotations.js';
import { evalError, type EvalSandbox, type RegexJobMatch } from './eval-sandbox.js';
import { byteOffsets, parseReplacement, translatePattern } from './regex-syntax.js';

/** A replacement result larger than this (in UTF-16 units) is refused rather than built. */
const MAX_REPLACE_CHARS = 16 * 1024 * 1024;

const flagsArg = z
  .string()
  .regex(/^[imsuv]*$/, 'only the flags i, m, s, u and v are allowed')
  .default('u')
  .describe('JavaScript regex flags from "imsuv" (default "u"); a leading inline (?i), (?m) or (?s) works too');

const patternArgs = {
  text: z.string().describe('Text to search'),
  pattern: z.string().describe('Regular expression (JavaScript syntax; (?P<name>…) groups are accepted)'),
  flags: flagsArg,
};

const matchShape = z.object({
  match: z.string(),
  start: z.number().int().describe('UTF-8 byte offset of the match start'),
  end: z.number().int().describe('UTF-8 byte offset just past the match'),
  groups: z.array(z.string().nullable()),
  named_groups: z.record(z.string(), z.string().nullable()),
});

function withOffsets(text: string, matches: readonly RegexJobMatch[]): Array<z.infer<typeof matchShape>> {
  const offsets = byteOffsets(text, matches.flatMap((m) => [m.index, m.index + m.match.length]));
  return matches.map((m, position) => ({
    match: m.match,
    start: offsets[position * 2] ?? 0,
    end: offsets[position * 2 + 1] ?? 0,
    groups: m.groups,
    named_groups: m.named,
  }));
}

function regexMatch(sandbox: EvalSandbox): Tool {
  return defineTool({
    name: 'regex.match',
    title: 'Regex match',
    description:
      'Finds the first match of a regular expression in text (or every match with global: true). Returns {found, match, groups} ' +
      'or, when global, {found, count, matches:[{match, start, end, groups}]}; offsets are UTF-8 byte offsets. Runs with a deadline, so a ' +
      'catastrophic pattern fails with REGEX_TIMEOUT instead of hanging.',
    inputSchema: z.strictObject({
      ...patternArgs,
      global: z.boolean().default(false).describe('Return every match instead of the first'),
      limit: z.number().int().min(1).max(10_000).default(1000).describe('Most matches returned when global (then truncated: true)'),
    }),
    outputSchema: z.object({
      found: z.boolean(),
      match: z.string().nullable().optional(),
      groups: z.array(z.string().nullable()).optional(),
      named_groups: z.record(z.string(), z.string().nullable()).optional(),
      start: z.number().int().optional(),
      end: z.number().int().optional(),
      count: z.number().int().optional(),
      matches: z.array(matchShape).optional(),
      truncated: z.boolean().optional(),
    }),
    annotations: READ_ONLY_LOCAL,
    async execute({ text, pattern, flags, global, limit }, context) {
      const compiled = translatePattern(pattern, flags);
      const result = await sandbox
        .run({ kind: 'regex.match', source: compiled.source, flags: compiled.flags, text, global, limit }, context.signal)
        .catch((error: unknown) => {
          throw evalError(error, { timeout: 'REGEX_TIMEOUT', details: { pattern } });
        });
      const matches = withOffsets(text, result.matches);
      if (global) return { data: { found: matches.length > 0, count: matches.length, matches, truncated: result.truncated } };
      const first = matches[0];
      if (first === undefined) return { data: { found: false, match: null, groups: [] } };
      return { data: { found: true, ...first } };
    },
  });
}

function regexReplace(sandbox: EvalSandbox): Tool {
  return defineTool({
    name: 'regex.replace',
    title: 'Regex replace',
    description:
      'Replaces matches of a regular expression (all of them unless global: false) and returns the resulting text. The replacement may ' +
      'use $1, ${1}, $name, ${name} or $<name> for groups and $$ for a dollar. Runs with a deadline (REGEX_TIMEOUT).',
    inputSchema: z.strictObject({
      ...patternArgs,
      replacement: z.string().describe('Replacement template'),
      global: z.boolean().default(true).describe('Replace every match (default) or only the first'),
    }),
    outputSchema: z.object({ result: z.string(), replacements: z.number().int() }),
    annotations: READ_ONLY_LOCAL,
    async execute({ text, pattern, flags, replacement, global }, context) {
      const compiled = translatePattern(pattern, flags);
      const job = { kind: 'regex.replace', source: compiled.source, flags: compiled.flags, text, global, replacement: parseReplacement(replacement), maxChars: MAX_REPLACE_CHARS } as const;
      const result = await sandbox.run(job, context.signal).catch((error: unknown) => {
        throw evalError(error, { timeout: 'REGEX_TIMEOUT', details: { pattern } });
      });
      return { text: result.result, data: { result: result.result, replacements: result.replacements } };
    },
  });
}

/** regex.match and regex.replace, evaluated in the deadline-bound worker pool. */
export function regexTools(sandbox: EvalSandbox): Tool[] {
  return [regexMatch(sandbox), regexReplace(sandbox)];
}
