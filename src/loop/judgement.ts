/**
 * A judgement's runs as the policy reads them, rebuilt from the ledger at every look: the
 * sequence is what was measured, so a harness killed between two runs of a pair resumes with the
 * partner that is missing, and nothing of a judgement lives only in memory.
 */
import type { MeasurementRow } from '../ledger/types.js';
import type { Run } from '../policy/policy.js';
import type { RunContext } from './context.js';

/** Judgements the noise of a paired difference is pooled from (the policy reads the newest 30 degrees of freedom). */
const HISTORY_JUDGEMENTS = 100;

/**
 * The runs of one judgement, in the order they were measured: a run of `candidate` is the
 * candidate's, one of `incumbent` the incumbent's. A run of any other commit (an incumbent that
 * was replaced meanwhile, the candidate before it was re-based) ends what came before it: those
 * runs compared other code, and pairing across it would compare runs that were not neighbours.
 */
export function judgementSequence(
  runs: MeasurementRow[],
  candidate: string,
  incumbent: string | null,
): Run[] {
  let start = 0;
  runs.forEach((r, i) => {
    if (r.commit_sha !== candidate && r.commit_sha !== incumbent) start = i + 1;
  });
  return runs
    .slice(start)
    .filter((r) => r.value !== null && Number.isFinite(r.value))
    .map((r) => ({ arm: r.commit_sha === candidate ? 'candidate' : 'incumbent', value: r.value! }));
}

/** Experiment `id`'s runs against the incumbent of this moment. */
export function currentSequence(ctx: RunContext, id: number, candidate: string): Run[] {
  return judgementSequence(
    ctx.ledger.measurementsDuring(ctx.run.tag, id),
    candidate,
    ctx.incumbent.commit,
  );
}

/** The other judgements of the run, newest last: their pairs tell the noise of a paired difference. */
export function judgementHistory(ctx: RunContext, exceptId: number): Run[][] {
  return ctx.ledger
    .recentJudgements(ctx.run.tag, exceptId, HISTORY_JUDGEMENTS)
    .filter((j) => j.candidate !== null)
    .map((j) => judgementSequence(j.runs, j.candidate!, j.incumbent));
}
