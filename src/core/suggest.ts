/**
 * "Did you mean" hints: the closest known word within a small edit distance.
 * Pure.
 */

/** The closest known key within edit distance 2, for "did you mean" hints. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = 3;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return best;
}

/** ` (did you mean "x"?)` when a known word is close, else ''. */
export function didYouMean(word: string, candidates: readonly string[]): string {
  // A prefix counts too: `parent` for `parent_id`.
  const c =
    closest(word, candidates) ??
    (word.length >= 3 ? candidates.find((k) => k.startsWith(word)) : undefined);
  return c !== undefined && c !== word ? ` (did you mean "${c}"?)` : '';
}

function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 2) return 3;
  const prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0] as number;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j] as number;
      prev[j] = Math.min(
        (prev[j] as number) + 1,
        (prev[j - 1] as number) + 1,
        diag + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
      diag = tmp;
    }
  }
  return prev[b.length] as number;
}
