import { NexusError } from '../../errors/index.js';
import type { ReplacementPart } from './eval-sandbox.js';

/**
 * The original used Rust's `regex` crate. Its patterns are almost all valid JavaScript, except
 * for `(?P<name>…)` groups and leading inline flags such as `(?i)`; both are translated here so
 * a client written for the original keeps working. Everything else is JavaScript syntax.
 */
export function translatePattern(pattern: string, flags: string): { source: string; flags: string } {
  let source = pattern;
  let inline = '';
  const leading = /^\(\?([a-zA-Z]+)\)/.exec(source);
  if (leading?.[1] !== undefined) {
    const unsupported = [...leading[1]].filter((flag) => !'ims'.includes(flag));
    if (unsupported.length > 0) {
      throw new NexusError('INVALID_REGEX', `Inline flag(s) "${unsupported.join('')}" are not supported (use i, m or s)`, { details: { pattern } });
    }
    inline = leading[1];
    source = source.slice(leading[0].length);
  }
  return { source: renamePythonGroups(source), flags: [...new Set([...flags, ...inline])].join('') };
}

/** `(?P<name>` → `(?<name>` outside escapes and character classes. */
function renamePythonGroups(source: string): string {
  let out = '';
  let inClass = false;
  for (let index = 0; index < source.length; index += 1) {
    const char = source[index];
    if (char === '\\') {
      out += source.slice(index, index + 2);
      index += 1;
      continue;
    }
    if (char === '[') inClass = true;
    else if (char === ']') inClass = false;
    if (!inClass && source.startsWith('(?P<', index)) {
      out += '(?<';
      index += 3;
      continue;
    }
    out += char;
  }
  return out;
}

const NAME_CHAR = /[_0-9A-Za-z]/;

/**
 * Parses a replacement template with the original's (Rust) rules: `$1`, `${1}`, `$name`,
 * `${name}`, `$$` for a dollar; `$name` takes the longest run of name characters. `$<name>`
 * (JavaScript's form) is accepted too. A `$` followed by anything else is literal.
 */
export function parseReplacement(template: string): ReplacementPart[] {
  const parts: ReplacementPart[] = [];
  let literal = '';
  const reference = (name: string): void => {
    if (literal) parts.push({ literal });
    literal = '';
    parts.push(/^\d+$/.test(name) ? { group: Number(name) } : { name });
  };
  let index = 0;
  while (index < template.length) {
    const char = template[index] ?? '';
    const next = template[index + 1] ?? '';
    if (char !== '$') {
      literal += char;
      index += 1;
    } else if (next === '$') {
      literal += '$';
      index += 2;
    } else if (next === '{' || next === '<') {
      const close = template.indexOf(next === '{' ? '}' : '>', index + 2);
      const name = close === -1 ? '' : template.slice(index + 2, close);
      if (name === '') {
        literal += '$';
        index += 1;
      } else {
        reference(name);
        index = close + 1;
      }
    } else if (NAME_CHAR.test(next)) {
      let end = index + 1;
      while (end < template.length && NAME_CHAR.test(template[end] ?? '')) end += 1;
      reference(template.slice(index + 1, end));
      index = end;
    } else {
      literal += '$';
      index += 1;
    }
  }
  if (literal) parts.push({ literal });
  return parts;
}

/**
 * Converts ascending UTF-16 indexes into UTF-8 byte offsets (what the original reported), in one
 * pass over the text.
 */
export function byteOffsets(text: string, indexes: readonly number[]): number[] {
  let previousIndex = 0;
  let bytes = 0;
  return indexes.map((index) => {
    bytes += Buffer.byteLength(text.slice(previousIndex, index), 'utf8');
    previousIndex = index;
    return bytes;
  });
}
