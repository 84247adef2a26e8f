import { stem } from './text/index.js';
import { queryStems } from './index-terms.js';

const WORD = /[\p{L}\p{N}]+/gu;
/** Whitespace that folding must rewrite beyond single newlines: a run of two, or anything but a space or newline. */
const FOLDABLE = /\s\s|[^\S \n]/;

/**
 * A short excerpt of `text` around the first word that matches the query (same stemming as
 * full-text search), or its beginning when nothing matches (a semantic hit). At most `maxLength`
 * characters plus ellipses, cut at word boundaries.
 */
export function makeSnippet(text: string, query: string, maxLength = 200): string {
  const flat = flatten(text);
  if (flat.length <= maxLength) return flat;
  const stems = queryStems(query);
  let hit = 0;
  for (const match of flat.matchAll(WORD)) {
    if (stems.has(stem(match[0].toLowerCase()))) {
      hit = match.index;
      break;
    }
  }
  // Some context before the match, more after it.
  let start = Math.max(0, hit - Math.floor(maxLength / 4));
  if (start > 0) start = flat.indexOf(' ', start) + 1 || start;
  let end = Math.min(flat.length, start + maxLength);
  if (end < flat.length) end = flat.lastIndexOf(' ', end) > start ? flat.lastIndexOf(' ', end) : end;
  return `${start > 0 ? '…' : ''}${flat.slice(start, end)}${end < flat.length ? '…' : ''}`;
}

/**
 * `text` on one line, whitespace runs folded to one space. Index texts are mostly words
 * separated by single spaces and newlines: those need no regular-expression replace (~2x faster).
 */
function flatten(text: string): string {
  return (FOLDABLE.test(text) ? text.replace(/\s+/g, ' ') : text.replaceAll('\n', ' ')).trim();
}
