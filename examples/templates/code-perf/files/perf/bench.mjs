/**
 * The benchmark (protected): checks that `topWords` still gives the reference answer on the
 * whole input, then times it and prints
 *   METRIC ms_per_op=...     the median time of one call (the metric: minimize)
 *   METRIC ops_per_sec=...   the same, as throughput
 *   METRIC heap_mb=...       the JavaScript heap's peak while timing (a constraint)
 * `--holdout` measures the copy of perf/words.mjs the run left in perf/.measured/ on the holdout
 * input: `holdout` runs in a folder with only the protected files and that artifact.
 */
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import { corpus } from './corpus.mjs';
import { referenceTopWords } from './reference.mjs';

const holdout = process.argv.includes('--holdout');
const here = new URL('.', import.meta.url);
const measured = new URL('.measured/words.mjs', here);
if (!holdout) {
  // The artifact the holdout measures: exactly the code timed here.
  mkdirSync(new URL('.measured/', here), { recursive: true });
  writeFileSync(new URL('.measured/.gitignore', here), '*\n');
  copyFileSync(new URL('words.mjs', here), measured);
}
const { topWords } = await import(holdout ? measured.href : new URL('words.mjs', here).href);

const K = 25;
const text = corpus(holdout ? 'holdout' : 'bench');
const got = topWords(text, K);
if (!isDeepStrictEqual(got, referenceTopWords(text, K))) {
  console.error('topWords gives a different answer from perf/reference.mjs on the benchmark input');
  console.error(`got ${JSON.stringify(got).slice(0, 300)}`);
  process.exit(1);
}

// Calls for a tenth of the budget (at least 5), for a stable median on any machine.
const window = (Number(process.env.AUTORESEARCH_TIME_BUDGET) || 10) * 100;
const times = [];
let heap = process.memoryUsage().heapUsed;
const started = performance.now();
while (times.length < 5 || (times.length < 200 && performance.now() - started < window)) {
  const t0 = performance.now();
  topWords(text, K);
  times.push(performance.now() - t0);
  heap = Math.max(heap, process.memoryUsage().heapUsed);
}
times.sort((a, b) => a - b);
const ms = times[Math.floor(times.length / 2)];
console.log(
  `calls: ${times.length}, fastest ${times[0].toFixed(3)} ms, slowest ${times.at(-1).toFixed(3)} ms`,
);
console.log(
  `METRIC ms_per_op=${ms.toFixed(4)} ops_per_sec=${(1000 / ms).toFixed(2)} heap_mb=${(heap / 2 ** 20).toFixed(1)}`,
);
