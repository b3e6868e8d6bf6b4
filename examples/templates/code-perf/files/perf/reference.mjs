/**
 * The reference answer of `topWords` (protected): plain and obviously right, not fast. The
 * checks and the benchmark compare the editable implementation with it, so a faster version
 * that answers differently is never kept.
 */
export function referenceTopWords(text, k) {
  const counts = new Map();
  for (const match of text.toLowerCase().matchAll(/[a-z0-9']+/g))
    counts.set(match[0], (counts.get(match[0]) ?? 0) + 1);
  return [...counts]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .slice(0, k);
}
