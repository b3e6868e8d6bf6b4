/** Rows of the ledger, in the domain's words. */

/** Where an experiment is in its lifecycle; persisted at each step so `kill -9` loses nothing. */
export type ExperimentState =
  'proposing' | 'committed' | 'running' | 'measured' | 'decided' | 'recorded';

/**
 * The outcome. keep/discard come from the Policy; crash/timeout from the run; invalid when a rule
 * was broken (files outside editable, protected files changed); skipped for a duplicate candidate;
 * failed when the agent could not produce a proposal; interrupted when the harness stopped while
 * the agent was still proposing.
 */
export type ExperimentStatus =
  'keep' | 'discard' | 'crash' | 'timeout' | 'invalid' | 'skipped' | 'failed' | 'interrupted';

export type Goal = 'minimize' | 'maximize';

export type RunState = 'running' | 'stopped' | 'finished' | 'failed';

export interface RunRow {
  tag: string;
  branch: string;
  created_at: number;
  updated_at: number;
  /** Path of program.md relative to the repository root. */
  program_path: string;
  /** The program's folder relative to the repository root ('' for the root). */
  program_dir: string;
  base_commit: string;
  metric_name: string;
  goal: Goal;
  /** The resolved front matter (JSON) as last started. */
  config_json: string;
  /** sha256 of every protected file at the start of the run (JSON: path -> hash). */
  protected_json: string;
  state: RunState;
  stop_reason: string | null;
  /** PID of the harness while it runs; used to refuse a second harness on the same run. */
  pid: number | null;
  heartbeat_at: number | null;
  /** Where worktrees and experiment folders live when not under .autoresearch/<tag> (slurm.shared_dir); null: there. */
  work_dir: string | null;
  /** How the last start sealed agents and experiments (JSON: { sealed, text }); null before the sandbox existed. */
  sandbox_json: string | null;
  /** The drift watch's latest verdict on the incumbent (JSON: loop/drift-watch.ts DriftState); null before one. */
  drift_json: string | null;
}

export interface ExperimentRow {
  run_tag: string;
  id: number;
  slot: number;
  state: ExperimentState;
  status: ExperimentStatus | null;
  reason: string | null;
  agent: string;
  title: string | null;
  hypothesis: string | null;
  agent_meta_json: string | null;
  parent_commit: string;
  candidate_commit: string | null;
  tree: string | null;
  files_changed: number | null;
  lines_added: number | null;
  lines_deleted: number | null;
  /** The incumbent this candidate was judged against, and its value at that time. */
  incumbent_commit: string | null;
  incumbent_value: number | null;
  primary_value: number | null;
  metrics_json: string | null;
  exit_code: number | null;
  signal: string | null;
  wall_seconds: number | null;
  peak_memory_bytes: number | null;
  output_bytes: number | null;
  log_path: string | null;
  /** How to find the experiment's processes again (process group, cgroup) while it runs. */
  process_json: string | null;
  proposed_at: number;
  started_at: number | null;
  finished_at: number | null;
  recorded_at: number | null;
  input_tokens: number | null;
  output_tokens: number | null;
  cached_tokens: number | null;
  /** Prompt tokens written to the provider's cache (billed above plain input by Anthropic). */
  cache_write_tokens: number | null;
  cost_usd: number | null;
  /** Successful measurements behind primary_value (their mean) and their standard deviation. */
  n_runs: number | null;
  spread: number | null;
  /** Simplicity penalty applied in the decision (metric units). */
  penalty: number | null;
  /** The decision's numbers: difference, standard error, p-value, n's. */
  decision_json: string | null;
  /** The holdout metric of a kept candidate, and all holdout metrics. */
  holdout_value: number | null;
  holdout_json: string | null;
  /**
   * The commit as the agent proposed it, under refs/autoresearch/<tag>/<id> (candidate_commit
   * differs after a carry onto a newer incumbent, then under <id>-rebased).
   */
  proposed_commit: string | null;
  /** The agent's processes while it proposes (a process group, a cgroup), to kill after a crash. */
  agent_process_json: string | null;
  /** What the agent says it learned, returned with its proposal (shown in later briefs). */
  lessons: string | null;
  /** The candidate's diff against its parent as an idea (program/novelty.ts ideaSketch), space-separated hashes. */
  idea_sketch: string | null;
  /** JSON { like, similarity, title }: the discarded experiment this one repeats, flagged before it ran. */
  novelty_json: string | null;
  /** `parents: islands`: the island the experiment was proposed on (search/parents.ts). */
  island: number | null;
  /** What its commands said they spent (`meter:`), summed: model calls of the evaluator, say. */
  measured_cost_usd: number | null;
  measured_tokens: number | null;
  /** Pareto mode: the experiment that dominated this member out of the front (null: never left, or not a member). */
  left_front_by: number | null;
}

/** One command the harness ran for an experiment, with its wall time (agent, checks, run, eval, holdout). */
export interface CommandRow {
  run_tag: string;
  experiment_id: number;
  kind: 'agent' | 'checks' | 'run' | 'eval' | 'holdout';
  started_at: number;
  wall_seconds: number;
  exit_code: number | null;
  signal: string | null;
  timed_out: number;
  /** Whether it ran in the sandbox (1) or unsealed (0). */
  sealed: number;
  log_path: string | null;
  /** What it said it spent (JSON: loop/meter.ts MeterReading), when its meter counts; else null. */
  meter_json?: string | null;
}

/** One run of a commit. `experiment_id` is whose commit was measured; `during_id` the experiment being decided. */
export interface MeasurementRow {
  /** Its place among all the run's measurements (SQLite rowid): the order they were taken in. */
  id: number;
  run_tag: string;
  experiment_id: number;
  seq: number;
  during_id: number;
  /** The commit that was measured, and on which slot (device). */
  commit_sha: string;
  slot: number | null;
  value: number | null;
  metrics_json: string | null;
  exit_code: number | null;
  wall_seconds: number | null;
  peak_memory_bytes: number | null;
  log_path: string | null;
  measured_at: number;
  /** The machine while it ran (JSON: loop/machine.ts MachineSample: load, CPU steal, memory pressure); null when not sampled. */
  machine_json: string | null;
}
