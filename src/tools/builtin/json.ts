import { z } from 'zod';
import { defineTool, type Tool } from '../types.js';
import { READ_ONLY_LOCAL } from './annotations.js';
import { evalError, type EvalSandbox } from './eval-sandbox.js';
import { jsonDepth, MAX_JSON_DEPTH, parseJsonStrict, selectDotted } from './json-support.js';
import { NexusError } from '../../errors/index.js';

function typeOf(value: unknown): 'object' | 'array' | 'string' | 'number' | 'boolean' | 'null' {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  const type = typeof value;
  return type === 'object' || type === 'string' || type === 'number' || type === 'boolean' ? type : 'null';
}

const jsonParse = defineTool({
  name: 'json.parse',
  title: 'Parse JSON',
  description: 'Parses JSON text strictly and returns it pretty-printed (structured: {value, type}). Invalid JSON fails with INVALID_JSON naming the line and column.',
  inputSchema: z.strictObject({ text: z.string().describe('JSON text') }),
  outputSchema: z.object({ value: z.unknown(), type: z.enum(['object', 'array', 'string', 'number', 'boolean', 'null']) }),
  annotations: READ_ONLY_LOCAL,
  execute({ text }) {
    const value = parseJsonStrict(text);
    return { text: JSON.stringify(value, null, 2), data: { value, type: typeOf(value) } };
  },
});

function jsonQuery(sandbox: EvalSandbox): Tool {
  return defineTool({
    name: 'json.query',
    title: 'Query JSON',
    description:
      'Selects from JSON data. Dotted paths as in the original (`a.b[0].c`, `[1]`, also `a[0][1]`, `items[-1]`, `a["x.y"]`) return the one ' +
      'value; a path starting with `$` is an RFC 9535 JSONPath query (`$.items[?@.price < 10].name`, `$..id`) and returns every match ' +
      'with its normalized path. `json` may be a JSON value or JSON text.',
    inputSchema: z.strictObject({
      json: z.unknown().refine((value) => value !== undefined, 'Required').describe('The data: any JSON value, or a string holding JSON text'),
      path: z.string().describe('Dotted path, or a JSONPath query starting with $'),
      language: z.enum(['auto', 'dotted', 'jsonpath']).default('auto').describe('auto: JSONPath when the path starts with $, dotted otherwise'),
      limit: z.number().int().min(1).max(10_000).default(1000).describe('Most JSONPath matches returned (then truncated: true)'),
    }),
    outputSchema: z.object({
      language: z.enum(['dotted', 'jsonpath']),
      value: z.unknown().describe('The selected value (dotted) or the array of matched values (JSONPath)'),
      paths: z.array(z.string()).optional().describe('Normalized path of each JSONPath match'),
      count: z.number().int().optional(),
      truncated: z.boolean().optional(),
    }),
    annotations: READ_ONLY_LOCAL,
    async execute({ json, path, language, limit }, context) {
      const data = typeof json === 'string' ? parseJsonStrict(json) : json;
      if (typeof json !== 'string' && jsonDepth(data) > MAX_JSON_DEPTH) {
        throw new NexusError('INVALID_JSON', `The data is nested deeper than ${MAX_JSON_DEPTH} levels`, { details: {} });
      }
      const useJsonPath = language === 'jsonpath' || (language === 'auto' && path.trimStart().startsWith('$'));
      if (!useJsonPath) {
        const value = selectDotted(data, path);
        return { text: JSON.stringify(value, null, 2) ?? 'null', data: { language: 'dotted' as const, value } };
      }
      const result = await sandbox.run({ kind: 'jsonpath', path, value: data, limit }, context.signal).catch((error: unknown) => {
        throw evalError(error, { timeout: 'JSON_QUERY_TIMEOUT', details: { path } });
      });
      return {
        text: JSON.stringify(result.values, null, 2),
        data: { language: 'jsonpath' as const, value: result.values, paths: result.paths, count: result.values.length, truncated: result.truncated },
      };
    },
  });
}

/** json.parse and json.query. */
export function jsonTools(sandbox: EvalSandbox): Tool[] {
  return [jsonParse, jsonQuery(sandbox)];
}
