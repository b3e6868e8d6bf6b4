/**
 * The Stop hook's decision (Claude Code, Codex): when the model ends its turn, continue the
 * session while the run's continuation says continue, within hard limits, so a session neither
 * stops to ask "shall I go on?" nor loops forever burning tokens. Pure: the facts in, the
 * decision out (the hook's process gathers them: stop-hook-run.ts).
 */
import type { Continuation } from './continuation.js';
import { count } from '../util/words.js';

export interface StopHookFacts {
  /** The client's flag: this turn is already a continuation a Stop hook asked for. */
  stopHookActive: boolean;
  /** The session's run, as the continuation says; null when this repository has no session. */
  continuation: Continuation | null;
  /** Continuations this hook already asked for in this client session. */
  continued: number;
  /** The turn ceiling: at most this many continuations per client session. */
  maxTurns: number;
  /** Tries the session made since this hook last continued it (null: it never did). */
  triesSinceContinued: number | null;
  /** The session's latest tries that failed, were skipped or were invalid, in a row. */
  unproductive: number;
  maxUnproductive: number;
  /** The session's try still being measured, when one is. */
  inFlight: number | null;
  /** Where the session edits. */
  worktree: string | null;
}

export type StopHookDecision =
  { continue: false; why: string } | { continue: true; reason: string };

export function decideStop(f: StopHookFacts): StopHookDecision {
  const c = f.continuation;
  if (!c) return { continue: false, why: 'no agent-owned run in this repository' };
  if (c.state !== 'continue')
    return { continue: false, why: `the run is ${c.state}${c.reason ? `: ${c.reason}` : ''}` };
  if (f.continued >= f.maxTurns)
    return {
      continue: false,
      why: `the turn ceiling: ${f.continued} continuations in this session (at most ${f.maxTurns})`,
    };
  if (f.unproductive >= f.maxUnproductive)
    return {
      continue: false,
      why: `${f.unproductive} tries in a row failed, were skipped or were invalid (at most ${f.maxUnproductive}): look at their reasons before going on`,
    };
  // Continued already, and nothing was tried since: continuing again would only loop.
  if (f.stopHookActive && f.triesSinceContinued === 0)
    return { continue: false, why: 'the last continuation made no try' };
  const n = c.experiments_left;
  const left = n === undefined ? '' : ` (${count(n, 'experiment')} left)`;
  const what =
    f.inFlight !== null
      ? `Experiment ${f.inFlight} is still being measured: call the autoresearch \`wait\` tool for its decision, then go on.`
      : `Make the next change${f.worktree ? ` in ${f.worktree}` : ''} and call the autoresearch \`try\` tool.`;
  return {
    continue: true,
    reason: `autoresearch: the run continues${left}. ${what} Do not ask whether to continue; stop only when a continuation says paused, stopped, exhausted or failed. (continuation ${f.continued + 1} of at most ${f.maxTurns})`,
  };
}
