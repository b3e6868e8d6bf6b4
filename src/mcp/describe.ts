/**
 * What an MCP session reads about a run, in words a model acts on: the decision rule, an
 * experiment as a small object, and the standing instructions of agent-owned mode. Pure.
 */
import type { ExperimentRow } from '../ledger/types.js';
import type { Program } from '../program/program.js';

type Config = Program['config'];

/** How the harness decides keep or discard for this program: the session never does. */
export function decisionRule(c: Config): string {
  const better = c.metric.goal === 'minimize' ? 'lower' : 'higher';
  const effect = c.decision.min_effect > 0 ? ` and by at least ${c.decision.min_effect}` : '';
  const checks = [
    c.checks ? 'the `checks` command must pass first (else invalid)' : null,
    c.protected.length ? `changing a protected file (${c.protected.join(', ')}) is invalid` : null,
    'a crash, a missing metric or running past the budget is not kept',
  ].filter(Boolean);
  if (c.pareto)
    return (
      `The harness decides, never the session. Pareto mode over ${c.pareto.map((m) => `${m.name} (${m.goal})`).join(', ')}: ` +
      `each candidate runs ${c.repeats.max} times and is kept when no point of the front is as good on every ` +
      `metric, a difference counting only beyond the noise (${c.decision.confidence * 100}% confidence) or the ` +
      `metric's tolerance; the points it beats on every metric leave the front. Also: ${checks.join('; ')}.`
    );
  if (c.metric.deterministic)
    return (
      `The harness decides, never the session. ${c.metric.name} is deterministic: each candidate ` +
      `runs once and is kept when ${better} than the incumbent by more than the tolerance ` +
      `(${c.metric.tolerance})${effect}. Also: ${checks.join('; ')}.`
    );
  return (
    `The harness decides, never the session. ${c.metric.name} is noisy: a candidate runs once; ` +
    `if it looks ${better} than the incumbent, it is measured again in pairs next to the incumbent ` +
    `(at least ${c.repeats.confirm}, at most ${c.repeats.max} pairs) and kept when a one-sided ` +
    `paired t-test says it is ${better} with ${c.decision.confidence * 100}% confidence` +
    `${effect}; otherwise it is discarded. Also: ${checks.join('; ')}.`
  );
}

export interface ExperimentView {
  experiment: number;
  state: string;
  status: string | null;
  title: string | null;
  value: number | null;
  /** Runs behind `value` (their mean). */
  runs: number | null;
  /** The incumbent's value it was judged against. */
  compared_with: number | null;
  reason: string | null;
  commit: string | null;
}

export function experimentView(r: ExperimentRow): ExperimentView {
  return {
    experiment: r.id,
    state: r.state,
    status: r.status,
    title: r.title,
    value: r.primary_value,
    runs: r.n_runs,
    compared_with: r.incumbent_value,
    reason: r.reason,
    commit: r.candidate_commit?.slice(0, 12) ?? null,
  };
}

/** The MCP server's instructions: what a client shows the model about these tools. */
export const INSTRUCTIONS = `autoresearch runs an experiment loop for this repository: you propose changes, the harness measures and decides.

The loop:
1. Call \`state\`: the research brief (objective, the incumbent, what was tried and why it ended), the session worktree where you edit, budget and time left, and the decision rule.
2. Edit files in the session worktree (only the editable ones; protected files make a change invalid). Never edit the user's checkout; never commit.
3. Call \`try\` with a one-line title and your hypothesis. The harness commits your change, runs it sealed on a fixed budget, measures, and keeps it only if it is really better. You never say keep or discard.
4. Read the decision and its reason. The worktree is then reset to the incumbent (the kept change, or the previous best).
5. Follow \`continuation\`: on "continue", go back to 2 without asking the user; on "paused", "stopped", "exhausted" or "failed", stop and say why.

A long experiment may return a handle instead of a decision: call \`wait\` with it. \`results\`, \`diff\` and \`note\` help you learn from earlier experiments; \`pause\`, \`resume\`, \`stop\` and \`rerun\` act on the run as a person would.`;
