import { describe, expect, it } from 'vitest';
import { currentKeepBar, type KeepBarSettings } from '../../src/policy/keep-bar.js';
import { noiseAwarePolicy } from '../../src/policy/noise.js';
import { pairedPolicy } from '../../src/policy/paired.js';
import { emptyExperiment } from '../../src/loop/experiment.js';
import type { ExperimentRow } from '../../src/ledger/types.js';

const settings: KeepBarSettings = {
  confidence: 0.95,
  minEffect: 0,
  maxRuns: 3,
  deterministic: false,
  tolerance: 0,
};
const row = (id: number, patch: Partial<ExperimentRow>): ExperimentRow => ({
  ...emptyExperiment('t', 0, 'x', 'p'),
  id,
  state: 'recorded',
  status: 'discard',
  ...patch,
});

describe('the keep bar the brief states', () => {
  it('is the gain the noise-aware policy keeps at its last look: just above it keeps, just below it does not', () => {
    const noise = { sigma: 0.05, df: 12 };
    const bar = currentKeepBar([], noise, settings)!;
    expect(bar.runs).toBe(3);
    expect(bar.unit).toBe('runs');
    expect(bar.how).toBe(
      'one-sided t-test at p < 0.017 on the noise sd 0.05 of repeated runs (df 12)',
    );
    const policy = noiseAwarePolicy({ confidence: 0.95, maxRepeats: 3 });
    const decide = (gain: number) =>
      policy.decide({
        goal: 'minimize',
        candidate: { values: [1 - gain, 1 - gain, 1 - gain] },
        incumbent: { values: [1, 1, 1] },
        noise,
      }).status;
    expect(decide(bar.gain * 1.01)).toBe('keep');
    expect(decide(bar.gain * 0.99)).toBe('discard');
  });

  it('is min_effect when that is larger, and says so', () => {
    const bar = currentKeepBar([], { sigma: 0.001, df: 30 }, { ...settings, minEffect: 0.5 })!;
    expect(bar.gain).toBe(0.5);
    expect(bar.how).toMatch(/^min_effect 0\.5, above the one-sided t-test/);
  });

  it("takes the paired policy's final keep bar from the newest decision that states one", () => {
    const decision = pairedPolicy({ confidence: 0.95, confirm: 2, maxPairs: 3 }).decide({
      goal: 'minimize',
      candidate: { values: [] },
      incumbent: { values: [10, 10.1] },
      sequence: [
        { arm: 'candidate', value: 9.9 },
        { arm: 'incumbent', value: 10 },
        { arm: 'incumbent', value: 10.05 },
        { arm: 'candidate', value: 9.97 },
      ],
      history: [
        [
          { arm: 'candidate', value: 10 },
          { arm: 'incumbent', value: 10.1 },
          { arm: 'incumbent', value: 10 },
          { arm: 'candidate', value: 10.02 },
        ],
      ],
    });
    expect(decision.stats?.keepBarFinal).toBeGreaterThan(0);
    const rows = [
      row(1, { decision_json: JSON.stringify(decision.stats) }),
      row(2, { status: 'crash' }),
    ];
    const bar = currentKeepBar(rows, { sigma: 1, df: 3 }, settings)!;
    expect(bar).toEqual({
      gain: decision.stats!.keepBarFinal,
      runs: 3,
      unit: 'pairs',
      how: 'paired t-test at p < 0.025, from the noise as of experiment 1',
    });
  });

  it('a deterministic metric needs more than its tolerance; no noise known yet: no bar', () => {
    expect(
      currentKeepBar([], null, { ...settings, deterministic: true, tolerance: 0.01 }),
    ).toMatchObject({ gain: 0.01, runs: 1, deterministic: true });
    expect(currentKeepBar([], null, settings)).toBeNull();
  });
});
