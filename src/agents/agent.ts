/**
 * The Agent seam: given a workspace and a Brief, make one change to the files and say what it
 * was. An agent never runs experiments, commits, or decides anything: the harness owns the loop.
 */
import type { ProcessHandle } from '../executors/executor.js';
import type { Brief } from '../program/brief.js';

export interface ProposalContext {
  /** Absolute path of the candidate's worktree (the repository root of that worktree). */
  workspace: string;
  /** Absolute path of the program's folder inside the workspace (where editable paths resolve). */
  programDir: string;
  /** The research brief: what the agent should know for this proposal. */
  brief: Brief;
  /**
   * The brief rendered as Markdown within the program's `brief_tokens`, written to this file
   * before the agent is called: what to show a model (it is exactly what the user can read).
   */
  briefPath: string;
  /** Ledger id the resulting experiment will have. */
  experimentId: number;
  /** Aborted when the run is stopping; agents should give up promptly. */
  signal: AbortSignal;
  /**
   * The sandbox for every process the agent starts: put `prefix` (bwrap and its options, up to
   * `--`; empty when the run is unsealed) before the command and add `env`. Inside it only the
   * workspace and `tmp` are writable and the run's own files are invisible, so whatever the agent
   * needs to hand over (the brief, its proposal file, a home folder) goes through `tmp`.
   */
  seal: AgentSeal;
  /** An agent that starts processes reports them, so a harness restarted after a crash kills what is left. */
  onProcess?: (handle: ProcessHandle) => void;
}

export interface AgentSeal {
  prefix: string[];
  env: Record<string, string>;
  /** A private, empty temp folder, writable inside the sandbox. */
  tmp: string;
}

export interface Usage {
  /** Every prompt token, cache reads and writes included. */
  inputTokens?: number;
  outputTokens?: number;
  /** Prompt tokens read from the provider's prompt cache. */
  cachedTokens?: number;
  /** Prompt tokens written to the prompt cache (Anthropic bills them above plain input). */
  cacheWriteTokens?: number;
  costUsd?: number;
}

export interface Proposal {
  /** One line: what changed (shown in tables, results.tsv and commit subjects). */
  title: string;
  /** Why the agent expects it to help. */
  hypothesis?: string;
  /**
   * What the agent learned that later proposals should know (why an idea cannot work, what a
   * result suggests): kept in the ledger and shown in every following brief.
   */
  lessons?: string;
  usage?: Usage;
  /** Agent-specific data stored in the ledger (e.g. the optimizer's parameters). JSON-serializable. */
  meta?: unknown;
}

/** Thrown by an agent that has nothing more to propose (a scripted agent out of patches). */
export class AgentExhausted extends Error {
  constructor(message = 'the agent has no more proposals') {
    super(message);
    this.name = 'AgentExhausted';
  }
}

export interface Agent {
  readonly name: string;
  /**
   * Its proposals differ by design only in numbers (tune: every proposal rewrites the same
   * assignments), so the near-duplicate check of ideas would match them all: it is off for it.
   */
  readonly searchesNumbers?: boolean;
  propose(ctx: ProposalContext): Promise<Proposal>;
  /**
   * Optional: make the same proposal again, from its `meta`, on top of a newer incumbent checked
   * out at `programDir`. For agents whose proposal is a whole configuration (tune): a candidate
   * carried onto a new incumbent is then exactly what was proposed, not a merge of two changes.
   * Without it, the harness carries the change with a three-way merge.
   */
  reapply?(meta: unknown, programDir: string): Promise<void>;
}
