/**
 * Key ordering shared by every KvStore: Unicode code point order, which is the byte order of
 * UTF-8 and therefore SQLite's BINARY collation. (JavaScript's `<` compares UTF-16 code units,
 * which puts astral characters before U+E000–U+FFFF.)
 */
export function compareCodePoints(left: string, right: string): number {
  const a = left[Symbol.iterator]();
  const b = right[Symbol.iterator]();
  for (;;) {
    const x = a.next();
    const y = b.next();
    if (x.done === true || y.done === true) return (x.done === true ? 0 : 1) - (y.done === true ? 0 : 1);
    const difference = (x.value.codePointAt(0) ?? 0) - (y.value.codePointAt(0) ?? 0);
    if (difference !== 0) return difference;
  }
}

/**
 * The smallest string greater than every string starting with `prefix`: the prefix with its last
 * code point incremented (surrogates skipped). Keys in [prefix, bound) are exactly those starting
 * with the prefix. Null when no bound exists (the prefix is all U+10FFFF).
 */
export function prefixUpperBound(prefix: string): string | null {
  const points = [...prefix];
  while (points.length > 0) {
    const last = points.pop()?.codePointAt(0) ?? 0;
    if (last < 0x10ffff) {
      const next = last + 1 === 0xd800 ? 0xe000 : last + 1;
      return points.join('') + String.fromCodePoint(next);
    }
  }
  return null;
}
