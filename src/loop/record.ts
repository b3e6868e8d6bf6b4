/** Ending an experiment: terminal status in the ledger, its line in results.tsv, an event. */
import { appendResultsTsv } from '../ledger/results-tsv.js';
import type { ExperimentRow, ExperimentStatus } from '../ledger/types.js';
import type { RunContext } from './context.js';

export function record(ctx: RunContext, id: number, status: ExperimentStatus, patch: Partial<ExperimentRow> = {}): ExperimentRow {
  const tag = ctx.run.tag;
  ctx.ledger.updateExperiment(tag, id, { ...patch, status, state: 'recorded', recorded_at: Date.now() });
  const row = ctx.ledger.getExperiment(tag, id)!;
  appendResultsTsv(ctx.paths.resultsTsv, row);
  ctx.emit({
    type: 'recorded',
    experiment: row,
    incumbent: ctx.incumbent,
    baselineValue: ctx.baselineValue,
    newBest: status === 'keep' && id > 0,
    candidates: ctx.ledger.countCandidates(tag),
  });
  return row;
}

