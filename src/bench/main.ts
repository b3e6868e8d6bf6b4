/** `npm run bench`: every benchmark, printed as figures and ratios (medians; compare side by side). */
import { benchChromium } from './chromium.js';
import { benchLauncher } from './launcher.js';
import { benchOverhead } from './overhead.js';
import { benchThroughput } from './throughput.js';
import { benchPipeline } from './pipeline.js';
import { benchPolicyDrift } from './policy-drift.js';
import { benchTune } from './tune.js';
import { benchMetrics } from './metrics.js';
import { benchSearch } from './search.js';

const only = process.argv[2];
const benches: Array<[string, () => Promise<string>]> = [
  ['overhead', () => benchOverhead(Number(process.env.BENCH_EXPERIMENTS ?? 200))],
  ['launcher', () => benchLauncher()],
  ['chromium', () => benchChromium()],
  ['tune', () => benchTune()],
  ['policy', () => benchPolicyDrift()],
  ['throughput', () => benchThroughput()],
  ['pipeline', () => benchPipeline()],
  ['metrics', () => benchMetrics()],
  ['search', () => benchSearch()],
];

for (const [name, run] of benches) {
  if (only && only !== name) continue;
  const started = performance.now();
  process.stdout.write(`\n== ${name} ==\n`);
  process.stdout.write((await run()) + '\n');
  process.stdout.write(`(${((performance.now() - started) / 1000).toFixed(1)} s)\n`);
}
