/**
 * What headless Chromium's omnibox popup costs: `autoresearch report`'s chart.png (one headless
 * launch, `renderPng`) with the popup and without it (as the report and the web-perf template's
 * Lighthouse run it), in interleaved rounds. Machine CPU is the busy time of all CPUs over the
 * renders: Chromium is a dozen processes.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { median } from '../policy/stats.js';
import { CHROMIUM, renderPng } from '../report/write.js';
import { perCall } from './fixture.js';

const ROUNDS = 4;
const RENDERS = 3;
const SVG =
  '<svg xmlns="http://www.w3.org/2000/svg" width="600" height="300">' +
  '<polyline points="0,250 150,200 300,120 450,90 600,40" fill="none" stroke="#36c"/></svg>';

export async function benchChromium(): Promise<string> {
  const chromium = process.env.CHROME_PATH || CHROMIUM;
  if (!existsSync(chromium)) return `skipped: no Chromium at ${chromium} (set CHROME_PATH)`;
  const dir = mkdtempSync(join(tmpdir(), 'ar-bench-chromium-'));
  const got = { popup: [] as number[], none: [] as number[] };
  const wall = { popup: [] as number[], none: [] as number[] };
  try {
    for (let r = 0; r < ROUNDS; r++)
      for (const mode of ['popup', 'none'] as const) {
        const m = await perCall(RENDERS, async () => {
          const problem = await renderPng(chromium, SVG, join(dir, 'chart.png'), {
            omniboxPopup: mode === 'popup',
          });
          if (problem) throw new Error(problem);
        });
        if (m.cpu !== null) got[mode].push(m.cpu);
        wall[mode].push(m.wall);
      }
  } catch (e) {
    return `failed: ${(e as Error).message}`;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const cpu = (m: 'popup' | 'none') => (got[m].length ? median(got[m]) : null);
  const fmt = (ms: number | null) => (ms === null ? '    n/a' : (ms / 1000).toFixed(2).padStart(7));
  const ratio =
    cpu('popup') && cpu('none') ? `   ${(cpu('none')! / cpu('popup')!).toFixed(2)}x` : '';
  return [
    `One headless chart.png (${RENDERS} in a row, ${ROUNDS} interleaved rounds, medians): machine CPU s (all CPUs, /proc/stat) and wall s per launch`,
    'omnibox popup            CPU s   wall s   CPU ratio',
    `built (Chromium's way) ${fmt(cpu('popup'))}  ${(median(wall.popup) / 1000).toFixed(2).padStart(7)}`,
    `disabled (ours)        ${fmt(cpu('none'))}  ${(median(wall.none) / 1000).toFixed(2).padStart(7)}${ratio}`,
  ].join('\n');
}
