/**
 * The loop in the test's own process: what `autoresearch run` does, without a Node start-up per
 * invocation. The progress lines are the CLI's (its ProgressReporter, not a terminal), so tests
 * can assert on the same text `autoresearch run` prints.
 */
import { Ledger } from '../../src/ledger/ledger.js';
import { ledgerPath } from '../../src/loop/context.js';
import { abort, findRun, isRefusal, pause, resume } from '../../src/loop/control.js';
import type { LoopEvent } from '../../src/loop/events.js';
import type { LoopResult } from '../../src/loop/loop.js';
import { statusReport } from '../../src/cli/commands/inspect.js';
import { ProgressReporter } from '../../src/cli/progress.js';
import { startRun, type StartRunOptions } from '../../src/run.js';

export interface RunHere {
  result: LoopResult;
  events: LoopEvent[];
  /** What `autoresearch run` would have printed. */
  output: string;
}

export async function runHere(
  repo: string,
  opts: Omit<StartRunOptions, 'cwd'> = {},
): Promise<RunHere> {
  const events: LoopEvent[] = [];
  let output = '';
  const reporter = new ProgressReporter({ write: (s: string) => ((output += s), true) });
  const result = await startRun({
    ...opts,
    cwd: repo,
    onEvent: (e) => {
      events.push(e);
      reporter.handle(e);
      opts.onEvent?.(e);
    },
    onProgram: ({ goal }) => reporter.setGoal(goal),
  });
  return { result, events, output };
}

/** `autoresearch <verb>` for a run this process (or another) is running, without a CLI start-up. */
export function controlHere(repo: string, tag: string, verb: 'pause' | 'resume' | 'abort'): string {
  const ledger = new Ledger(ledgerPath(repo));
  try {
    const target = findRun(repo, ledger, tag);
    if (isRefusal(target)) throw new Error(target.message);
    const outcome = { pause, resume, abort }[verb](target);
    if (!outcome.ok) throw new Error(outcome.message);
    return outcome.message;
  } finally {
    ledger.close();
  }
}

/** What `autoresearch status` prints in `repo`, without a CLI start-up. */
export async function statusHere(repo: string, tag?: string): Promise<string> {
  return `${(await statusReport(repo, tag)).text}\n`;
}
