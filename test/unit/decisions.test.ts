import { describe, expect, it } from 'vitest';
import { strictPolicy } from '../../src/policy/policy.js';
import { stopReason } from '../../src/loop/stop.js';
import { checkChangedPaths, describeViolations } from '../../src/workspace/rules.js';
import { experimentEnvironment } from '../../src/loop/environment.js';
import { improvementPercent } from '../../src/loop/summary.js';

describe('strict policy', () => {
  it('keeps strict improvements in the goal direction only', () => {
    expect(
      strictPolicy.decide({
        goal: 'minimize',
        candidate: { values: [0.9] },
        incumbent: { values: [1] },
      }).status,
    ).toBe('keep');
    expect(
      strictPolicy.decide({
        goal: 'minimize',
        candidate: { values: [1.1] },
        incumbent: { values: [1] },
      }).status,
    ).toBe('discard');
    expect(
      strictPolicy.decide({
        goal: 'maximize',
        candidate: { values: [1.1] },
        incumbent: { values: [1] },
      }).status,
    ).toBe('keep');
    expect(
      strictPolicy.decide({
        goal: 'maximize',
        candidate: { values: [0.9] },
        incumbent: { values: [1] },
      }).status,
    ).toBe('discard');
  });
  it('discards ties and explains every decision with the numbers', () => {
    const tie = strictPolicy.decide({
      goal: 'minimize',
      candidate: { values: [1] },
      incumbent: { values: [1] },
    });
    expect(tie.status).toBe('discard');
    expect(tie.reason).toContain('ties');
    expect(
      strictPolicy.decide({
        goal: 'minimize',
        candidate: { values: [0.75] },
        incumbent: { values: [1] },
      }).reason,
    ).toBe('kept: 0.75 vs 1 (-0.25), strictly better');
  });
});

describe('stop conditions', () => {
  const base = {
    candidates: 0,
    elapsedHours: 0,
    trailingFailures: 0,
    maxFailures: 5,
    stopRequested: false,
    agentExhausted: false,
  };
  it('runs while nothing says stop', () => expect(stopReason(base)).toBeNull());
  it('stops on each condition with a reason', () => {
    expect(stopReason({ ...base, candidates: 10, maxExperiments: 10 })).toBe(
      'reached 10 experiments',
    );
    expect(stopReason({ ...base, candidates: 9, maxExperiments: 10 })).toBeNull();
    expect(stopReason({ ...base, candidates: 1, maxExperiments: 1 })).toBe('reached 1 experiment');
    expect(stopReason({ ...base, trailingFailures: 1, maxFailures: 1 })).toBe(
      'the agent failed 1 time in a row',
    );
    expect(stopReason({ ...base, elapsedHours: 2, maxHours: 2 })).toBe('reached 2 h');
    expect(stopReason({ ...base, trailingFailures: 5 })).toBe('the agent failed 5 times in a row');
    expect(stopReason({ ...base, trailingSkips: 10, maxSkips: 10 })).toBe(
      '10 proposals in a row were skipped (duplicates or no change): the agent is not finding anything new',
    );
    expect(stopReason({ ...base, trailingSkips: 9, maxSkips: 10 })).toBeNull();
    expect(stopReason({ ...base, stopRequested: true })).toBe('stop requested');
    expect(stopReason({ ...base, agentExhausted: true })).toBe('the agent has no more proposals');
  });
});

describe('editable and protected rules', () => {
  it('allows editable files and names the offending ones', () => {
    expect(checkChangedPaths(['train.py'], '', ['train.py'], ['prepare.py'])).toEqual([]);
    const v = checkChangedPaths(
      ['train.py', 'prepare.py', 'notes.txt'],
      '',
      ['train.py', '*.py'],
      ['prepare.py'],
    );
    expect(v).toEqual([
      { path: 'prepare.py', rule: 'protected' },
      { path: 'notes.txt', rule: 'outside-editable' },
    ]);
    expect(describeViolations(v, ['train.py'])).toContain('prepare.py (protected)');
  });
  it('resolves patterns relative to the program folder and supports folders and globs', () => {
    expect(checkChangedPaths(['ex/src/a.ts', 'ex/src/deep/b.ts'], 'ex', ['src'], [])).toEqual([]);
    expect(checkChangedPaths(['ex/lib/a.ts'], 'ex', ['src/**/*.ts'], [])).toHaveLength(1);
    expect(checkChangedPaths(['other/a.ts'], 'ex', ['**'], [])).toEqual([
      { path: 'other/a.ts', rule: 'outside-editable' },
    ]);
  });
});

describe('experiment environment', () => {
  it('strips API keys unless allowed and exports the budget and id', () => {
    const env = experimentEnvironment({
      base: {
        PATH: '/bin',
        ANTHROPIC_API_KEY: 'a',
        OPENAI_API_KEY: 'o',
        MY_TOKEN: 't',
        AUTORESEARCH_BRIEF: 'x',
      },
      allow: ['OPENAI_API_KEY'],
      secrets: ['MY_TOKEN'],
      set: { SEED: '1' },
      budgetSeconds: 300,
      experimentId: 7,
      runTag: 'nov28',
    });
    expect(env).toEqual({
      PATH: '/bin',
      OPENAI_API_KEY: 'o',
      SEED: '1',
      AUTORESEARCH_TIME_BUDGET: '300',
      AUTORESEARCH_EXPERIMENT_ID: '7',
      AUTORESEARCH_RUN_TAG: 'nov28',
    });
  });
});

describe('improvement percent', () => {
  it('is positive when better for the goal', () => {
    expect(improvementPercent('minimize', 2, 1.5)).toBeCloseTo(25);
    expect(improvementPercent('maximize', 2, 2.5)).toBeCloseTo(25);
    expect(improvementPercent('maximize', 2, 1.5)).toBeCloseTo(-25);
    expect(improvementPercent('minimize', 0, 1)).toBeNull();
  });
});
