/**
 * `${param}` templates of command plugins. A template is parsed once, at load, into literal and
 * placeholder segments; substitution walks the segments, so a value is inserted exactly once and
 * never scanned again (a value containing `${other}` stays literal — the original expanded it).
 * `$${` writes a literal `${`.
 */

export type TemplateSegment = { literal: string } | { param: string };

export class TemplateError extends Error {}

/** Splits a template; an unterminated or empty `${` is an error. */
export function parseTemplate(template: string): TemplateSegment[] {
  const segments: TemplateSegment[] = [];
  let literal = '';
  let index = 0;
  while (index < template.length) {
    if (template.startsWith('$${', index)) {
      literal += '${';
      index += 3;
    } else if (template.startsWith('${', index)) {
      const end = template.indexOf('}', index + 2);
      if (end === -1) throw new TemplateError(`unterminated "\${" in ${JSON.stringify(template)}`);
      const param = template.slice(index + 2, end).trim();
      if (param === '') throw new TemplateError(`empty "\${}" in ${JSON.stringify(template)}`);
      if (literal !== '') segments.push({ literal });
      literal = '';
      segments.push({ param });
      index = end + 1;
    } else {
      literal += template.charAt(index);
      index += 1;
    }
  }
  if (literal !== '' || segments.length === 0) segments.push({ literal });
  return segments;
}

/** The placeholder names a parsed template uses. */
export function templateParams(segments: readonly TemplateSegment[]): string[] {
  return segments.flatMap((segment) => ('param' in segment ? [segment.param] : []));
}

/** How an argument value is written into a template or an environment variable (original rules). */
export function renderValue(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value) ?? 'null';
}

/** Fills a parsed template from the call's arguments; `missing` is told about absent ones. */
export function fillTemplate(segments: readonly TemplateSegment[], args: Readonly<Record<string, unknown>>, missing: (param: string) => never): string {
  return segments
    .map((segment) => {
      if ('literal' in segment) return segment.literal;
      if (!Object.hasOwn(args, segment.param) || args[segment.param] === undefined) return missing(segment.param);
      return renderValue(args[segment.param]);
    })
    .join('');
}
