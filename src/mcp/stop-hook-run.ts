/**
 * The Stop hook's process (`autoresearch mcp stop-hook`): reads the client's hook JSON, gathers
 * the facts from the repository (the session file, the ledger, the run's requests, the hook's own
 * count per client session), and answers in the hook protocol Claude Code and Codex share:
 * `{"decision": "block", "reason": ...}` on stdout continues the session; no output lets it stop.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Ledger } from '../ledger/ledger.js';
import type { ExperimentRow } from '../ledger/types.js';
import { ledgerPath, runPathsOf, STATE_DIR } from '../loop/context.js';
import { findRun, isRefusal, runState } from '../loop/control.js';
import { git } from '../workspace/git.js';
import { continuationOf } from './continuation.js';
import { SESSION_FILE } from './session.js';
import { decideStop, type StopHookDecision } from './stop-hook.js';

export interface StopHookLimits {
  maxTurns: number;
  maxUnproductive: number;
}

/** What the client sends on stdin (the fields used; both clients send more). */
interface HookInput {
  session_id?: string;
  cwd?: string;
  stop_hook_active?: boolean;
}

/** The hook's memory in the run's folder: how often it continued which client session. */
interface HookState {
  session_id: string | null;
  continued: number;
  tries_at_continue: number | null;
}

/** The answer to print (empty: let the session stop) and the decision, for tests and logs. */
export async function stopHook(
  stdin: string,
  limits: StopHookLimits,
): Promise<{ stdout: string; decision: StopHookDecision }> {
  let input: HookInput = {};
  try {
    input = JSON.parse(stdin) as HookInput;
  } catch {
    // not JSON: no session id, not active; the run decides alone
  }
  const repo = await mainRepo(input.cwd ?? process.cwd());
  const file = repo && join(repo, STATE_DIR, SESSION_FILE);
  if (!file || !existsSync(file) || !existsSync(ledgerPath(repo))) return NO_SESSION;
  const session = JSON.parse(readFileSync(file, 'utf8')) as {
    tag: string;
    worktree?: string;
    max_experiments?: number;
  };
  const ledger = new Ledger(ledgerPath(repo));
  try {
    const target = findRun(repo, ledger, session.tag);
    if (isRefusal(target)) return NO_SESSION;
    const { run } = target;
    const paths = runPathsOf(repo, run);
    const limit =
      session.max_experiments ??
      (JSON.parse(run.config_json) as { stop?: { experiments?: number } }).stop?.experiments;
    const continuation = continuationOf({
      tag: run.tag,
      state: runState(repo, run).state,
      stopReason: run.stop_reason,
      stopRequested: existsSync(paths.stopFile),
      experimentsLeft:
        limit === undefined ? undefined : Math.max(0, limit - ledger.countCandidates(run.tag)),
    });
    const tries = ledger.listExperiments(run.tag).filter(isTry);
    const stateFile = join(paths.runDir, 'stop-hook.json');
    const saved = readState(stateFile);
    const same = saved.session_id === (input.session_id ?? null);
    const continued = same ? saved.continued : 0;
    const decision = decideStop({
      stopHookActive: input.stop_hook_active === true,
      continuation,
      continued,
      maxTurns: limits.maxTurns,
      triesSinceContinued:
        same && saved.tries_at_continue !== null ? tries.length - saved.tries_at_continue : null,
      unproductive: unproductiveStreak(tries),
      maxUnproductive: limits.maxUnproductive,
      inFlight: tries.find((t) => t.state !== 'recorded')?.id ?? null,
      worktree: session.worktree ?? null,
    });
    if (!decision.continue) return { stdout: '', decision };
    const next: HookState = {
      session_id: input.session_id ?? null,
      continued: continued + 1,
      tries_at_continue: tries.length,
    };
    writeFileSync(stateFile, JSON.stringify(next) + '\n');
    return { stdout: JSON.stringify({ decision: 'block', reason: decision.reason }), decision };
  } finally {
    ledger.close();
  }
}

const NO_SESSION: { stdout: string; decision: StopHookDecision } = {
  stdout: '',
  decision: { continue: false, why: 'no agent-owned run in this repository' },
};

/** The session's tries: its experiments but the open proposal and one cut off while still open. */
function isTry(e: ExperimentRow): boolean {
  if (e.agent !== 'session' || e.id === 0 || e.state === 'proposing') return false;
  return !(e.status === 'interrupted' && e.candidate_commit === null);
}

/** The newest tries that failed, were skipped or were invalid, in a row (interrupted ones neither count nor break it). */
function unproductiveStreak(tries: ExperimentRow[]): number {
  let n = 0;
  for (const t of [...tries].reverse()) {
    if (t.state !== 'recorded' || t.status === 'interrupted') continue;
    if (t.status !== 'failed' && t.status !== 'skipped' && t.status !== 'invalid') break;
    n++;
  }
  return n;
}

function readState(file: string): HookState {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as HookState;
  } catch {
    return { session_id: null, continued: 0, tries_at_continue: null };
  }
}

/** The main checkout of the repository at `cwd` (also from inside the session's worktree); null outside git. */
async function mainRepo(cwd: string): Promise<string | null> {
  const dir = (
    await git(cwd, ['rev-parse', '--path-format=absolute', '--git-common-dir'], { allowFail: true })
  ).trim();
  return dir ? dirname(dir) : null;
}
