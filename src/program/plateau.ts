/**
 * The plateau: many experiments in a row without a keep, the long flat region after the early
 * gains. Pure: the loop asks it for the brief, the tune agent to explore more.
 */
import type { ExperimentStatus } from '../ledger/types.js';

export interface Outcome {
  id: number;
  status: ExperimentStatus | null;
}

/**
 * Experiments since the latest keep, newest last in `outcomes` (ids above 0, recorded). Skipped
 * and interrupted proposals never ran, so they neither count nor end the streak.
 */
export function experimentsWithoutKeep(outcomes: readonly Outcome[]): number {
  let n = 0;
  for (let i = outcomes.length - 1; i >= 0; i--) {
    const o = outcomes[i]!;
    if (o.id <= 0 || o.status === 'keep') break;
    if (o.status === null || o.status === 'skipped' || o.status === 'interrupted') continue;
    n++;
  }
  return n;
}

/** Whether the run is on a plateau: `after` or more experiments without a keep. */
export function onPlateau(outcomes: readonly Outcome[], after: number): number | null {
  const n = experimentsWithoutKeep(outcomes);
  return n >= after ? n : null;
}
