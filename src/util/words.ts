/** Counting in words for what a person reads: "1 experiment", "2 experiments". */
export function count(n: number, noun: string, plural = `${noun}s`): string {
  return `${n} ${n === 1 ? noun : plural}`;
}
