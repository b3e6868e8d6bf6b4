/** One word for a POSIX shell, whatever it holds: single quotes, each `'` as `'\''` (no NUL). */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}
