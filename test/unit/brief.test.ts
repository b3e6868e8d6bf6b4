import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildBrief, renderBrief, renderBriefWithin } from '../../src/program/brief.js';
import { historyReason } from '../../src/program/brief-reasons.js';
import { harnessDuties } from '../../src/program/harness-duties.js';
import { currentKeepBar } from '../../src/policy/keep-bar.js';
import { noiseAwarePolicy } from '../../src/policy/noise.js';
import type { ExperimentRow } from '../../src/ledger/types.js';
import { briefInput } from '../helpers/brief.js';
import { experimentRow } from '../helpers/rows.js';

const row = experimentRow;
const input = (experiments: ExperimentRow[]) => briefInput(experiments);

describe('the research brief', () => {
  it('states the objective, rules, incumbent, history with deltas, failures with log tails, and directions', () => {
    const b = buildBrief({
      ...input([
        row(0, { state: 'recorded', status: 'keep', primary_value: 1.5, title: 'baseline' }),
        row(1, {
          state: 'recorded',
          status: 'discard',
          primary_value: 1.6,
          incumbent_value: 1.5,
          title: 'depth 8',
        }),
        row(2, {
          state: 'recorded',
          status: 'crash',
          reason: 'the run failed (exit code 1)',
          title: 'fp8 | everywhere',
        }),
      ]),
      logTails: { 2: 'CUDA error: out of memory' },
    });
    const text = renderBrief(b);
    expect(text).toContain('Lower the metric `loss`');
    expect(text).toContain('You may change only: train.py.');
    expect(text).toContain('Never change: prepare.py');
    expect(text).toContain('loss = 1.2 at experiment 3 (abcdef1234): LR 0.01');
    expect(text).toContain('| 1 | discard | 1.6 | +0.1 | discarded | depth 8 |');
    expect(text).toContain('| 2 | crash | — |  | exit 1 | fp8 \\| everywhere |');
    expect(text).toContain('fp8 \\| everywhere'); // table cells are escaped
    expect(text).toContain('CUDA error: out of memory');
    expect(text).toContain('Try wider layers.');
    expect(b.history.map((h) => h.id)).toEqual([1, 2]); // the baseline is the reference, not history
  });

  it('lists what other slots are trying right now, so parallel agents do not duplicate', () => {
    const b = buildBrief(
      input([
        row(7, { state: 'running', slot: 1, title: 'dropout 0.1' }),
        row(8, { state: 'proposing', slot: 2, title: null }),
        row(9, { state: 'proposing', slot: 0, title: null }),
      ]),
    );
    expect(b.inFlight).toEqual([{ id: 7, slot: 1, title: 'dropout 0.1' }]);
    expect(renderBrief(b)).toContain('- 7 (slot 1): dropout 0.1');
  });

  it('summarizes older history as counts instead of cutting it', () => {
    const many = Array.from({ length: 50 }, (_, i) =>
      row(i + 1, {
        state: 'recorded',
        status: i % 2 ? 'discard' : 'crash',
        primary_value: 2,
        title: `idea ${i + 1}`,
      }),
    );
    const b = buildBrief({ ...input(many), maxHistory: 10 });
    expect(b.history).toHaveLength(10);
    expect(b.olderSummary).toEqual({ crash: 20, discard: 20 });
    expect(renderBrief(b)).toContain('Earlier: 20 crash, 20 discard.');
  });
});

describe('the brief within a token budget', () => {
  it('folds old history into counts, shortens log tails, then cuts directions at a line, never mid-line', async () => {
    const { renderBriefWithin } = await import('../../src/program/brief.js');
    const rows = Array.from({ length: 30 }, (_, i) =>
      row(i + 1, {
        state: 'recorded',
        status: i === 29 ? 'crash' : 'discard',
        primary_value: 2,
        incumbent_value: 1.9,
        title: `idea number ${i + 1} with a fairly long description`,
        reason: 'x',
      }),
    );
    const tail = Array.from({ length: 15 }, (_, i) => `log line ${i}`).join('\n');
    const directions = Array.from(
      { length: 200 },
      (_, i) => `Direction ${i}: try something specific.`,
    ).join('\n');
    const b = buildBrief({ ...input(rows), directions, logTails: { 30: tail } });
    const full = renderBriefWithin(b, 100_000);
    expect(full).toContain('log line 0');
    const small = renderBriefWithin(b, 1500);
    expect(small.length).toBeLessThanOrEqual(1500 * 4);
    expect(small).toMatch(/Earlier: \d+ discard/);
    expect(small).toContain('idea number 30'); // the newest history stays
    expect(small).not.toContain('log line 0'); // the tail got shorter
    expect(small).toContain(
      '(the rest of program.md is left out to keep this brief under 1500 tokens)',
    );
    for (const line of small.split('\n').filter((l) => l.startsWith('Direction')))
      expect(line).toMatch(/^Direction \d+: try something specific\.$/);
  });
});

describe('repeated ideas', () => {
  it('groups tries of the same idea with other numbers, so the agent sees it was tried', () => {
    const b = buildBrief(
      input([
        row(1, {
          state: 'recorded',
          status: 'discard',
          primary_value: 2,
          title: 'Increase LR to 0.02',
        }),
        row(2, { state: 'recorded', status: 'crash', title: 'Increase LR to 0.05' }),
        row(3, { state: 'recorded', status: 'discard', primary_value: 2, title: 'Use GELU' }),
        row(4, {
          state: 'recorded',
          status: 'keep',
          primary_value: 1,
          title: 'increase lr to 1e-3',
        }),
      ]),
    );
    expect(b.repeated).toEqual([
      {
        idea: 'Increase LR to 0.02',
        tries: [
          { id: 1, status: 'discard' },
          { id: 2, status: 'crash' },
          { id: 4, status: 'keep' },
        ],
      },
    ]);
    expect(renderBrief(b)).toContain(
      '- Increase LR to 0.02 (or the same change in other words or numbers): 1 discard, 2 crash, 4 keep',
    );
  });
});

describe('the brief says why', () => {
  const noise = { sigma: 0.05, df: 12 };
  const policy = noiseAwarePolicy({ confidence: 0.95, maxRepeats: 3 });
  /** A row as the loop records it: the policy's reason and numbers, the mean and n of its runs. */
  const judged = (
    id: number,
    cand: number[],
    inc: number[],
    patch: Partial<ExperimentRow> = {},
  ): ExperimentRow => {
    const d = policy.decide({
      goal: 'minimize',
      candidate: { values: cand },
      incumbent: { values: inc },
      noise,
    });
    const mean = cand.reduce((a, b) => a + b, 0) / cand.length;
    return row(id, {
      state: 'recorded',
      status: d.status === 'keep' ? 'keep' : 'discard',
      reason: d.reason,
      decision_json: JSON.stringify(d.stats),
      primary_value: mean,
      n_runs: cand.length,
      incumbent_value: inc.reduce((a, b) => a + b, 0) / inc.length,
      title: `idea ${id}`,
      ...patch,
    });
  };

  it('gives each history row its reason with p and n, the n behind each value, marks re-measured values, and shows brief_metrics', () => {
    const notSig = judged(1, [1.15, 1.17, 1.16], [1.2, 1.22, 1.21], {
      metrics_json: '{"loss":1.16,"peak_vram_mb":4100,"tokens_per_s":9000}',
    });
    const kept = judged(2, [0.8, 0.81, 0.79], [1.2, 1.22, 1.21], {
      metrics_json: '{"loss":0.8,"peak_vram_mb":4300}',
    });
    const worse = judged(3, [0.95], [0.8, 0.81, 0.79]);
    expect(notSig.reason).toMatch(/^not significant:/); // what the policy wrote, for the CLI
    const b = buildBrief({
      ...input([notSig, kept, worse]),
      briefMetrics: ['peak_vram_mb', 'loss', 'tokens_per_s'],
      remeasured: [2],
    });
    const text = renderBrief(b);
    expect(text).toContain(
      '| id | status | value (n) | delta | why | peak_vram_mb | tokens_per_s | change |',
    );
    expect(text).toMatch(
      /\| 1 \| discard \| 1\.16 \(3\) \| -0\.05 \| not sig\.: p=0\.\d+ \(needs < 0\.017\), n=3 vs 3 \| 4100 \| 9000 \| idea 1 \|/,
    );
    expect(text).toMatch(
      /\| 2 \| keep \| 0\.8\* \(3\) \| -0\.41 \| p<0\.001, n=3 vs 3 \| 4300 \| — \| idea 2 \|/,
    );
    expect(text).toContain('| 3 | discard | 0.95 (1) | +0.15 | worse, n=1 vs 3 | — | — | idea 3 |');
    expect(text).toContain('*: measured again after its decision');
    expect(b.metricColumns).toEqual(['peak_vram_mb', 'tokens_per_s']); // the primary metric has its own column
  });

  it('says in a few words why crashes, timeouts, invalid and skipped experiments ended', () => {
    const r = (
      status: ExperimentRow['status'],
      reason: string,
      patch: Partial<ExperimentRow> = {},
    ) => historyReason(row(1, { state: 'recorded', status, reason, ...patch }), 'minimize');
    expect(r('crash', 'the run failed (exit code 3)\n--- last lines of the log ---\nboom')).toBe(
      'exit 3',
    );
    expect(r('crash', 'the run failed (killed by SIGKILL)')).toBe('killed by SIGKILL');
    expect(r('crash', 'the run did not print score\n--- last lines ---')).toBe(
      'the run did not print score',
    );
    expect(
      r(
        'timeout',
        'over budget: still running at 66s (budget 60s + 6s grace); a run must end within AUTORESEARCH_TIME_BUDGET',
      ),
    ).toBe('over budget');
    expect(r('invalid', 'protected files differ from the start of the run: prepare.py')).toBe(
      'changed protected prepare.py',
    );
    expect(
      r('invalid', 'checks failed (exit code 1)\n--- failing part of checks.log ---\nnot ok 1'),
    ).toBe('checks failed (exit 1)');
    expect(r('skipped', 'same files as experiment 4 (discard)')).toBe('duplicate of 4');
    expect(r('discard', 'discarded: violates constraint p99_ms <= 20 (p99_ms = 35)')).toBe(
      'violates p99_ms <= 20 (p99_ms = 35)',
    );
    const strict = { diff: 0, se: null, p: null, nCandidate: 1, nIncumbent: 1 };
    expect(
      r('discard', 'discarded: 5 ties the incumbent', { decision_json: JSON.stringify(strict) }),
    ).toBe('tie, n=1 vs 1');
    const det = noiseAwarePolicy({ deterministic: true, tolerance: 0.01 }).decide({
      goal: 'minimize',
      candidate: { values: [0.995] },
      incumbent: { values: [1] },
    });
    expect(r('discard', det.reason, { decision_json: JSON.stringify(det.stats) })).toBe(
      'within tolerance 0.01',
    );
  });

  it('states the keep bar once, near the incumbent, and the drift when there is one', () => {
    const keepBar = currentKeepBar([], noise, {
      confidence: 0.95,
      minEffect: 0,
      maxRuns: 3,
      deterministic: false,
      tolerance: 0,
    });
    const text = renderBrief(
      buildBrief({
        ...input([]),
        keepBar,
        drift: 'the incumbent measured 4% slower over the last 10 experiments',
      }),
    );
    expect(text).toContain(
      `- keep bar: with the current noise a decrease of about ${Number(keepBar!.gain.toPrecision(2))} in \`loss\` is needed to keep a change (3 runs each; one-sided t-test at p < 0.017 on the noise sd 0.05 of repeated runs (df 12)). A smaller real gain is discarded as not significant.`,
    );
    expect(text).toContain(
      '- Note: measurements are drifting: the incumbent measured 4% slower over the last 10 experiments; the harness re-measures the incumbent alongside each candidate.',
    );
    expect(text.indexOf('keep bar:')).toBeLessThan(text.indexOf('## History'));
    expect(renderBrief(buildBrief(input([])))).not.toContain('keep bar');
    const det = renderBrief(
      buildBrief({
        ...input([]),
        keepBar: {
          gain: 0,
          runs: 1,
          unit: 'runs',
          how: 'the metric is deterministic',
          deterministic: true,
        },
      }),
    );
    expect(det).toContain(
      '- keep bar: the metric is deterministic (one run each): any decrease of `loss` is kept.',
    );
  });

  it('names close calls and says what actually helps, not a re-run the agent cannot ask for', () => {
    const close = judged(4, [1.12, 1.125, 1.121], [1.2, 1.22, 1.21], { title: 'LR 0.02' });
    const far = judged(5, [1.19, 1.21, 1.2], [1.2, 1.22, 1.21], { title: 'GELU' });
    const s = JSON.parse(close.decision_json!) as { p: number; alpha: number };
    expect(s.p).toBeGreaterThan(s.alpha); // not significant...
    expect(s.p).toBeLessThan(2 * s.alpha); // ...but close
    const b = buildBrief(input([close, far, judged(6, [1.3], [1.2, 1.22, 1.21])]));
    expect(b.nearMisses.map((m) => m.id)).toEqual([4]);
    const text = renderBrief(b);
    expect(text).toMatch(
      /- 4 LR 0\.02: -0\.088, p=0\.0[23]\d* \(needed < 0\.017, the bar was 0\.098\)/,
    );
    expect(text).toContain('the same files proposed again are skipped as a duplicate');
    expect(text).toContain('combine it with another change you expect to help');
  });

  it('tells the agent which instructions of a self-driving program.md the harness carries out', () => {
    const karpathy = readFileSync(
      join(import.meta.dirname, '../fixtures/karpathy-program.md'),
      'utf8',
    );
    const duties = harnessDuties(karpathy);
    expect(duties.map((d) => d.duty)).toEqual([
      'creating the branch',
      'committing your change',
      'running the experiment and reading its output',
      'recording results (results.tsv)',
      'keeping or reverting the change (git reset, advancing the branch)',
      'timing out runs that take too long',
      'looping: it asks for the next change when this one is measured',
    ]);
    expect(duties.find((d) => d.duty.startsWith('running'))!.quote).toBe(
      'Run the experiment: uv run train.py > run.log 2>&1…',
    );
    const text = renderBrief(buildBrief({ ...input([]), directions: karpathy }));
    expect(text).toMatch(
      /Note: the harness does these for you, whatever program\.md below says: creating the branch \("Create the branch: git checkout -b [^"]*"\); committing your change \("git commit"\);/,
    );
    expect(text).toContain(
      'looping: it asks for the next change when this one is measured ("LOOP FOREVER:"). Make one change to the editable files and stop.',
    );
    // A program written for this harness asks for none of it.
    expect(
      harnessDuties(
        'Make one change to train.py. The harness runs the experiment and keeps it if better. Do not run the experiment yourself, and never git commit.',
      ),
    ).toEqual([]);
  });

  it('shows the failing part of the checks as a block, and a crash log once', () => {
    const b = buildBrief({
      ...input([
        row(1, {
          state: 'recorded',
          status: 'invalid',
          title: 'refactor',
          reason:
            'checks failed (exit code 1)\n--- failing part of checks.log ---\nnot ok 2 - adds large numbers\n  error: 13 !== 12',
        }),
        row(2, {
          state: 'recorded',
          status: 'crash',
          title: 'fp8',
          reason: 'the run failed (exit code 1)\n--- last lines of the log ---\nCUDA error',
        }),
      ]),
      logTails: { 2: 'CUDA error' },
    });
    const text = renderBrief(b);
    expect(text).toContain(
      '### 1 invalid: refactor\n\nchecks failed (exit code 1)\n\n```\n--- failing part of checks.log ---\nnot ok 2 - adds large numbers\n  error: 13 !== 12\n```',
    );
    expect(text.match(/CUDA error/g)).toHaveLength(1);
  });

  it('keeps all of it within brief_tokens: old rows, their close calls and long details fold first', () => {
    const rows = Array.from({ length: 40 }, (_, i) =>
      judged(i + 1, [1.12, 1.125, 1.121], [1.2, 1.22, 1.21], {
        title: `idea number ${i + 1} with a fairly long description`,
        metrics_json: '{"peak_vram_mb":4100}',
      }),
    );
    const detail = Array.from(
      { length: 30 },
      (_, i) => `assertion ${i}: expected the loss to be finite, got NaN at step ${i}`,
    ).join('\n');
    rows.push(
      row(41, {
        state: 'recorded',
        status: 'invalid',
        title: 'broken',
        reason: `checks failed (exit code 1)\n${detail}`,
      }),
    );
    const keepBar = currentKeepBar([], noise, {
      confidence: 0.95,
      minEffect: 0,
      maxRuns: 3,
      deterministic: false,
      tolerance: 0,
    });
    const karpathy = readFileSync(
      join(import.meta.dirname, '../fixtures/karpathy-program.md'),
      'utf8',
    );
    const b = buildBrief({
      ...input(rows),
      keepBar,
      briefMetrics: ['peak_vram_mb'],
      directions: karpathy.repeat(3),
      maxHistory: 40,
    });
    const small = renderBriefWithin(b, 2250);
    expect(small.length).toBeLessThanOrEqual(2250 * 4);
    expect(small).toContain('keep bar:');
    expect(small).toContain('| 41 | invalid |'); // the newest row stays
    expect(small).toMatch(/Earlier: \d+ discard/);
    expect(small).toContain('assertion 0:'); // a detail keeps its head...
    expect(small).not.toContain('assertion 29:'); // ...and loses its end
    const shown = new Set([...small.matchAll(/^\| (\d+) \|/gm)].map((m) => Number(m[1])));
    for (const m of small.matchAll(/^- (\d+) idea number/gm))
      expect(shown.has(Number(m[1]))).toBe(true); // no close call of a folded row
    expect(small).toContain('Note: the harness does these for you');
  });
});
