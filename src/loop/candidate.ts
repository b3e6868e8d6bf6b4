/**
 * Measuring and judging a committed candidate: checks, then runs (repeated while the policy says
 * the result is promising but not yet clear, re-measuring the incumbent alongside when asked),
 * constraints, the decision, the branch move, and the holdout of a keep.
 */
import { join } from 'node:path';
import type { ExecutionResult, ProcessHandle } from '../executors/executor.js';
import type { ExperimentRow } from '../ledger/types.js';
import type { Decision } from '../policy/policy.js';
import { mean, pooledNoise } from '../policy/stats.js';
import { git } from '../workspace/git.js';
import { tamperedFiles } from '../workspace/protect.js';
import { Worktree } from '../workspace/worktree.js';
import { parseConstraint, violatedConstraint } from './constraints.js';
import type { RunContext } from './context.js';
import { carryOnto } from './carry.js';
import { crashPoint } from './crash-point.js';
import { record, remeasured } from './record.js';
import { verifyRefs } from './refs.js';
import { measureOnce, runSideCommand } from './measurement.js';
import { checkPrimary, describeRefusal, type MetricRefusal, type ParsedMetrics } from '../metrics/parse.js';

const sd = (xs: number[]) => (xs.length < 2 ? null : Math.sqrt(xs.reduce((a, x) => a + (x - mean(xs)) ** 2, 0) / (xs.length - 1)));

/**
 * The measured values of one commit of an experiment. A re-based keep that was verified has
 * measurements of its own; one that was not (a deterministic metric) stands on the measurements
 * of the original candidate.
 */
function values(ctx: RunContext, id: number, commit: string): number[] {
  const all = ctx.ledger.measurementsOf(ctx.run.tag, id);
  const own = all.filter((m) => m.commit_sha === commit);
  return (own.length > 0 ? own : all).map((m) => m.value).filter((v): v is number => v !== null);
}

function execPatch(exec: ExecutionResult): Partial<ExperimentRow> {
  return { exit_code: exec.exitCode, signal: exec.signal, wall_seconds: exec.wallSeconds, peak_memory_bytes: exec.peakMemoryBytes, output_bytes: exec.outputBytes, finished_at: Date.now() };
}

/** The experiment during which this commit was last measured (its age, for drift). */
function lastMeasuredDuring(ctx: RunContext, id: number): number {
  return Math.max(id, ...ctx.ledger.measurementsOf(ctx.run.tag, id).map((m) => m.during_id));
}

/** Re-derives an experiment's value (the mean), n and spread from its measurements. */
function updateStats(ctx: RunContext, id: number, commit: string, exec?: ExecutionResult, metricsJson?: string): number {
  const vs = values(ctx, id, commit);
  ctx.ledger.updateExperiment(ctx.run.tag, id, {
    primary_value: mean(vs),
    n_runs: vs.length,
    spread: sd(vs),
    ...(exec ? execPatch(exec) : {}),
    ...(metricsJson ? { metrics_json: metricsJson } : {}),
  });
  remeasured(ctx, id);
  if (id === ctx.incumbent.experimentId && commit === ctx.incumbent.commit) ctx.incumbent = { ...ctx.incumbent, value: mean(vs) };
  return mean(vs);
}

/** Puts an interrupted experiment back to `committed`, so the next start runs it again. */
function backToCommitted(ctx: RunContext, id: number): void {
  ctx.ledger.updateExperiment(ctx.run.tag, id, { state: 'committed', started_at: null, reason: 'interrupted; will be re-run on resume' });
}

/** Protected files, then the cheap checks: true when the candidate may run. */
async function preflight(ctx: RunContext, row: ExperimentRow, wt: Worktree, slot: number): Promise<boolean | 'aborted'> {
  const before = tamperedFiles(ctx.protectedHashes, join(wt.path, ctx.programDir));
  if (before.length > 0) {
    record(ctx, row.id, 'invalid', { reason: `protected files differ from the start of the run: ${before.join(', ')}`, finished_at: Date.now() });
    return false;
  }
  if (ctx.ledger.measurementsOf(ctx.run.tag, row.id).length > 0) return true; // checks passed before a crash
  const checks = await runSideCommand(ctx, row.id, wt, row.candidate_commit!, 'checks', slot);
  if (checks?.aborted) return 'aborted';
  if (checks && !checks.ok) {
    record(ctx, row.id, 'invalid', { reason: checks.reason, finished_at: Date.now() });
    return false;
  }
  return true;
}

function startRunning(ctx: RunContext, row: ExperimentRow, slot: number): void {
  const c = ctx.program.config;
  const startedAt = Date.now();
  ctx.ledger.updateExperiment(ctx.run.tag, row.id, { state: 'running', started_at: startedAt, log_path: join(ctx.paths.experimentDir(row.id), 'run.log') });
  crashPoint('running', row.id);
  ctx.emit({ type: 'running', id: row.id, slot, title: row.title ?? '', startedAt, budgetSeconds: c.budget, timeoutSeconds: c.timeout, candidates: ctx.ledger.countCandidates(ctx.run.tag) });
}

/** The baseline: the starting commit measured `repeats.baseline` times; kept by definition. */
export async function measureBaseline(ctx: RunContext, wt: Worktree): Promise<void> {
  const row = ctx.ledger.getExperiment(ctx.run.tag, 0)!;
  const base = ctx.run.base_commit;
  const ok = await preflight(ctx, row, wt, 0);
  if (ok === 'aborted') return backToCommitted(ctx, 0);
  if (!ok) return;
  startRunning(ctx, row, 0);
  while (values(ctx, 0, base).length < ctx.program.config.repeats.baseline) {
    const m = await measureOnce(ctx, { experimentId: 0, commit: base }, 0, wt, 0);
    if (m.kind === 'aborted' || m.kind === 'cancelled') return backToCommitted(ctx, 0);
    if (m.kind !== 'measured') {
      record(ctx, 0, m.kind, { ...execPatch(m.exec), metrics_json: JSON.stringify(m.metrics), reason: m.reason });
      return;
    }
    updateStats(ctx, 0, base, m.exec, m.row.metrics_json ?? undefined);
  }
  const vs = values(ctx, 0, base);
  const value = mean(vs);
  ctx.incumbent = { experimentId: 0, commit: ctx.run.base_commit, value, title: 'baseline' };
  const spread = sd(vs);
  record(ctx, 0, 'keep', { reason: `baseline: ${Number(value.toPrecision(7))}${spread !== null ? ` +- ${Number(spread.toPrecision(2))}` : ''}, n=${vs.length}` });
  await holdout(ctx, 0, wt, base, null, 0);
}

/** Runs a committed candidate (checked out in `wt`) to a decision; resumes from stored measurements. */
export async function runCandidate(ctx: RunContext, row: ExperimentRow, slot: number, wt: Worktree, reattach?: ProcessHandle): Promise<void> {
  const tag = ctx.run.tag;
  const ok = await preflight(ctx, row, wt, slot);
  if (ok === 'aborted') return backToCommitted(ctx, row.id);
  if (!ok) return;
  startRunning(ctx, row, slot);
  const constraints = ctx.program.config.constraints.map(parseConstraint);
  const commit = row.candidate_commit!;
  let needMeasure = values(ctx, row.id, commit).length === 0;
  // Refused prints of the last measurement: a constraint on one is violated, quoting the line.
  let refused: Record<string, MetricRefusal> = {};
  for (;;) {
    if (needMeasure) {
      const m = await measureOnce(ctx, { experimentId: row.id, commit }, row.id, wt, slot, reattach);
      reattach = undefined;
      if (m.kind === 'aborted') return backToCommitted(ctx, row.id);
      if (m.kind === 'cancelled') {
        record(ctx, row.id, 'interrupted', { reason: 'aborted by the user (autoresearch abort)', finished_at: Date.now() });
        return;
      }
      if (m.kind !== 'measured') {
        record(ctx, row.id, m.kind, { ...execPatch(m.exec), metrics_json: JSON.stringify(m.metrics), reason: m.reason });
        return;
      }
      updateStats(ctx, row.id, commit, m.exec, m.row.metrics_json ?? undefined);
      refused = m.refused;
      ctx.ledger.updateExperiment(tag, row.id, { state: 'measured' });
      crashPoint('measured', row.id);
    }
    const current = ctx.ledger.getExperiment(tag, row.id)!;
    const violation = violatedConstraint(constraints, JSON.parse(current.metrics_json ?? '{}') as Record<string, number>, refused);
    if (violation) {
      record(ctx, row.id, 'discard', { reason: `discarded: ${violation}`, incumbent_commit: ctx.incumbent.commit, incumbent_value: ctx.incumbent.value });
      return;
    }
    const verdict = await ctx.decisionLock.run(() => judge(ctx, current, wt, slot));
    if (verdict.status !== 'rerun') {
      if (verdict.status === 'keep') {
        const kept = ctx.ledger.getExperiment(tag, row.id)!;
        await holdout(ctx, row.id, wt, kept.candidate_commit!, kept.incumbent_commit, slot);
      }
      return;
    }
    ctx.ledger.updateExperiment(tag, row.id, { state: 'running' });
    if (verdict.remeasureIncumbent) {
      const incumbent = ctx.incumbent;
      const m = await measureOnce(ctx, { experimentId: incumbent.experimentId, commit: incumbent.commit }, row.id, wt, slot);
      if (m.kind === 'aborted') return backToCommitted(ctx, row.id);
      if (m.kind === 'cancelled') {
        record(ctx, row.id, 'interrupted', { reason: 'aborted by the user (autoresearch abort)', finished_at: Date.now() });
        return;
      }
      if (m.kind === 'measured') updateStats(ctx, incumbent.experimentId, incumbent.commit);
      else ctx.emit({ type: 'note', level: 'warn', text: `re-measuring the incumbent (experiment ${incumbent.experimentId}) failed: ${m.reason.split('\n')[0]}` });
    }
    needMeasure = true;
  }
}

/** The decision against the incumbent of this moment (called under the decision lock). */
async function judge(ctx: RunContext, row: ExperimentRow, wt: Worktree, slot: number): Promise<Decision> {
  const tag = ctx.run.tag;
  await verifyRefs(ctx, `before deciding experiment ${row.id}`);
  const c = ctx.program.config;
  const inc = ctx.incumbent;
  const penalty = c.simplicity * ((row.lines_added ?? 0) - (row.lines_deleted ?? 0));
  const decideOn = (candidateValues: number[]) =>
    ctx.policy.decide({
      goal: ctx.run.goal,
      candidate: { values: candidateValues },
      incumbent: { values: values(ctx, inc.experimentId, inc.commit), runsSince: row.id - lastMeasuredDuring(ctx, inc.experimentId) },
      noise: pooledNoise(ctx.ledger.repeatedGroups(tag)) ?? undefined,
      penalty: penalty || undefined,
    });
  let decision = decideOn(values(ctx, row.id, row.candidate_commit!));
  const judged: Partial<ExperimentRow> = {
    incumbent_commit: inc.commit,
    incumbent_value: Number.isFinite(inc.value) ? inc.value : null,
    penalty: penalty || null,
    decision_json: decision.stats ? JSON.stringify(decision.stats) : null,
  };
  if (decision.status === 'rerun') {
    ctx.ledger.updateExperiment(tag, row.id, { ...judged, reason: decision.reason });
    return decision;
  }
  if (decision.status === 'discard') {
    record(ctx, row.id, 'discard', { ...judged, reason: decision.reason });
    return decision;
  }
  let commit = row.candidate_commit!;
  let reason = decision.reason;
  if (row.parent_commit !== inc.commit) {
    // Proposed against an older incumbent (parallel slots): carry the change onto the new one.
    // A scratch worktree: the slot's own still holds what the experiment produced (for the holdout).
    const carried = await carryOnto(ctx, row, new Worktree(ctx.paths.repo, `${ctx.paths.slot(slot)}-carry`), inc);
    if (!carried) {
      record(ctx, row.id, 'discard', { ...judged, reason: `${decision.reason}, but its change conflicts with the newer incumbent (experiment ${inc.experimentId})` });
      return { ...decision, status: 'discard' };
    }
    commit = carried.commit;
    judged.tree = carried.tree;
    reason = `${reason}; re-based onto experiment ${inc.experimentId}`;
    if (carried.tree === row.tree) {
      // The files are exactly those measured (the incumbent's change is overwritten, as a tune
      // configuration does): the measurements stand.
      reason = `${reason} (the files it was measured with)`;
    } else if (c.verify_rebased) {
      // Its measurements were taken on top of an older incumbent: measure the combination itself.
      ctx.ledger.updateExperiment(tag, row.id, { ...judged, candidate_commit: commit, reason: `${reason}; re-measuring the re-based commit` });
      const m = await measureOnce(ctx, { experimentId: row.id, commit }, row.id, wt, slot);
      if (m.kind === 'aborted' || m.kind === 'cancelled') {
        backToCommitted(ctx, row.id);
        return { ...decision, status: 'discard', reason: 'interrupted' };
      }
      if (m.kind !== 'measured') {
        record(ctx, row.id, m.kind, { ...judged, reason: `re-based onto experiment ${inc.experimentId}, then: ${m.reason}` });
        return { ...decision, status: 'discard' };
      }
      updateStats(ctx, row.id, commit, m.exec, m.row.metrics_json ?? undefined);
      decision = decideOn(values(ctx, row.id, commit));
      if (decision.status !== 'keep') {
        // One verification run: a re-based winner that is no longer clearly better is not kept.
        const why = decision.status === 'rerun' ? `not clearly better (${decision.reason})` : decision.reason;
        record(ctx, row.id, 'discard', { ...judged, decision_json: decision.stats ? JSON.stringify(decision.stats) : null, reason: `re-based onto experiment ${inc.experimentId} and re-measured: ${why}` });
        return { ...decision, status: 'discard' };
      }
      reason = `${decision.reason}; re-based onto experiment ${inc.experimentId} and re-measured`;
    }
  }
  ctx.ledger.updateExperiment(tag, row.id, { ...judged, state: 'decided', status: 'keep', reason, candidate_commit: commit });
  crashPoint('decided', row.id);
  await applyKeep(ctx, ctx.ledger.getExperiment(tag, row.id)!);
  return decision;
}

/** Moves the branch to a kept candidate (compare-and-swap against the incumbent it was judged on). */
export async function applyKeep(ctx: RunContext, row: ExperimentRow): Promise<void> {
  const ref = `refs/heads/${ctx.run.branch}`;
  const head = (await git(ctx.paths.repo, ['rev-parse', ref])).trim();
  if (head !== row.candidate_commit) {
    await git(ctx.paths.repo, ['update-ref', '-m', `autoresearch: keep experiment ${row.id}`, ref, row.candidate_commit!, row.incumbent_commit!]);
    crashPoint('branch-moved', row.id);
  }
  ctx.incumbent = { experimentId: row.id, commit: row.candidate_commit!, value: row.primary_value!, title: row.title ?? '' };
  record(ctx, row.id, 'keep', {});
}

function holdoutProblem(parsed: ParsedMetrics, name: string): string {
  const refused = Object.hasOwn(parsed.refused, name) ? parsed.refused[name] : undefined;
  return refused ? `the holdout's ${describeRefusal(name, refused)}` : `the holdout did not print ${name}`;
}

/**
 * The holdout of a kept candidate (and of the baseline): a protected command run on what the
 * experiment produced. Warns when validation improved but the holdout got worse (overfitting).
 */
async function holdout(ctx: RunContext, id: number, wt: Worktree, commit: string, previousCommit: string | null, slot: number): Promise<void> {
  const outcome = await runSideCommand(ctx, id, wt, commit, 'holdout', slot);
  if (!outcome || outcome.aborted) return;
  const parsed = outcome.metrics;
  const primary = checkPrimary(parsed, ctx.run.metric_name);
  const value = primary.ok ? primary.value : undefined;
  const info: Record<string, unknown> = { metrics: parsed.values };
  if (!outcome.ok || !primary.ok) info.error = outcome.ok ? holdoutProblem(parsed, ctx.run.metric_name) : outcome.reason;
  const previous = previousCommit ? ctx.ledger.listExperiments(ctx.run.tag).find((e) => e.candidate_commit === previousCommit && e.status === 'keep') : undefined;
  if (value !== undefined && Number.isFinite(value) && previous?.holdout_value != null) {
    const worse = ctx.run.goal === 'minimize' ? value > previous.holdout_value : value < previous.holdout_value;
    if (worse) {
      info.warning = `validation improved but the holdout got worse: ${previous.holdout_value} -> ${value} (overfitting to the validation set?)`;
      ctx.emit({ type: 'note', level: 'warn', text: `experiment ${id}: ${info.warning as string}` });
    }
  }
  ctx.ledger.updateExperiment(ctx.run.tag, id, { holdout_value: value !== undefined && Number.isFinite(value) ? value : null, holdout_json: JSON.stringify(info) });
}

/**
 * `autoresearch rerun <id>`: measures an experiment's commit once more in this slot's worktree
 * (its value becomes the mean of all its runs), so a person can check a result reproduces.
 */
export async function rerunExperiment(ctx: RunContext, id: number, slot: number, wt: Worktree): Promise<void> {
  const row = ctx.ledger.getExperiment(ctx.run.tag, id);
  if (!row?.candidate_commit || row.state !== 'recorded') {
    ctx.emit({ type: 'note', level: 'warn', text: `re-run of experiment ${id} skipped: it has no finished commit` });
    return;
  }
  const m = await measureOnce(ctx, { experimentId: id, commit: row.candidate_commit }, id, wt, slot);
  if (m.kind !== 'measured') {
    ctx.emit({ type: 'note', level: 'warn', text: `re-run of experiment ${id}: ${m.kind === 'aborted' || m.kind === 'cancelled' ? 'interrupted' : m.reason.split('\n')[0]}` });
    return;
  }
  const value = updateStats(ctx, id, row.candidate_commit);
  ctx.emit({ type: 'note', level: 'info', text: `re-ran experiment ${id}: ${Number(m.value.toPrecision(7))} (its value is now ${Number(value.toPrecision(7))}, n=${values(ctx, id, row.candidate_commit).length})` });
}
