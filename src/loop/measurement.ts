/**
 * Running commands for an experiment: the measurement itself (`run`, then `eval` when set), the
 * cheap `checks` before it, and the `holdout` on kept candidates. Each measurement is persisted
 * as its own ledger row, so repeats and re-measures of the incumbent survive a crash.
 */
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { ExecutionResult, ExperimentSpec, ProcessHandle } from '../executors/executor.js';
import type { MeasurementRow } from '../ledger/types.js';
import {
  type MetricRefusal,
  type Metrics,
  parseMetricOutput,
  type ParsedMetrics,
} from '../metrics/parse.js';
import { commandOf, graceSeconds } from '../program/schema.js';
import { failingPart } from '../program/failing-output.js';
import type { SealRole } from '../sandbox/sandbox.js';
import { tamperedFiles } from '../workspace/protect.js';
import type { Worktree } from '../workspace/worktree.js';
import { pristineFolder, type PristineFolder } from './pristine.js';
import { withHarnessMetrics } from './constraints.js';
import type { RunSetup } from './context.js';
import type { Phase } from './events.js';
import { deviceEnvironment, experimentEnvironment } from './environment.js';
import { readCounters, sampleSince } from './machine.js';
import { abortsMeasurement } from './requests.js';
import { measureOutcome, tailLines } from './measure.js';
import { meterReading, metersCommand, type MeterReading } from './meter.js';

const LOG_HEAD_BYTES = 1024 * 1024;
const LOG_TAIL_BYTES = 1024 * 1024;

export type MeasureResult =
  | {
      kind: 'measured';
      value: number;
      metrics: Metrics;
      refused: Record<string, MetricRefusal>;
      exec: ExecutionResult;
      row: MeasurementRow;
    }
  | {
      kind: 'crash' | 'timeout' | 'invalid';
      reason: string;
      metrics: Metrics;
      exec: ExecutionResult;
    }
  | { kind: 'aborted' }
  | { kind: 'cancelled' };

/**
 * A signal for one measurement: the run's (Ctrl-C: re-run on resume) or the user's
 * `autoresearch abort`, an ABORT file asked for after the measurement started (this experiment ends).
 */
function measurementSignal(ctx: RunSetup): {
  signal: AbortSignal;
  cancelled: () => boolean;
  done: () => void;
} {
  const user = new AbortController();
  const startedAt = Date.now();
  const timer = setInterval(() => {
    try {
      const file = ctx.paths.abortFile;
      if (abortsMeasurement(readFileSync(file, 'utf8'), statSync(file).mtimeMs, startedAt))
        user.abort();
    } catch {
      // no abort requested
    }
  }, 300);
  timer.unref();
  return {
    signal: AbortSignal.any([ctx.abort.signal, user.signal]),
    cancelled: () => user.signal.aborted && !ctx.abort.signal.aborted,
    done: () => clearInterval(timer),
  };
}

/**
 * How one command of an experiment starts: in its sandbox (`root` is the folder it may write: the
 * worktree, or the pristine evaluation folder), with a fresh private temp folder.
 */
function spec(
  ctx: RunSetup,
  id: number,
  slot: number,
  role: SealRole,
  root: string,
  cwd: string,
  command: string,
  timeout: number,
  logPath: string,
  budget: number,
  measurement?: number,
): ExperimentSpec {
  const c = ctx.program.config;
  const tmp = ctx.sandbox.tempDir(`${role}-${slot}`);
  // Never for `run` or the agent: they could write the answers a judge is later read from.
  const cached = (c.cache?.roles as readonly SealRole[] | undefined)?.includes(role);
  if (cached) mkdirSync(ctx.paths.cacheDir, { recursive: true });
  const seal = ctx.sandbox.seal({
    role,
    root,
    cwd,
    tmp,
    network: c.limits.network,
    seesHidden: role === 'holdout' || (role === 'eval' && readsHidden(c.eval)),
    cache: cached ? ctx.paths.cacheDir : undefined,
  });
  return {
    experimentId: id,
    command,
    cwd,
    seal: { prefix: seal.prefix, isolatesNetwork: seal.isolatesNetwork },
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
      sandbox: seal.env,
      measurement,
    }),
    budgetSeconds: budget,
    timeoutSeconds: timeout,
    killGraceSeconds: c.kill_grace,
    logPath,
    logHeadBytes: LOG_HEAD_BYTES,
    logTailBytes: LOG_TAIL_BYTES,
    limits: {
      memoryBytes: c.limits.memory,
      processes: c.limits.processes,
      network: c.limits.network,
    },
  };
}

const warned = new WeakSet<RunSetup>();

/** The number last given to a run of each experiment, per run of the loop. */
const lastNumber = new WeakMap<RunSetup, Map<number, number>>();

/**
 * Which run of experiment `id`'s commits this is (0, 1, ...: its log's name and
 * AUTORESEARCH_SEED): the runs stored so far, or past the last one started here. Two slots that
 * start a run of the same experiment at once (the baseline's repeats, the incumbent beside two
 * candidates) get different numbers, so never the same seed.
 */
function runNumber(ctx: RunSetup, id: number): number {
  const numbers = lastNumber.get(ctx) ?? new Map<number, number>();
  lastNumber.set(ctx, numbers);
  const n = Math.max(
    ctx.ledger.measurementsOf(ctx.run.tag, id).length,
    (numbers.get(id) ?? -1) + 1,
  );
  numbers.set(id, n);
  return n;
}

/** Says once per run when a limit the program asked for cannot be enforced on this machine. */
function warnUnenforcedLimits(ctx: RunSetup, exec: ExecutionResult): void {
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
    ctx.emit({
      type: 'note',
      level: 'warn',
      text: `limits not enforced on this machine: ${missing.join(', ')} (see the README's table of what each platform supports)`,
    });
  }
  if (l.memory !== undefined && applied.memory === 'prlimit') {
    ctx.emit({
      type: 'note',
      level: 'warn',
      text: 'limits.memory is enforced as an address-space limit (ulimit -v) here, not on real memory use',
    });
  }
}

const gb = (bytes: number) => `${(bytes / 1024 ** 3).toFixed(2)} GB`;

/** What is measured: the experiment whose commit it is (the candidate, or the incumbent being re-measured), and the commit. */
export interface Target {
  experimentId: number;
  commit: string;
}

const readsHidden = (setting: RunSetup['program']['config']['eval']) =>
  typeof setting === 'object' && setting.reads_hidden;

/**
 * How long `run` may take: the budget plus its grace, when that comes before the hard timeout
 * (a run past its budget is not a fair comparison, whatever it reports about itself).
 */
export function runTimeLimit(
  budget: number,
  timeout: number,
  grace: number,
): { seconds: number; overBudget: boolean } {
  return budget + grace < timeout
    ? { seconds: budget + grace, overBudget: true }
    : { seconds: timeout, overBudget: false };
}

/**
 * Runs one command and records it (kind, wall time, exit) in the ledger; says when it starts and
 * ends (progress: what each slot is doing, for how long). `at`: its slot, and which run of the
 * commit it is (from 1).
 */
async function execute(
  ctx: RunSetup,
  kind: Phase,
  experimentId: number,
  s: ExperimentSpec,
  signal: AbortSignal,
  at: { slot: number; run: number },
  reattach?: ProcessHandle,
): Promise<ExecutionResult> {
  const phase = {
    type: 'phase',
    id: experimentId,
    slot: at.slot,
    phase: kind,
    of: s.experimentId,
    run: at.run,
    title: ctx.ledger.getExperiment(ctx.run.tag, experimentId)?.title ?? '',
    startedAt: Date.now(),
    budgetSeconds: kind === 'run' ? s.budgetSeconds : null,
  } as const;
  ctx.emit({ ...phase, ended: false });
  // A job that outlived its harness (Slurm) is followed to its end instead of being run again.
  let exec: ExecutionResult;
  try {
    exec =
      (reattach && ctx.executor.reattach
        ? await ctx.executor.reattach(reattach, s, signal)
        : null) ?? (await ctx.executor.run(s, signal));
  } finally {
    ctx.emit({ ...phase, ended: true });
  }
  const reading = meterOf(ctx, kind, exec, s.logPath);
  ctx.ledger.addCommand(
    {
      run_tag: ctx.run.tag,
      experiment_id: experimentId,
      kind,
      started_at: exec.startedAt,
      wall_seconds: exec.wallSeconds,
      exit_code: exec.exitCode,
      signal: exec.signal,
      timed_out: exec.timedOut ? 1 : 0,
      sealed: (s.seal?.prefix.length ?? 0) > 0 ? 1 : 0,
      log_path: s.logPath,
      meter_json: reading ? JSON.stringify(reading) : null,
    },
    reading ?? undefined,
  );
  if (reading?.refused.length)
    ctx.emit({
      type: 'note',
      level: 'warn',
      text: `experiment ${experimentId}: ${kind}'s meter not counted: ${reading.refused.join('; ')}`,
    });
  return exec;
}

/** What a command said it spent, when the program meters it and its role counts (meter.ts). */
function meterOf(
  ctx: RunSetup,
  kind: Phase,
  exec: ExecutionResult,
  logPath: string,
): MeterReading | null {
  const c = ctx.program.config;
  if (!c.meter || !metersCommand(kind, c.eval !== undefined)) return null;
  const printed =
    exec.metrics ?? parseMetricOutput(existsSync(logPath) ? readFileSync(logPath, 'utf8') : '');
  return meterReading(c.meter, printed);
}

/**
 * Measures `target.commit` once in `wt` on `slot`; `duringId` is the experiment being decided
 * (its folder gets the logs). The worktree is first put at exactly that commit, so nothing an
 * earlier run, the checks or the agent left behind reaches this run.
 */
export async function measureOnce(
  ctx: RunSetup,
  target: Target,
  duringId: number,
  wt: Worktree,
  slot: number,
  reattach?: ProcessHandle,
): Promise<MeasureResult> {
  const experimentId = target.experimentId;
  const c = ctx.program.config;
  const dir = ctx.paths.experimentDir(duringId);
  mkdirSync(dir, { recursive: true });
  // A job still running (Slurm, after a harness crash) keeps its worktree as it is.
  if (!reattach) await wt.ensureFiles(target.commit);
  wt.touched();
  const cwd = join(wt.path, ctx.programDir);
  const previous = runNumber(ctx, experimentId);
  const suffix =
    experimentId === duringId
      ? previous === 0
        ? ''
        : `-${previous + 1}`
      : `-incumbent${experimentId}-${previous + 1}`;
  const logPath = join(dir, `run${suffix}.log`);
  const tag = ctx.run.tag;
  const onStart =
    experimentId === duringId
      ? (handle: ProcessHandle) =>
          ctx.ledger.updateExperiment(tag, duringId, { process_json: JSON.stringify(handle) })
      : undefined;
  const grace = graceSeconds(c.budget, c.budget_grace);
  const limit = runTimeLimit(c.budget, c.timeout, grace);
  const runSpec = {
    ...spec(
      ctx,
      experimentId,
      slot,
      'run',
      wt.path,
      cwd,
      c.run,
      limit.seconds,
      logPath,
      c.budget,
      previous,
    ),
    onStart,
  };
  const abort = measurementSignal(ctx);
  // The machine is sampled where the run runs: this one, for the local executor.
  const counters = ctx.executor.name === 'local' ? readCounters() : null;
  let exec: ExecutionResult;
  try {
    const at = { slot, run: previous + 1 };
    exec = await execute(ctx, 'run', duringId, runSpec, abort.signal, at, reattach);
  } finally {
    abort.done();
  }
  const machine = counters ? sampleSince(counters) : null;
  if (abort.cancelled()) return { kind: 'cancelled' };
  warnUnenforcedLimits(ctx, exec);
  const evalCommand = commandOf(c.eval, c.timeout);
  let outcome = measureOutcome(
    exec,
    logPath,
    metricNames(c),
    evalCommand ? undefined : c.metrics_file,
    cwd,
    !evalCommand,
  );
  if (outcome.kind === 'aborted') return { kind: 'aborted' };
  if (outcome.kind === 'timeout' && limit.overBudget) {
    outcome = {
      ...outcome,
      reason: `over budget: still running at ${fmt(limit.seconds)}s (budget ${fmt(c.budget)}s + ${fmt(grace)}s grace); a run must end within AUTORESEARCH_TIME_BUDGET\n${outcome.reason}`,
    };
  }
  if (exec.schedulerReason && outcome.kind !== 'measured') {
    outcome = {
      ...outcome,
      reason: `${exec.schedulerState ?? 'job'}: ${exec.schedulerReason}\n${outcome.reason}`,
    };
  }
  if (exec.oomKilled && outcome.kind !== 'measured') {
    outcome = {
      ...outcome,
      kind: 'crash',
      reason: `out of memory: the tree hit the ${gb(c.limits.memory ?? 0)} limit\n${outcome.reason}`,
    };
  }
  let evalLog: string | null = null;
  if (evalCommand && outcome.kind === 'measured') {
    // The metric comes from the protected evaluator alone, run apart from the run's files.
    evalLog = join(dir, `eval${suffix}.log`);
    const folder = await pristineFolder(ctx, `slot-${slot}`, wt.path);
    const evalExec = await execute(
      ctx,
      'eval',
      duringId,
      spec(
        ctx,
        experimentId,
        slot,
        'eval',
        folder.root,
        folder.cwd,
        evalCommand.run,
        evalCommand.timeout,
        evalLog,
        c.budget,
        previous,
      ),
      ctx.abort.signal,
      { slot, run: previous + 1 },
    );
    const evaluated = measureOutcome(evalExec, evalLog, metricNames(c), c.metrics_file, folder.cwd);
    if (evaluated.kind === 'aborted') return { kind: 'aborted' };
    outcome =
      evaluated.kind === 'measured'
        ? evaluated
        : {
            ...evaluated,
            kind: 'crash',
            reason: `the evaluation failed: ${evaluated.reason}${pristineHint(folder)}`,
          };
  }
  const tampered = tamperedFiles(ctx.protectedHashes, cwd);
  const metrics = withHarnessMetrics(outcome.metrics, exec.peakMemoryBytes, exec.wallSeconds);
  if (tampered.length > 0) {
    return {
      kind: 'invalid',
      reason: `the experiment changed protected files while it ran: ${tampered.join(', ')}`,
      metrics,
      exec,
    };
  }
  if (outcome.kind !== 'measured')
    return { kind: outcome.kind, reason: outcome.reason, metrics, exec };
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
    machine_json: machine ? JSON.stringify(machine) : null,
  });
  return { kind: 'measured', value: outcome.value, metrics, refused: outcome.refused, exec, row };
}

/** The metrics every run must print: the primary one, or each of the front's in Pareto mode. */
const metricNames = (c: RunSetup['program']['config']) =>
  c.pareto?.map((m) => m.name) ?? c.metric.name;

const fmt = (seconds: number) => Number(seconds.toFixed(1)).toString();

/** What an evaluator saw, for a failure that may come from a file it expected and did not get. */
function pristineHint(folder: PristineFolder): string {
  const seen = folder.artifacts.length
    ? `artifacts ${folder.artifacts.slice(0, 5).join(', ')}${folder.artifacts.length > 5 ? ', ...' : ''}`
    : 'no artifacts (declare what it reads under `artifacts:`)';
  const refused = folder.refused.length
    ? `; left out: ${folder.refused.slice(0, 3).join(', ')}`
    : '';
  return `\n(it ran in a pristine folder with the protected files and ${seen}${refused})`;
}

export interface CommandOutcome {
  ok: boolean;
  reason: string;
  output: string;
  /** Read from the whole output as it streamed (the log keeps only its head and tail). */
  metrics: ParsedMetrics;
  aborted: boolean;
}

/**
 * Runs a side command: `checks` on the candidate's commit, sealed in its clean worktree; the
 * `holdout` in a pristine folder with the artifacts of the run that left `wt` as it is now.
 */
export async function runSideCommand(
  ctx: RunSetup,
  id: number,
  wt: Worktree,
  commit: string,
  name: 'checks' | 'holdout',
  slot: number,
): Promise<CommandOutcome | null> {
  const c = ctx.program.config;
  const cmd = commandOf(c[name], c.timeout);
  if (!cmd) return null;
  const dir = ctx.paths.experimentDir(id);
  mkdirSync(dir, { recursive: true });
  const logPath = join(dir, `${name}.log`);
  let folder: PristineFolder | null = null;
  let root = wt.path;
  let cwd = join(wt.path, ctx.programDir);
  if (name === 'checks') {
    await wt.ensureFiles(commit);
    wt.touched();
  } else {
    folder = await pristineFolder(ctx, `slot-${slot}`, wt.path);
    root = folder.root;
    cwd = folder.cwd;
  }
  const exec = await execute(
    ctx,
    name,
    id,
    // The holdout measures like the run, so it gets the experiment's budget (a benchmark that
    // times calls for a share of it would otherwise time them for a share of the timeout).
    spec(
      ctx,
      id,
      slot,
      name,
      root,
      cwd,
      cmd.run,
      cmd.timeout,
      logPath,
      name === 'holdout' ? c.budget : cmd.timeout,
    ),
    ctx.abort.signal,
    { slot, run: 1 },
  );
  const output = existsSync(logPath) ? readFileSync(logPath, 'utf8') : '';
  const how = exec.timedOut
    ? `timed out after ${cmd.timeout}s`
    : exec.exitCode === null
      ? `killed by ${exec.signal}`
      : `exit code ${exec.exitCode}`;
  const ok = !exec.timedOut && exec.exitCode === 0;
  const hint = !ok && folder ? pristineHint(folder) : '';
  return {
    ok,
    aborted: exec.aborted,
    output,
    metrics: exec.metrics ?? parseMetricOutput(output),
    reason: ok ? '' : `${name} failed (${how})${excerpt(name, output)}${hint}`,
  };
}

/**
 * What a failed side command's reason quotes: for `checks`, the failing assertions (the agent
 * reads them in the next brief: a test runner's last lines are only its totals); else the tail.
 */
function excerpt(name: 'checks' | 'holdout', output: string): string {
  if (name === 'checks') {
    const part = failingPart(output);
    if (part.text)
      return `\n--- ${part.runner === 'tail' ? 'last lines' : 'failing part'} of checks.log ---\n${part.text}`;
    return '';
  }
  const tail = tailLines(output, 15);
  return tail ? `\n--- last lines of ${name}.log ---\n${tail}` : '';
}
