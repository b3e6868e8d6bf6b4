/**
 * The paired policy driven as the loop drives it, for the simulated benchmarks (policy-drift.ts,
 * search.ts): the candidate's first run, then exactly the runs each 'rerun' names
 * (Decision.next), appended to this judgement's sequence; earlier judgements' sequences go in
 * as history, for the noise. Minimizing.
 */
import type { Noise } from '../policy/stats.js';
import type { Arm, Decision, Measurement, Policy, Run } from '../policy/policy.js';

export interface PairedJudgement {
  status: 'keep' | 'discard';
  /** The candidate's runs. */
  candidate: number[];
  /** The incumbent's runs taken for this judgement (empty when none were asked for). */
  remeasured: number[];
  stats: Decision['stats'];
}

/** Judgements the history keeps: the noise is pooled over the newest only. */
const HISTORY = 60;

export function judgePaired(
  policy: Policy,
  measure: (arm: Arm) => number,
  incumbent: Measurement,
  history: Run[][],
  noise?: Noise,
): PairedJudgement {
  const sequence: Run[] = [{ arm: 'candidate', value: measure('candidate') }];
  const runs = (arm: Arm) => sequence.filter((x) => x.arm === arm).map((x) => x.value);
  for (;;) {
    const d = policy.decide({
      goal: 'minimize',
      candidate: { values: runs('candidate') },
      incumbent,
      sequence,
      history,
      noise,
    });
    if (d.status !== 'rerun') {
      // Only judgements of two pairs or more tell the noise, and only the newest are read
      // (the loop may pass them all; this keeps the simulation fast).
      if (d.stats?.pairs !== undefined && d.stats.pairs >= 2) history.push(sequence);
      if (history.length > HISTORY) history.shift();
      return {
        status: d.status,
        candidate: runs('candidate'),
        remeasured: runs('incumbent'),
        stats: d.stats,
      };
    }
    for (const arm of d.next!) sequence.push({ arm, value: measure(arm) });
  }
}
