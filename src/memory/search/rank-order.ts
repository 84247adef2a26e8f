/**
 * Longest list sorted by insertion; longer ones go to Array.prototype.sort. A search's rankings
 * are short (its candidates: tens of items), and there an insertion sort reading the keys inline
 * takes half the time of the built-in sort, which calls a comparator for every comparison.
 */
const INSERTION_LIMIT = 128;

/**
 * Sorts `positions` in place, best first: by `scores[position]` descending, then by
 * `tieBreak[position]` ascending; positions equal on both keep their order (the sort is stable).
 * Scores must not be NaN.
 */
export function sortByScore(positions: number[], scores: ArrayLike<number>, tieBreak: ArrayLike<number>): number[] {
  if (positions.length > INSERTION_LIMIT) {
    return positions.sort((left, right) => {
      const difference = scores[right]! - scores[left]!;
      // A sign, not the difference: a comparator's non-integer result is allocated on the heap.
      return difference > 0 ? 1 : difference < 0 ? -1 : Math.sign(tieBreak[left]! - tieBreak[right]!);
    });
  }
  for (let index = 1; index < positions.length; index += 1) {
    const position = positions[index]!;
    const score = scores[position]!;
    const tie = tieBreak[position]!;
    let hole = index;
    for (; hole > 0; hole -= 1) {
      const before = positions[hole - 1]!;
      const beforeScore = scores[before]!;
      if (beforeScore > score || (beforeScore === score && tieBreak[before]! <= tie)) break;
      positions[hole] = before;
    }
    positions[hole] = position;
  }
  return positions;
}

/** The positions 0, 1, …, count − 1 of a list, for sortByScore to order. */
export function positions(count: number): number[] {
  const list = new Array<number>(count);
  for (let position = 0; position < count; position += 1) list[position] = position;
  return list;
}
