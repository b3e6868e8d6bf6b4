/** Ending an experiment: terminal status in the ledger, its line in results.tsv, an event. */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { appendResultsTsv, resultsTsvLine, writeResultsTsv } from '../ledger/results-tsv.js';
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

/** results.tsv from the ledger, whole (at the start of a run, after a re-measurement). */
export function rewriteResultsTsv(ctx: RunContext): void {
  mkdirSync(dirname(ctx.paths.resultsTsv), { recursive: true });
  writeResultsTsv(ctx.paths.resultsTsv, ctx.run.metric_name, ctx.ledger.listExperiments(ctx.run.tag));
}

/**
 * An experiment's value was re-derived from its measurements. results.tsv shows current means, so
 * once its line is in the file (recorded: the incumbent re-measured, `autoresearch rerun`), the
 * file is rewritten; before that, `record` appends the final value.
 */
export function remeasured(ctx: RunContext, id: number): void {
  const row = ctx.ledger.getExperiment(ctx.run.tag, id);
  if (row && resultsTsvLine(row) !== null) rewriteResultsTsv(ctx);
}
