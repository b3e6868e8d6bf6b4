/**
 * Measuring and judging a committed candidate: checks, then runs (repeated while the policy says
 * the result is promising but not yet clear, re-measuring the incumbent alongside when asked),
 * constraints, the decision, the branch move, and the holdout of a keep.
 */
import { join } from 'node:path';
import type { ExecutionResult, ProcessHandle } from '../executors/executor.js';
import type { ExperimentRow } from '../ledger/types.js';
import type { Arm } from '../policy/policy.js';
import { mean, pooledNoise } from '../policy/stats.js';
import { tamperedFiles } from '../workspace/protect.js';
import { Worktree } from '../workspace/worktree.js';
import { parseConstraint, violatedConstraint } from './constraints.js';
import type { RunContext } from './context.js';
import { carryAndCompare, dropCarried, settleCarried, type PendingKeep } from './carry.js';
import { crashPoint } from './crash-point.js';
import {
  awaitRuns,
  backToCommitted,
  keep,
  measured,
  record,
  recordBaseline,
  remeasured,
  startRunning,
} from './lifecycle.js';
import { verifyRefs } from './refs.js';
import { measureOnce, runSideCommand } from './measurement.js';
import { watchDrift } from './drift-watch.js';
import { currentSequence, judgementHistory } from './judgement.js';
import { judgeOnFront } from './front.js';
import {
  checkPrimary,
  describeRefusal,
  type MetricRefusal,
  type ParsedMetrics,
} from '../metrics/parse.js';

const sd = (xs: number[]) =>
  xs.length < 2
    ? null
    : Math.sqrt(xs.reduce((a, x) => a + (x - mean(xs)) ** 2, 0) / (xs.length - 1));

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
  return {
    exit_code: exec.exitCode,
    signal: exec.signal,
    wall_seconds: exec.wallSeconds,
    peak_memory_bytes: exec.peakMemoryBytes,
    output_bytes: exec.outputBytes,
    finished_at: Date.now(),
  };
}

/** The experiment during which this commit was last measured (its age, for drift). */
function lastMeasuredDuring(ctx: RunContext, id: number): number {
  return Math.max(id, ...ctx.ledger.measurementsOf(ctx.run.tag, id).map((m) => m.during_id));
}

/** Re-derives an experiment's value (the mean), n and spread from its measurements. */
function updateStats(
  ctx: RunContext,
  id: number,
  commit: string,
  exec?: ExecutionResult,
  metricsJson?: string,
): number {
  const vs = values(ctx, id, commit);
  ctx.ledger.updateExperiment(ctx.run.tag, id, {
    primary_value: mean(vs),
    n_runs: vs.length,
    spread: sd(vs),
    ...(exec ? execPatch(exec) : {}),
    ...(metricsJson ? { metrics_json: metricsJson } : {}),
  });
  remeasured(ctx, id);
  if (id === ctx.incumbent.experimentId && commit === ctx.incumbent.commit)
    ctx.incumbent = { ...ctx.incumbent, value: mean(vs) };
  return mean(vs);
}

/** Protected files, then the cheap checks: true when the candidate may run. */
async function preflight(
  ctx: RunContext,
  row: ExperimentRow,
  wt: Worktree,
  slot: number,
): Promise<boolean | 'aborted'> {
  const before = tamperedFiles(ctx.protectedHashes, join(wt.path, ctx.programDir));
  if (before.length > 0) {
    record(ctx, row.id, 'invalid', {
      reason: `protected files differ from the start of the run: ${before.join(', ')}`,
      finished_at: Date.now(),
    });
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

/**
 * The baseline: the starting commit measured `repeats.baseline` times, each repeat in its own
 * slot's worktree at once (the slots are all free before the first proposal); kept by definition.
 * `wt` is slot 0's: its checks run there first, and its run leaves what the holdout reads.
 */
export async function measureBaseline(ctx: RunContext, wt: Worktree): Promise<void> {
  const row = ctx.ledger.getExperiment(ctx.run.tag, 0)!;
  const base = ctx.run.base_commit;
  const ok = await preflight(ctx, row, wt, 0);
  if (ok === 'aborted') return backToCommitted(ctx, 0);
  if (!ok) return;
  startRunning(ctx, row, 0);
  for (;;) {
    const missing = ctx.program.config.repeats.baseline - values(ctx, 0, base).length;
    if (missing <= 0) break;
    const slots = Array.from({ length: Math.min(missing, ctx.limits.slots) }, (_, slot) => slot);
    const runs = await Promise.all(
      slots.map((slot) =>
        measureOnce(
          ctx,
          { experimentId: 0, commit: base },
          0,
          slot === 0 ? wt : new Worktree(ctx.paths.repo, ctx.paths.slot(slot)),
          slot,
        ),
      ),
    );
    if (runs.some((m) => m.kind === 'aborted' || m.kind === 'cancelled'))
      return backToCommitted(ctx, 0);
    for (const m of runs) {
      if (m.kind === 'crash' || m.kind === 'timeout' || m.kind === 'invalid') {
        record(ctx, 0, m.kind, {
          ...execPatch(m.exec),
          metrics_json: JSON.stringify(m.metrics),
          reason: m.reason,
        });
        return;
      }
    }
    // Slot 0's run is the one whose output the holdout and the brief read.
    const first = runs[0]!;
    if (first.kind === 'measured')
      updateStats(ctx, 0, base, first.exec, first.row.metrics_json ?? undefined);
  }
  const vs = values(ctx, 0, base);
  const value = mean(vs);
  const spread = sd(vs);
  recordBaseline(
    ctx,
    value,
    `baseline: ${Number(value.toPrecision(7))}${spread !== null ? ` +- ${Number(spread.toPrecision(2))}` : ''}, n=${vs.length}`,
  );
  await holdout(ctx, 0, wt, base, null, 0);
}

/**
 * What a look at a judgement asks for next: nothing (decided), runs, a judgement afresh on the
 * carried commit (rebased), or a keep proposed against an older incumbent to carry onto `onto`
 * before it can be settled.
 */
type Look =
  | { kind: 'decided'; status: 'keep' | 'discard' }
  | { kind: 'measure'; next: Arm[] }
  | { kind: 'rebased' }
  | { kind: 'carry'; keep: PendingKeep };

/** An incumbent that fails this often while re-measured beside one candidate ends its judgement. */
const INCUMBENT_FAILURES = 2;

/**
 * Runs a committed candidate (checked out in `wt`) to a decision: its first run, then exactly the
 * runs the policy asks for (Decision.next: the incumbent's and the candidate's, interleaved).
 * Only the looks hold the decision lock: the runs, and carrying a keep onto a newer incumbent,
 * are done outside it. Every run is in the ledger the moment it is measured, so a harness killed
 * mid-judgement resumes with the run that was due.
 */
export async function runCandidate(
  ctx: RunContext,
  row: ExperimentRow,
  slot: number,
  wt: Worktree,
  reattach?: ProcessHandle,
): Promise<void> {
  const tag = ctx.run.tag;
  const id = row.id;
  const ok = await preflight(ctx, row, wt, slot);
  if (ok === 'aborted') return backToCommitted(ctx, id);
  if (!ok) return;
  startRunning(ctx, row, slot);
  const constraints = ctx.program.config.constraints.map(parseConstraint);
  // Refused prints of the last measurement: a constraint on one is violated, quoting the line.
  let refused: Record<string, MetricRefusal> = {};
  let incumbentFailures = 0;
  let due: Arm[] = [];
  for (;;) {
    for (const arm of due) {
      const m = await measureArm(ctx, ctx.ledger.getExperiment(tag, id)!, arm, slot, wt, reattach);
      if (arm === 'candidate') reattach = undefined;
      if (m.kind === 'ended') return;
      if (m.kind === 'failed') {
        if (++incumbentFailures >= INCUMBENT_FAILURES) {
          record(ctx, id, 'discard', {
            reason: `not decided: the incumbent (experiment ${ctx.incumbent.experimentId}) failed ${incumbentFailures} times while it was re-measured beside this candidate: ${m.reason}`,
            finished_at: Date.now(),
          });
          return;
        }
        break; // look again: the policy asks for the partner that is still missing
      }
      if (arm === 'candidate') refused = m.refused;
    }
    const current = ctx.ledger.getExperiment(tag, id)!;
    // The candidate is measured first, and again first after a re-base: a judgement starts with its run.
    if (!currentSequence(ctx, id, current.candidate_commit!).some((r) => r.arm === 'candidate')) {
      due = ['candidate'];
      continue;
    }
    const violation = violatedConstraint(
      constraints,
      JSON.parse(current.metrics_json ?? '{}') as Record<string, number>,
      refused,
    );
    if (violation) {
      record(ctx, id, 'discard', {
        reason: `discarded: ${violation}`,
        incumbent_commit: ctx.incumbent.commit,
        incumbent_value: ctx.incumbent.value,
      });
      return;
    }
    const look = await lookAt(ctx, current, slot);
    if (look.kind === 'decided') {
      if (look.status === 'keep' && (await candidateRanLast(ctx, current, slot, wt))) {
        const kept = ctx.ledger.getExperiment(tag, id)!;
        await holdout(ctx, id, wt, kept.candidate_commit!, kept.incumbent_commit, slot);
      }
      return;
    }
    due = look.kind === 'measure' ? look.next : [];
  }
}

/**
 * A look at the judgement, under the decision lock. A keep proposed against an older incumbent is
 * carried onto the current one outside the lock (git, maybe the agent), then settled under it,
 * unless another keep came first: the carry is then stale, and the judgement looks again.
 */
async function lookAt(
  ctx: RunContext,
  row: ExperimentRow,
  slot: number,
): Promise<Exclude<Look, { kind: 'carry' }>> {
  for (;;) {
    const look = await ctx.decisionLock.run(async () => {
      if (!ctx.program.config.pareto) return judge(ctx, row);
      await verifyRefs(ctx, `before deciding experiment ${row.id}`);
      return judgeOnFront(ctx, row);
    });
    if (look.kind !== 'carry') return look;
    const pending = look.keep;
    // A scratch worktree: the slot's own still holds what the experiment produced (for the holdout).
    const outcome = await carryAndCompare(
      ctx,
      row,
      new Worktree(ctx.paths.repo, `${ctx.paths.slot(slot)}-carry`),
      pending.onto,
    );
    const settled = await ctx.decisionLock.run(async () =>
      ctx.incumbent.commit === pending.onto.commit
        ? settleCarried(ctx, row, pending, outcome)
        : 'stale',
    );
    if (settled === 'rebased') return { kind: 'rebased' };
    if (settled !== 'stale') return { kind: 'decided', status: settled };
    if (outcome.kind === 'carried') await dropCarried(ctx, row.id);
  }
}

/**
 * The holdout reads what the candidate's run left in the worktree. When the judgement's last run
 * there was the incumbent's (a keep at the third pair: C I I C C I), or ran in another slot
 * before a resume, the candidate runs once more first. False when that run failed.
 */
async function candidateRanLast(
  ctx: RunContext,
  measured: ExperimentRow,
  slot: number,
  wt: Worktree,
): Promise<boolean> {
  if (!ctx.program.config.holdout) return true;
  const last = ctx.ledger.measurementsDuring(ctx.run.tag, measured.id).at(-1);
  if (last && last.commit_sha === measured.candidate_commit && last.slot === slot) return true;
  const m = await measureOnce(
    ctx,
    { experimentId: measured.id, commit: measured.candidate_commit! },
    measured.id,
    wt,
    slot,
  );
  if (m.kind === 'measured') {
    updateStats(ctx, measured.id, measured.candidate_commit!);
    return true;
  }
  const why =
    m.kind === 'aborted' || m.kind === 'cancelled' ? 'interrupted' : m.reason.split('\n')[0];
  ctx.emit({
    type: 'note',
    level: 'warn',
    text: `experiment ${measured.id}: no holdout: the run that gives it what to score failed: ${why}`,
  });
  return false;
}

type ArmOutcome =
  | { kind: 'measured'; refused: Record<string, MetricRefusal> }
  | { kind: 'failed'; reason: string }
  | { kind: 'ended' };

/**
 * One run of a judgement: the candidate's commit, or the incumbent of this moment, in the
 * slot's worktree. A candidate that fails ends the experiment with that status; an incumbent
 * that fails is said and measured again.
 */
async function measureArm(
  ctx: RunContext,
  row: ExperimentRow,
  arm: Arm,
  slot: number,
  wt: Worktree,
  reattach?: ProcessHandle,
): Promise<ArmOutcome> {
  const inc = ctx.incumbent;
  const target =
    arm === 'candidate'
      ? { experimentId: row.id, commit: row.candidate_commit! }
      : { experimentId: inc.experimentId, commit: inc.commit };
  const m = await measureOnce(
    ctx,
    target,
    row.id,
    wt,
    slot,
    arm === 'candidate' ? reattach : undefined,
  );
  if (m.kind === 'aborted') {
    backToCommitted(ctx, row.id);
    return { kind: 'ended' };
  }
  if (m.kind === 'cancelled') {
    record(ctx, row.id, 'interrupted', {
      reason: 'aborted by the user (autoresearch abort)',
      finished_at: Date.now(),
    });
    return { kind: 'ended' };
  }
  if (m.kind !== 'measured') {
    if (arm === 'incumbent') {
      const reason = m.reason.split('\n')[0] ?? m.kind;
      ctx.emit({
        type: 'note',
        level: 'warn',
        text: `re-measuring the incumbent (experiment ${inc.experimentId}) failed: ${reason}`,
      });
      return { kind: 'failed', reason };
    }
    record(ctx, row.id, m.kind, {
      ...execPatch(m.exec),
      metrics_json: JSON.stringify(m.metrics),
      reason: m.reason,
    });
    return { kind: 'ended' };
  }
  if (arm === 'incumbent') {
    updateStats(ctx, inc.experimentId, inc.commit);
    crashPoint('remeasured', row.id);
    return { kind: 'measured', refused: {} };
  }
  updateStats(ctx, row.id, target.commit, m.exec, m.row.metrics_json ?? undefined);
  measured(ctx, row.id);
  return { kind: 'measured', refused: m.refused };
}

/**
 * "re-based onto experiment 4 and re-measured" when the candidate was carried onto a newer
 * incumbent after it was measured (and so measured again), for its reason; else null.
 */
function remeasuredAfterRebase(ctx: RunContext, row: ExperimentRow): string | null {
  const before = ctx.ledger
    .measurementsDuring(ctx.run.tag, row.id)
    .some((m) => m.experiment_id === row.id && m.commit_sha !== row.candidate_commit);
  if (!before) return null;
  const onto = ctx.ledger.keptIdOf(ctx.run.tag, row.parent_commit);
  return `re-based onto ${onto === null ? 'a newer incumbent' : `experiment ${onto}`} and re-measured`;
}

/**
 * A candidate built on another experiment than the incumbent (`parents: tree | islands`), judged
 * against the incumbent for the branch, also says how it did against its own parent.
 */
function againstParent(ctx: RunContext, row: ExperimentRow): string | null {
  if (ctx.program.config.parents.strategy === 'greedy') return null;
  if (row.parent_commit === ctx.incumbent.commit) return null;
  const parent = ctx.ledger
    .listExperiments(ctx.run.tag)
    .find((e) => e.candidate_commit === row.parent_commit);
  const mine = row.primary_value;
  if (!parent || mine === null) return null;
  const was = parent.primary_value;
  if (was === null || !Number.isFinite(was))
    return `built on experiment ${parent.id} (${parent.status ?? 'unmeasured'})`;
  const up = ctx.run.goal === 'minimize' ? mine < was : mine > was;
  return `built on experiment ${parent.id} (${Number(was.toPrecision(7))}): ${up ? 'better' : 'not better'} than its parent`;
}

/**
 * One look at the judgement against the incumbent of this moment, under the decision lock: the
 * runs so far from the ledger, the drift watch, the policy's decision, and the ledger write (and
 * on a keep, the branch's compare-and-swap). A keep proposed against an older incumbent is
 * returned to be carried onto the current one outside the lock.
 */
async function judge(ctx: RunContext, row: ExperimentRow): Promise<Look> {
  const tag = ctx.run.tag;
  await verifyRefs(ctx, `before deciding experiment ${row.id}`);
  const c = ctx.program.config;
  const inc = ctx.incumbent;
  const sequence = currentSequence(ctx, row.id, row.candidate_commit!);
  if (!sequence.some((r) => r.arm === 'candidate')) {
    awaitRuns(ctx, row.id);
    return { kind: 'measure', next: ['candidate'] };
  }
  const history = judgementHistory(ctx, row.id);
  const drift = watchDrift(ctx, row.id, history);
  const penalty = c.simplicity * ((row.lines_added ?? 0) - (row.lines_deleted ?? 0));
  const decision = ctx.policy.decide({
    goal: ctx.run.goal,
    candidate: { values: values(ctx, row.id, row.candidate_commit!) },
    incumbent: {
      values: values(ctx, inc.experimentId, inc.commit),
      runsSince: row.id - lastMeasuredDuring(ctx, inc.experimentId),
    },
    noise: pooledNoise(ctx.ledger.repeatedGroups(tag)) ?? undefined,
    penalty: penalty || undefined,
    sequence,
    history,
    drifting: drift?.drifting,
  });
  const judged: Partial<ExperimentRow> = {
    incumbent_commit: inc.commit,
    incumbent_value: Number.isFinite(inc.value) ? inc.value : null,
    penalty: penalty || null,
    decision_json: decision.stats ? JSON.stringify(decision.stats) : null,
  };
  const rebased = remeasuredAfterRebase(ctx, row) ?? againstParent(ctx, row);
  if (decision.status === 'rerun') {
    awaitRuns(ctx, row.id, { ...judged, reason: decision.reason });
    return {
      kind: 'measure',
      next:
        decision.next ?? (decision.remeasureIncumbent ? ['incumbent', 'candidate'] : ['candidate']),
    };
  }
  if (decision.status === 'discard') {
    record(ctx, row.id, 'discard', {
      ...judged,
      reason: rebased ? `${rebased}: ${decision.reason}` : decision.reason,
    });
    return { kind: 'decided', status: 'discard' };
  }
  const reason = rebased ? `${decision.reason}; ${rebased}` : decision.reason;
  // Proposed against an older incumbent (parallel slots): its change is carried onto the new one
  // first. Other strategies build on other parents by design: the candidate is judged as it is.
  if (row.parent_commit !== inc.commit && c.parents.strategy === 'greedy')
    return { kind: 'carry', keep: { onto: inc, judged, decision: decision.reason, reason } };
  await keep(ctx, row, { ...judged, reason });
  return { kind: 'decided', status: 'keep' };
}

function holdoutProblem(parsed: ParsedMetrics, name: string): string {
  const refused = Object.hasOwn(parsed.refused, name) ? parsed.refused[name] : undefined;
  return refused
    ? `the holdout's ${describeRefusal(name, refused)}`
    : `the holdout did not print ${name}`;
}

/**
 * The holdout of a kept candidate (and of the baseline): a protected command run on what the
 * experiment produced. Warns when validation improved but the holdout got worse (overfitting).
 */
async function holdout(
  ctx: RunContext,
  id: number,
  wt: Worktree,
  commit: string,
  previousCommit: string | null,
  slot: number,
): Promise<void> {
  const outcome = await runSideCommand(ctx, id, wt, commit, 'holdout', slot);
  if (!outcome || outcome.aborted) return;
  const parsed = outcome.metrics;
  const primary = checkPrimary(parsed, ctx.run.metric_name);
  const value = primary.ok ? primary.value : undefined;
  const info: Record<string, unknown> = { metrics: parsed.values };
  if (!outcome.ok || !primary.ok)
    info.error = outcome.ok ? holdoutProblem(parsed, ctx.run.metric_name) : outcome.reason;
  const previous = previousCommit
    ? ctx.ledger
        .listExperiments(ctx.run.tag)
        .find((e) => e.candidate_commit === previousCommit && e.status === 'keep')
    : undefined;
  if (value !== undefined && Number.isFinite(value) && previous?.holdout_value != null) {
    const worse =
      ctx.run.goal === 'minimize' ? value > previous.holdout_value : value < previous.holdout_value;
    if (worse) {
      info.warning = `validation improved but the holdout got worse: ${previous.holdout_value} -> ${value} (overfitting to the validation set?)`;
      ctx.emit({
        type: 'note',
        level: 'warn',
        text: `experiment ${id}: ${info.warning as string}`,
      });
    }
  }
  ctx.ledger.updateExperiment(ctx.run.tag, id, {
    holdout_value: value !== undefined && Number.isFinite(value) ? value : null,
    holdout_json: JSON.stringify(info),
  });
}

/**
 * `autoresearch rerun <id>`: measures an experiment's commit once more in this slot's worktree
 * (its value becomes the mean of all its runs), so a person can check a result reproduces.
 */
export async function rerunExperiment(
  ctx: RunContext,
  id: number,
  slot: number,
  wt: Worktree,
): Promise<void> {
  const row = ctx.ledger.getExperiment(ctx.run.tag, id);
  if (!row?.candidate_commit || row.state !== 'recorded') {
    ctx.emit({
      type: 'note',
      level: 'warn',
      text: `re-run of experiment ${id} skipped: it has no finished commit`,
    });
    return;
  }
  const m = await measureOnce(
    ctx,
    { experimentId: id, commit: row.candidate_commit },
    id,
    wt,
    slot,
  );
  if (m.kind !== 'measured') {
    ctx.emit({
      type: 'note',
      level: 'warn',
      text: `re-run of experiment ${id}: ${m.kind === 'aborted' || m.kind === 'cancelled' ? 'interrupted' : m.reason.split('\n')[0]}`,
    });
    return;
  }
  const value = updateStats(ctx, id, row.candidate_commit);
  ctx.emit({
    type: 'note',
    level: 'info',
    text: `re-ran experiment ${id}: ${Number(m.value.toPrecision(7))} (its value is now ${Number(value.toPrecision(7))}, n=${values(ctx, id, row.candidate_commit).length})`,
  });
  // Another run of the incumbent: the drift watch looks at it at once.
  if (id === ctx.incumbent.experimentId && row.candidate_commit === ctx.incumbent.commit)
    await ctx.decisionLock.run(async () => watchDrift(ctx, id, judgementHistory(ctx, id)));
}
