import { describe, expect, it } from 'vitest';
import { buildBrief, renderBrief } from '../../src/program/brief.js';
import { emptyExperiment } from '../../src/loop/experiment.js';
import type { ExperimentRow } from '../../src/ledger/types.js';

const row = (id: number, patch: Partial<ExperimentRow>): ExperimentRow => ({ ...emptyExperiment('t', 0, 'x', 'p'), id, ...patch });

const input = (experiments: ExperimentRow[]) => ({
  experimentId: 9,
  objective: { metric: 'loss', goal: 'minimize' as const, budgetSeconds: 60, run: 'python train.py', editable: ['train.py'], protected: ['prepare.py'] },
  directions: 'Try wider layers.',
  incumbent: { commit: 'abcdef1234567', value: 1.2, experimentId: 3, title: 'LR 0.01' },
  baselineValue: 1.5,
  experiments,
});

describe('the research brief', () => {
  it('states the objective, rules, incumbent, history with deltas, failures with log tails, and directions', () => {
    const b = buildBrief({
      ...input([
        row(0, { state: 'recorded', status: 'keep', primary_value: 1.5, title: 'baseline' }),
        row(1, { state: 'recorded', status: 'discard', primary_value: 1.6, incumbent_value: 1.5, title: 'depth 8' }),
        row(2, { state: 'recorded', status: 'crash', reason: 'the run failed (exit code 1)', title: 'fp8 | everywhere' }),
      ]),
      logTails: { 2: 'CUDA error: out of memory' },
    });
    const text = renderBrief(b);
    expect(text).toContain('Lower the metric `loss`');
    expect(text).toContain('You may change only: train.py.');
    expect(text).toContain('Never change: prepare.py');
    expect(text).toContain('loss = 1.2 at experiment 3 (abcdef1234): LR 0.01');
    expect(text).toContain('| 1 | discard | 1.6 | +0.1 | depth 8 |');
    expect(text).toContain('fp8 \\| everywhere'); // table cells are escaped
    expect(text).toContain('CUDA error: out of memory');
    expect(text).toContain('Try wider layers.');
    expect(b.history.map((h) => h.id)).toEqual([1, 2]); // the baseline is the reference, not history
  });

  it('lists what other slots are trying right now, so parallel agents do not duplicate', () => {
    const b = buildBrief(input([
      row(7, { state: 'running', slot: 1, title: 'dropout 0.1' }),
      row(8, { state: 'proposing', slot: 2, title: null }),
      row(9, { state: 'proposing', slot: 0, title: null }),
    ]));
    expect(b.inFlight).toEqual([{ id: 7, slot: 1, title: 'dropout 0.1' }]);
    expect(renderBrief(b)).toContain('- 7 (slot 1): dropout 0.1');
  });

  it('summarizes older history as counts instead of cutting it', () => {
    const many = Array.from({ length: 50 }, (_, i) => row(i + 1, { state: 'recorded', status: i % 2 ? 'discard' : 'crash', primary_value: 2, title: `idea ${i + 1}` }));
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
      row(i + 1, { state: 'recorded', status: i === 29 ? 'crash' : 'discard', primary_value: 2, incumbent_value: 1.9, title: `idea number ${i + 1} with a fairly long description`, reason: 'x' }),
    );
    const tail = Array.from({ length: 15 }, (_, i) => `log line ${i}`).join('\n');
    const directions = Array.from({ length: 200 }, (_, i) => `Direction ${i}: try something specific.`).join('\n');
    const b = buildBrief({ ...input(rows), directions, logTails: { 30: tail } });
    const full = renderBriefWithin(b, 100_000);
    expect(full).toContain('log line 0');
    const small = renderBriefWithin(b, 1500);
    expect(small.length).toBeLessThanOrEqual(1500 * 4);
    expect(small).toMatch(/Earlier: \d+ discard/);
    expect(small).toContain('idea number 30'); // the newest history stays
    expect(small).not.toContain('log line 0'); // the tail got shorter
    expect(small).toContain('(the rest of program.md is left out to keep this brief under 1500 tokens)');
    for (const line of small.split('\n').filter((l) => l.startsWith('Direction'))) expect(line).toMatch(/^Direction \d+: try something specific\.$/);
  });
});

describe('repeated ideas', () => {
  it('groups tries of the same idea with other numbers, so the agent sees it was tried', () => {
    const b = buildBrief(input([
      row(1, { state: 'recorded', status: 'discard', primary_value: 2, title: 'Increase LR to 0.02' }),
      row(2, { state: 'recorded', status: 'crash', title: 'Increase LR to 0.05' }),
      row(3, { state: 'recorded', status: 'discard', primary_value: 2, title: 'Use GELU' }),
      row(4, { state: 'recorded', status: 'keep', primary_value: 1, title: 'increase lr to 1e-3' }),
    ]));
    expect(b.repeated).toEqual([{ idea: 'Increase LR to 0.02', tries: [{ id: 1, status: 'discard' }, { id: 2, status: 'crash' }, { id: 4, status: 'keep' }] }]);
    expect(renderBrief(b)).toContain('- Increase LR to 0.02 (or the same with other numbers): 1 discard, 2 crash, 4 keep');
  });
});
