import path from 'node:path';

/** True when `candidate` is `root` or lies below it (both already canonical). */
export function isWithin(root: string, candidate: string): boolean {
  const relative = path.relative(root, candidate);
  return relative === '' || (!relative.startsWith('..') && !path.isAbsolute(relative));
}
