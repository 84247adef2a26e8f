import path from 'node:path';

/** True when `candidate` is `root` or lies below it (both already canonical). */
export function isWithin(root: string, candidate: string): boolean {
  const relative = path.relative(root, candidate);
  // `..hidden` is a name inside the root; only `..` itself or `../…` leaves it.
  return relative === '' || (relative !== '..' && !relative.startsWith(`..${path.sep}`) && !path.isAbsolute(relative));
}
