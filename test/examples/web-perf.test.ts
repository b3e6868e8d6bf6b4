import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { prepareDemo } from '../../src/demo.js';
import { loadProgram } from '../../src/program/program.js';
import { demoPatches } from '../../src/program/templates.js';
import { cli, gitIn, makeRepo, tempDir } from '../helpers/repo.js';

const CHROME = process.env.CHROME_PATH || '/usr/bin/chromium';
const hasChrome = existsSync(CHROME);

describe('init --template web-perf', () => {
  it('writes a program run accepts: the site editable, the evaluator protected, sealed without network', () => {
    const repo = makeRepo({ 'README.md': 'my site\n' });
    const r = cli(repo, ['init', '--template', 'web-perf', '--agent', 'llm']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/wrote .*perf\/lighthouse\.mjs, .*program\.md, .*site\/build\.mjs/);
    const { config } = loadProgram(join(repo, 'program.md'));
    expect(config.metric).toMatchObject({ name: 'score', goal: 'maximize' });
    expect(config.editable).toEqual(['site/**']);
    expect(config.protected).toEqual(
      expect.arrayContaining(['perf/lighthouse.mjs', 'perf/expected.txt']),
    );
    expect(config.constraints).toEqual(['content_diff == 0']);
    // Lighthouse comes from the project (npm install --prefix perf); sealed runs must see it.
    expect(config.keep_ignored).toEqual(['perf/node_modules']);
    expect(config.limits.network).toBe(false);
  });
});

/** The metrics the evaluator prints, run as the program's `run:` in `repo`. */
async function measure(repo: string): Promise<{ metrics: Record<string, number>; out: string }> {
  const run = String(loadProgram(join(repo, 'program.md')).config.run);
  const { stdout } = await promisify(execFile)('sh', ['-c', run], {
    cwd: repo,
    env: { ...process.env, CHROME_PATH: CHROME },
    maxBuffer: 16 << 20,
  });
  const line = stdout.split('\n').find((l) => l.startsWith('METRIC '));
  const metrics = Object.fromEntries(
    (line ?? '')
      .slice('METRIC '.length)
      .split(' ')
      .map((kv) => kv.split('='))
      .map(([k, v]) => [k, Number(v)]),
  );
  return { metrics, out: stdout };
}

describe.skipIf(!hasChrome)(`the web-perf evaluator (needs Chromium at ${CHROME})`, () => {
  it('scores the fast page above the slow one, and its content check finds the text the fast page lost', async () => {
    // The demo's repository: the template, with our Lighthouse linked where `npm install` puts it.
    const repo = prepareDemo('web-perf', join(tempDir(), 'web-perf'));
    const patch = (n: number) => gitIn(repo, 'apply', demoPatches('web-perf')![n - 1]!);

    const slow = await measure(repo);
    expect(slow.metrics.content_diff).toBe(0);
    expect(slow.metrics.bytes).toBeGreaterThan(4_000_000); // the uncompressed 1600x900 hero image

    // Two Lighthouse runs in all (each costs seconds of CPU): the fast page also lost its footer.
    patch(1); // the hero image at its display size, compressed
    patch(3); // a deferred, minified bundle without the start-up long task
    patch(4); // drops the script that writes the footer
    const fast = await measure(repo);
    expect(fast.metrics.bytes).toBeLessThan(slow.metrics.bytes! / 10);
    // Simulated throttling: 4 MB on slow 4G is about 20 s of LCP, whatever the machine's load.
    expect(fast.metrics.lcp_ms).toBeLessThan(slow.metrics.lcp_ms! / 3);
    expect(fast.metrics.score).toBeGreaterThan(slow.metrics.score! + 10);
    expect(fast.metrics.content_diff).toBe(1);
    expect(fast.out).toMatch(/^content: - Reading time: 1 minute\./m);
  }, 300_000);
});
