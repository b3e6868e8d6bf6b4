/**
 * Running commands for an experiment: the measurement itself (`run`, then `eval` when set), the
 * cheap `checks` before it, and the `holdout` on kept candidates. Each measurement is persisted
 * as its own ledger row, so repeats and re-measures of the incumbent survive a crash.
 */
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { ExecutionResult, ExperimentSpec, ProcessHandle } from '../executors/executor.js';
import type { MeasurementRow } from '../ledger/types.js';
import { type MetricRefusal, type Metrics, parseMetricOutput, type ParsedMetrics } from '../metrics/parse.js';
import { commandOf } from '../program/schema.js';
import { tamperedFiles } from '../workspace/protect.js';
import { withHarnessMetrics } from './constraints.js';
import type { RunContext } from './context.js';
import { deviceEnvironment, experimentEnvironment } from './environment.js';
import { measureOutcome, tailLines } from './measure.js';

export const LOG_HEAD_BYTES = 1024 * 1024;
export const LOG_TAIL_BYTES = 1024 * 1024;

export type MeasureResult =
  | { kind: 'measured'; value: number; metrics: Metrics; refused: Record<string, MetricRefusal>; exec: ExecutionResult; row: MeasurementRow }
  | { kind: 'crash' | 'timeout' | 'invalid'; reason: string; metrics: Metrics; exec: ExecutionResult }
  | { kind: 'aborted' }
  | { kind: 'cancelled' };

/**
 * A signal for one measurement: the run's (Ctrl-C: re-run on resume) or the user's
 * `autoresearch abort`, an ABORT file newer than the measurement's start (this experiment ends).
 */
function measurementSignal(ctx: RunContext): { signal: AbortSignal; cancelled: () => boolean; done: () => void } {
  const user = new AbortController();
  const startedAt = Date.now();
  const timer = setInterval(() => {
    try {
      if (statSync(ctx.paths.abortFile).mtimeMs >= startedAt - 1000) user.abort();
    } catch {
      // no abort requested
    }
  }, 300);
  timer.unref();
  return { signal: AbortSignal.any([ctx.abort.signal, user.signal]), cancelled: () => user.signal.aborted && !ctx.abort.signal.aborted, done: () => clearInterval(timer) };
}

function spec(ctx: RunContext, id: number, slot: number, cwd: string, command: string, timeout: number, logPath: string, budget: number): ExperimentSpec {
  const c = ctx.program.config;
  return {
    experimentId: id,
    command,
    cwd,
    env: experimentEnvironment({
      base: ctx.env,
      allow: c.env.allow,
      secrets: c.env.secrets,
      set: c.env.set,
      budgetSeconds: budget,
      experimentId: id,
      runTag: ctx.run.tag,
      slot,
      devices: deviceEnvironment(c.devices, c.device_env, slot),
    }),
    budgetSeconds: budget,
    timeoutSeconds: timeout,
    killGraceSeconds: c.kill_grace,
    logPath,
    logHeadBytes: LOG_HEAD_BYTES,
    logTailBytes: LOG_TAIL_BYTES,
    limits: { memoryBytes: c.limits.memory, processes: c.limits.processes, network: c.limits.network },
  };
}

const warned = new WeakSet<RunContext>();

/** Says once per run when a limit the program asked for cannot be enforced on this machine. */
function warnUnenforcedLimits(ctx: RunContext, exec: ExecutionResult): void {
  const l = ctx.program.config.limits;
  const applied = exec.limitsApplied;
  if (!applied || warned.has(ctx)) return;
  const missing = [
    l.memory !== undefined && !applied.memory && 'memory',
    l.processes !== undefined && !applied.processes && 'processes',
    l.network === false && !applied.network && 'network: false',
  ].filter(Boolean);
  warned.add(ctx);
  if (missing.length > 0) {
    ctx.emit({ type: 'note', level: 'warn', text: `limits not enforced on this machine: ${missing.join(', ')} (see the README's table of what each platform supports)` });
  }
  if (l.memory !== undefined && applied.memory === 'prlimit') {
    ctx.emit({ type: 'note', level: 'warn', text: 'limits.memory is enforced as an address-space limit (ulimit -v) here, not on real memory use' });
  }
}

const gb = (bytes: number) => `${(bytes / 1024 ** 3).toFixed(2)} GB`;

/** What is measured: the experiment whose commit it is (the candidate, or the incumbent being re-measured), and the commit. */
export interface Target {
  experimentId: number;
  commit: string;
}

/**
 * Measures `target.commit`, checked out in `cwd`, once on `slot`; `duringId` is the experiment
 * being decided (its folder gets the logs).
 */
export async function measureOnce(ctx: RunContext, target: Target, duringId: number, cwd: string, slot: number, reattach?: ProcessHandle): Promise<MeasureResult> {
  const experimentId = target.experimentId;
  const c = ctx.program.config;
  const dir = ctx.paths.experimentDir(duringId);
  mkdirSync(dir, { recursive: true });
  const previous = ctx.ledger.measurementsOf(ctx.run.tag, experimentId).length;
  const suffix = experimentId === duringId ? (previous === 0 ? '' : `-${previous + 1}`) : `-incumbent${experimentId}-${previous + 1}`;
  const logPath = join(dir, `run${suffix}.log`);
  const tag = ctx.run.tag;
  const onStart = experimentId === duringId ? (handle: ProcessHandle) => ctx.ledger.updateExperiment(tag, duringId, { process_json: JSON.stringify(handle) }) : undefined;
  const runSpec = { ...spec(ctx, experimentId, slot, cwd, c.run, c.timeout, logPath, c.budget), onStart };
  const abort = measurementSignal(ctx);
  let exec: ExecutionResult;
  try {
    // A job that outlived its harness (Slurm) is followed to its end instead of being run again.
    exec = (reattach && ctx.executor.reattach ? await ctx.executor.reattach(reattach, runSpec, abort.signal) : null) ?? (await ctx.executor.run(runSpec, abort.signal));
  } finally {
    abort.done();
  }
  if (abort.cancelled()) return { kind: 'cancelled' };
  warnUnenforcedLimits(ctx, exec);
  const evalCommand = commandOf(c.eval, c.timeout);
  let outcome = measureOutcome(exec, logPath, c.metric.name, evalCommand ? undefined : c.metrics_file, cwd, !evalCommand);
  if (outcome.kind === 'aborted') return { kind: 'aborted' };
  if (exec.schedulerReason && outcome.kind !== 'measured') {
    outcome = { ...outcome, reason: `${exec.schedulerState ?? 'job'}: ${exec.schedulerReason}\n${outcome.reason}` };
  }
  if (exec.oomKilled && outcome.kind !== 'measured') {
    outcome = { ...outcome, kind: 'crash', reason: `out of memory: the tree hit the ${gb(c.limits.memory ?? 0)} limit\n${outcome.reason}` };
  }
  let evalLog: string | null = null;
  if (evalCommand && outcome.kind === 'measured') {
    // The metric comes from the protected evaluator alone; whatever the run printed is ignored.
    evalLog = join(dir, `eval${suffix}.log`);
    const evalExec = await ctx.executor.run(spec(ctx, experimentId, slot, cwd, evalCommand.run, evalCommand.timeout, evalLog, c.budget), ctx.abort.signal);
    const evaluated = measureOutcome(evalExec, evalLog, c.metric.name, c.metrics_file, cwd);
    if (evaluated.kind === 'aborted') return { kind: 'aborted' };
    outcome = evaluated.kind === 'measured' ? evaluated : { ...evaluated, kind: 'crash', reason: `the evaluation failed: ${evaluated.reason}` };
  }
  const tampered = tamperedFiles(ctx.protectedHashes, cwd);
  const metrics = withHarnessMetrics(outcome.metrics, exec.peakMemoryBytes, exec.wallSeconds);
  if (tampered.length > 0) {
    return { kind: 'invalid', reason: `the experiment changed protected files while it ran: ${tampered.join(', ')}`, metrics, exec };
  }
  if (outcome.kind !== 'measured') return { kind: outcome.kind, reason: outcome.reason, metrics, exec };
  const row = ctx.ledger.addMeasurement({
    run_tag: tag,
    experiment_id: experimentId,
    during_id: duringId,
    commit_sha: target.commit,
    slot,
    value: outcome.value,
    metrics_json: JSON.stringify(metrics),
    exit_code: exec.exitCode,
    wall_seconds: exec.wallSeconds,
    peak_memory_bytes: exec.peakMemoryBytes,
    log_path: evalLog ?? logPath,
  });
  return { kind: 'measured', value: outcome.value, metrics, refused: outcome.refused, exec, row };
}

export interface CommandOutcome {
  ok: boolean;
  reason: string;
  output: string;
  /** Read from the whole output as it streamed (the log keeps only its head and tail). */
  metrics: ParsedMetrics;
  aborted: boolean;
}

/** Runs a side command (checks, holdout) in the worktree with the experiment's environment. */
export async function runSideCommand(ctx: RunContext, id: number, cwd: string, name: 'checks' | 'holdout', slot: number): Promise<CommandOutcome | null> {
  const c = ctx.program.config;
  const cmd = commandOf(c[name], c.timeout);
  if (!cmd) return null;
  const dir = ctx.paths.experimentDir(id);
  mkdirSync(dir, { recursive: true });
  const logPath = join(dir, `${name}.log`);
  const exec = await ctx.executor.run(spec(ctx, id, slot, cwd, cmd.run, cmd.timeout, logPath, cmd.timeout), ctx.abort.signal);
  const output = existsSync(logPath) ? readFileSync(logPath, 'utf8') : '';
  const tail = tailLines(output, 15);
  const how = exec.timedOut ? `timed out after ${cmd.timeout}s` : exec.exitCode === null ? `killed by ${exec.signal}` : `exit code ${exec.exitCode}`;
  const ok = !exec.timedOut && exec.exitCode === 0;
  return { ok, aborted: exec.aborted, output, metrics: exec.metrics ?? parseMetricOutput(output), reason: ok ? '' : `${name} failed (${how})${tail ? `\n--- last lines of ${name}.log ---\n${tail}` : ''}` };
}
