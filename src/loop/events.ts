/** What the loop tells the outside world (terminal progress today, the dashboard later). */
import type { ExperimentRow } from '../ledger/types.js';
import type { RunSummary } from './summary.js';

export interface Incumbent {
  experimentId: number;
  commit: string;
  value: number;
  title: string;
}

export type LoopEvent =
  | {
      type: 'run-start';
      tag: string;
      branch: string;
      resumed: boolean;
      runDir: string;
      workDir: string;
      maxExperiments?: number;
      slots: number;
      sealed: boolean;
      sandbox: string;
      /** Runs of the baseline (`repeats.baseline`), for "run 2/3". */
      baselineRuns?: number;
    }
  | { type: 'proposing'; id: number; slot: number }
  /**
   * A command of experiment `id` starts, or ends (`ended`): its checks, a run of the commit of
   * experiment `of` (itself, or the incumbent measured beside it), the evaluation of that run, or
   * the holdout. `run` numbers the runs of that commit from 1.
   */
  | {
      type: 'phase';
      id: number;
      slot: number;
      phase: Phase;
      of: number;
      run: number;
      title: string;
      startedAt: number;
      /** The run's time budget; null for the other commands, which only have a timeout. */
      budgetSeconds: number | null;
      ended: boolean;
    }
  | {
      type: 'running';
      id: number;
      slot: number;
      title: string;
      startedAt: number;
      budgetSeconds: number;
      timeoutSeconds: number;
      candidates: number;
    }
  | {
      type: 'recorded';
      experiment: ExperimentRow;
      incumbent: Incumbent;
      baselineValue: number | null;
      newBest: boolean;
      /** Pareto mode: the keep joined the front (there is no single best to announce). */
      joinedFront: boolean;
      candidates: number;
    }
  | { type: 'note'; level: 'info' | 'warn'; text: string }
  /** The drift watch: the incumbent started (or stopped) measuring differently than the noise allows; `text` says how. */
  | { type: 'drift'; drifting: boolean; text: string; experimentId: number; incumbent: number }
  /** `failed`: the run ended with an error (the reason), which the caller also throws. */
  /** `front`: Pareto mode's members, described, in place of one best. */
  | { type: 'run-stop'; reason: string; summary: RunSummary; failed?: boolean; front?: string[] };

export type LoopListener = (event: LoopEvent) => void;

export type Phase = 'checks' | 'run' | 'eval' | 'holdout';
