import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM, writeReport } from '../../src/report/write.js';
import { makeRepo } from '../helpers/repo.js';
import { runHere } from '../helpers/run.js';

const AGENT = `case "$AUTORESEARCH_EXPERIMENT_ID" in
  1) echo VALUE=5 > params.sh; echo 'TITLE: <script>alert(1)</script> & "quoted"' ;;
  2) echo VALUE=3 > params.sh; echo 'TITLE: lower it' ;;
  3) echo 'exit 3' > params.sh; echo 'TITLE: crash it' ;;
  *) echo VALUE=9 > params.sh; echo 'TITLE: big jump' ;;
esac
`;

const PROGRAM = `---
metric: { name: score, goal: maximize, deterministic: true }
run: bash exp.sh
budget: 5s
editable: [params.sh]
protected: [exp.sh, agent.sh]
agent: { name: command, command: bash agent.sh }
---
Raise the score.
`;

// One run for the file: each test writes its own report of it.
let repo = '';
beforeAll(async () => {
  repo = makeRepo({
    'exp.sh': 'source ./params.sh\necho "score: $VALUE"\n',
    'params.sh': 'VALUE=1\n',
    'agent.sh': AGENT,
    'program.md': PROGRAM,
  });
  await runHere(repo, { tag: 'rep', maxExperiments: 4 });
});

describe('writeReport on a real ledger', () => {
  it('writes report.html, chart.svg and, with chromium, a real chart.png', async () => {
    const out = await writeReport(repo, 'rep');
    expect(out.dir).toBe(join(repo, '.autoresearch/rep/report'));
    const html = readFileSync(out.html, 'utf8');
    const svg = readFileSync(out.svg, 'utf8');
    expect(svg).toContain('4 experiments, 2 kept');
    expect(svg.match(/class="pt failed"/g)).toHaveLength(1);
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quoted&quot;');
    expect(html).not.toContain('<script>');
    expect(html).toContain('+800.00%');
    expect(html).toContain('the run failed (exit code 3)');
    if (!existsSync(CHROMIUM)) {
      expect(out.png).toBeNull();
      expect(out.pngNote).toContain('not found');
      console.warn(`skipped the PNG check: ${CHROMIUM} does not exist`);
      return;
    }
    expect(out.png, out.pngNote).toBe(join(out.dir, 'chart.png'));
    const png = readFileSync(out.png!);
    expect(png.subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');
    expect(png.readUInt32BE(16)).toBe(1000); // IHDR width
    expect(png.readUInt32BE(20)).toBe(520); // IHDR height
    expect(statSync(out.png!).size).toBeGreaterThan(5000);
  });

  it('writes into another folder and says when there is no chromium', async () => {
    const out = await writeReport(repo, 'rep', join(repo, 'out'), {
      chromium: '/nonexistent/chromium',
    });
    expect(out.dir).toBe(join(repo, 'out'));
    expect(existsSync(join(repo, 'out/report.html'))).toBe(true);
    expect(existsSync(join(repo, 'out/chart.svg'))).toBe(true);
    expect(out.png).toBeNull();
    expect(out.pngNote).toContain('/nonexistent/chromium not found');
    await expect(writeReport(repo, 'nope')).rejects.toThrow('no run "nope"');
  });
});
