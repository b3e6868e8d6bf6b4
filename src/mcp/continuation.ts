/**
 * What an agent-owned session should do next, from the run's state as anyone can see it (the
 * ledger's run row, the PAUSE and STOP requests, whether a harness lives). One pure function, so
 * the MCP server's answers and the Stop hook read the same words from the same facts.
 */

type ContinuationState = 'continue' | 'paused' | 'stopped' | 'exhausted' | 'failed';

export interface Continuation {
  /**
   * continue: make the next change and try it; paused: wait, a person resumes the run; stopped:
   * a person stopped it, or its harness ended; exhausted: a stop condition of the run was reached
   * (experiments, hours, spend, failures in a row); failed: the run ended with an error.
   */
  state: ContinuationState;
  /** Why it is not `continue` (the run's stop reason, the request). */
  reason?: string;
  /** One instruction for the model. */
  next: string;
  /** Experiments left before `stop.experiments`, when the run has that limit. */
  experiments_left?: number;
}

export interface ContinuationFacts {
  tag: string;
  /**
   * The run's state as a person sees it (loop/control.ts `runState`): running, paused, not
   * running (its harness died), or the ledger's stopped, finished, failed.
   */
  state: string;
  stopReason: string | null;
  /** A STOP request waits for the harness (it ends the run before the next proposal). */
  stopRequested: boolean;
  experimentsLeft?: number;
}

export function continuationOf(f: ContinuationFacts): Continuation {
  const left = f.experimentsLeft === undefined ? {} : { experiments_left: f.experimentsLeft };
  const restart = `restart the autoresearch MCP server (or run \`autoresearch run --tag ${f.tag}\`) to go on`;
  switch (f.state) {
    case 'running':
      if (f.stopRequested)
        return {
          state: 'stopped',
          reason: 'stop requested',
          next: 'Stop: a person asked the run to stop. Do not make another try.',
          ...left,
        };
      return {
        state: 'continue',
        next: 'Make the next change in the session worktree and call `try`. Do not ask whether to go on: the run continues until it is paused, stopped, or its limits are reached.',
        ...left,
      };
    case 'paused':
      return {
        state: 'paused',
        reason: 'paused by a person (dashboard, CLI or the pause tool)',
        next: 'Stop here and end your turn: the run is paused. Tries are refused until it is resumed (`autoresearch resume`, the dashboard, or the resume tool).',
        ...left,
      };
    case 'not running':
      return {
        state: 'stopped',
        reason: 'the harness of the run is not running',
        next: `Stop: nothing measures tries now; ${restart}.`,
        ...left,
      };
    case 'finished':
      return {
        state: 'exhausted',
        reason: f.stopReason ?? 'the run finished',
        next: 'Stop: the run reached its limits. Summarize what was kept (the results tool) for the user.',
        ...left,
      };
    case 'failed':
      return {
        state: 'failed',
        reason: f.stopReason ?? 'the run failed',
        next: 'Stop and tell the user why the run failed; it needs a fix before it can go on.',
      };
    default:
      return {
        state: 'stopped',
        reason: f.stopReason ?? f.state,
        next: `Stop: the run is ${f.state}; ${restart}.`,
        ...left,
      };
  }
}
