/**
 * The library: `import { startRun } from 'autoresearch'`. This file is the whole public surface
 * (package.json's `exports` map hides every other file); what is not exported here may change
 * between releases. Deliberately absent: the Ledger's write methods (only the harness writes a
 * run's record), the loop's internals, and the crash-safety tests' fault injection.
 *
 *   running     startRun and its options, result, summary and events; measureReruns
 *   agents      the Agent seam (propose(ctx), ctx.seal), AgentExhausted, the command agent
 *   policies    the Policy seam, strictPolicy, noiseAwarePolicy, pairedPolicy
 *   executors   the Executor seam, LocalExecutor, SlurmExecutor
 *   ledger      openLedger / LedgerReader: runs, experiments, measurements, read only
 *   sandbox     detectSandbox: whether this machine can seal agents and experiments
 *   errors      UserError, ProgramError: what the user must fix, and how
 */

// ---- running ----
export { measureReruns, startRun, type MeasureRerunsOptions, type StartRunOptions } from './run.js';
export type { LoopResult } from './loop/loop.js';
export type { RunSummary } from './loop/summary.js';
export type { LoopEvent, LoopListener, Incumbent } from './loop/events.js';

// ---- agents ----
export {
  AgentExhausted,
  type Agent,
  type AgentSeal,
  type Proposal,
  type ProposalContext,
  type Usage,
} from './agents/agent.js';
export type { Brief, BriefFailure, BriefHistoryItem } from './program/brief.js';
export { CommandAgent, type CommandAgentOptions } from './agents/command.js';

// ---- policies ----
export {
  strictPolicy,
  type Arm,
  type Decision,
  type DecisionInput,
  type DecisionStats,
  type Measurement,
  type Policy,
  type Run,
} from './policy/policy.js';
export { noiseAwarePolicy, type NoiseOptions } from './policy/noise.js';
export { pairedPolicy, type PairedOptions } from './policy/paired.js';

// ---- executors ----
export type {
  ExecutionResult,
  Executor,
  ExperimentSpec,
  LimitsApplied,
  ProcessHandle,
  ResourceLimits,
} from './executors/executor.js';
export { LocalExecutor, type LocalExecutorOptions } from './executors/local.js';
export { SlurmExecutor, type SlurmExecutorOptions } from './executors/slurm.js';

// ---- ledger ----
export { LedgerReader, openLedger } from './ledger/reader.js';
export type {
  CommandRow,
  ExperimentRow,
  ExperimentState,
  ExperimentStatus,
  Goal,
  MeasurementRow,
  RunRow,
  RunState,
} from './ledger/types.js';

// ---- sandbox ----
export { detectSandbox, type SandboxSupport } from './sandbox/detect.js';

// ---- errors ----
export { ProgramError, UserError } from './program/errors.js';
