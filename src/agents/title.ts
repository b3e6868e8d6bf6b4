/** Titles are one line in tables, results.tsv and commit subjects: whitespace folded, at most 200 characters. */
export function oneLine(s: string, fallback: string): string {
  const line = s.replace(/\s+/g, ' ').trim();
  return line.length > 200 ? line.slice(0, 197) + '...' : line || fallback;
}
