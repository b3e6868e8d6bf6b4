/** A brief's input for the brief's pure tests. */
import type { ExperimentRow } from '../../src/ledger/types.js';

/** Experiment 9's brief of a run minimizing `loss`, with experiment 3 ('LR 0.01') the incumbent. */
export const briefInput = (
  experiments: ExperimentRow[],
  o: { protected?: string[]; directions?: string; incumbent?: Record<string, unknown> } = {},
) => ({
  experimentId: 9,
  objective: {
    metric: 'loss',
    goal: 'minimize' as const,
    budgetSeconds: 60,
    run: 'python train.py',
    editable: ['train.py'],
    protected: o.protected ?? ['prepare.py'],
  },
  directions: o.directions ?? 'Try wider layers.',
  incumbent: {
    commit: 'abcdef1234567',
    value: 1.2,
    experimentId: 3,
    title: 'LR 0.01',
    ...o.incumbent,
  },
  baselineValue: 1.5,
  experiments,
});
