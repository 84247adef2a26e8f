import { NexusError } from '../errors/index.js';
import { ExpressionSyntaxError, lookupPath, parsePath, type PathNode } from './expression.js';

/**
 * `{{reference}}` templates inside step arguments. A string that is exactly one template keeps
 * the referenced value's type (number, object, array…); templates embedded in longer text are
 * stringified (strings as they are, anything else as JSON). `\{{` writes a literal `{{`.
 * A reference that does not resolve is an error naming the step and the reference, never a
 * silently kept placeholder (the original's behaviour).
 */
export type Template =
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'whole'; readonly path: PathNode }
  | { readonly kind: 'parts'; readonly parts: ReadonlyArray<string | PathNode> };

const OPEN = '{{';
const CLOSE = '}}';

/** Parses one string; throws ExpressionSyntaxError for an unclosed or malformed reference. */
export function parseTemplate(source: string): Template {
  if (!source.includes(OPEN)) return { kind: 'text', text: source };
  const parts: Array<string | PathNode> = [];
  let text = '';
  let i = 0;
  while (i < source.length) {
    if (source.startsWith(`\\${OPEN}`, i)) {
      text += OPEN;
      i += OPEN.length + 1;
      continue;
    }
    if (!source.startsWith(OPEN, i)) {
      text += source.charAt(i);
      i += 1;
      continue;
    }
    const close = source.indexOf(CLOSE, i + OPEN.length);
    if (close < 0) throw new ExpressionSyntaxError('Unclosed "{{" (write \\{{ for a literal "{{")', i);
    const inner = source.slice(i + OPEN.length, close);
    let path: PathNode;
    try {
      path = parsePath(inner.trim());
    } catch (error) {
      const reason = error instanceof ExpressionSyntaxError ? error.message : String(error);
      throw new ExpressionSyntaxError(`Bad reference {{${inner}}}: ${reason}`, i);
    }
    if (text) parts.push(text);
    text = '';
    parts.push(path);
    i = close + CLOSE.length;
  }
  if (text) parts.push(text);
  const [only] = parts;
  if (parts.length === 1 && only !== undefined && typeof only !== 'string') return { kind: 'whole', path: only };
  if (parts.every((part) => typeof part === 'string')) return { kind: 'text', text: parts.join('') };
  return { kind: 'parts', parts };
}

/** Every reference in a (nested) argument value, with the JSON path of the string holding it. */
export function collectReferences(value: unknown, at: string): Array<{ at: string; path: PathNode } | { at: string; error: string }> {
  if (typeof value === 'string') {
    try {
      const template = parseTemplate(value);
      if (template.kind === 'whole') return [{ at, path: template.path }];
      if (template.kind === 'parts') return template.parts.filter((part): part is PathNode => typeof part !== 'string').map((path) => ({ at, path }));
      return [];
    } catch (error) {
      return [{ at, error: error instanceof Error ? error.message : String(error) }];
    }
  }
  if (Array.isArray(value)) return value.flatMap((item, index) => collectReferences(item, `${at}[${index}]`));
  if (isRecord(value)) return Object.entries(value).flatMap(([key, item]) => collectReferences(item, `${at}${propertyPath(key)}`));
  return [];
}

/** Where a render happens, for error messages. */
export interface RenderSite {
  readonly step: string;
  readonly tool?: string | undefined;
}

/** Renders every string in a value against the scope; unresolved references throw WORKFLOW_TEMPLATE_ERROR. */
export function render(value: unknown, scope: Readonly<Record<string, unknown>>, site: RenderSite): unknown {
  if (typeof value === 'string') return renderString(value, scope, site);
  if (Array.isArray(value)) return value.map((item) => render(item, scope, site));
  // fromEntries defines own properties, so even a "__proto__" key stays an ordinary key.
  if (isRecord(value)) return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, render(item, scope, site)]));
  return value;
}

function renderString(source: string, scope: Readonly<Record<string, unknown>>, site: RenderSite): unknown {
  const template = parseTemplate(source);
  switch (template.kind) {
    case 'text':
      return template.text;
    case 'whole':
      return resolve(template.path, scope, site);
    case 'parts':
      return template.parts.map((part) => (typeof part === 'string' ? part : stringify(resolve(part, scope, site)))).join('');
  }
}

/** Resolves one reference strictly. */
export function resolve(path: PathNode, scope: Readonly<Record<string, unknown>>, site: RenderSite): unknown {
  const found = lookupPath(scope, path);
  if (found.ok) return found.value;
  const where = site.tool ? `step "${site.step}" (${site.tool})` : `step "${site.step}"`;
  throw new NexusError('WORKFLOW_TEMPLATE_ERROR', `In ${where}, {{${path.text}}} does not resolve: ${found.at} ${found.reason}`, {
    details: { step: site.step, ...(site.tool ? { tool: site.tool } : {}), reference: path.text, at: found.at },
  });
}

function stringify(value: unknown): string {
  if (typeof value === 'string') return value;
  return JSON.stringify(value) ?? 'null';
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `.key` for identifier-like keys, `["key"]` otherwise. */
export function propertyPath(key: string): string {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
}
