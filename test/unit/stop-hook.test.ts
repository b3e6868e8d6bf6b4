/** The Stop hook's decision and the continuation it reads: pure functions, every branch. */
import { describe, expect, it } from 'vitest';
import { continuationOf, type Continuation } from '../../src/mcp/continuation.js';
import { decideStop, type StopHookFacts } from '../../src/mcp/stop-hook.js';

const running = (extra: Partial<Parameters<typeof continuationOf>[0]> = {}): Continuation =>
  continuationOf({
    tag: 'nov28',
    state: 'running',
    stopReason: null,
    stopRequested: false,
    ...extra,
  });

const facts = (f: Partial<StopHookFacts> = {}): StopHookFacts => ({
  stopHookActive: false,
  continuation: running({ experimentsLeft: 12 }),
  continued: 0,
  maxTurns: 50,
  triesSinceContinued: null,
  unproductive: 0,
  maxUnproductive: 5,
  inFlight: null,
  worktree: '/repo/.autoresearch/nov28/session',
  ...f,
});

describe('the continuation', () => {
  it('says continue while the run runs, and names what stops it otherwise', () => {
    expect(running({ experimentsLeft: 3 })).toMatchObject({
      state: 'continue',
      experiments_left: 3,
    });
    expect(running({ stopRequested: true })).toMatchObject({
      state: 'stopped',
      reason: 'stop requested',
    });
    const at = (state: string, stopReason: string | null = null) =>
      continuationOf({ tag: 'nov28', state, stopReason, stopRequested: false });
    expect(at('paused').state).toBe('paused');
    expect(at('finished', 'reached 20 experiments')).toMatchObject({
      state: 'exhausted',
      reason: 'reached 20 experiments',
    });
    expect(at('stopped', 'stop requested')).toMatchObject({
      state: 'stopped',
      reason: 'stop requested',
    });
    expect(at('stopped', 'stop requested').next).toContain('autoresearch run --tag nov28');
    expect(at('not running')).toMatchObject({ state: 'stopped' });
    expect(at('failed', 'the baseline crashed')).toMatchObject({
      state: 'failed',
      reason: 'the baseline crashed',
    });
  });
});

describe('the Stop hook', () => {
  it('continues a session whose run says continue, saying what to do next', () => {
    const d = decideStop(facts());
    expect(d.continue).toBe(true);
    if (!d.continue) return;
    expect(d.reason).toContain('12 experiments left');
    expect(d.reason).toContain('/repo/.autoresearch/nov28/session');
    expect(d.reason).toContain('`try`');
    expect(d.reason).toContain('continuation 1 of at most 50');
    // A try still measured: wait for it rather than trying again.
    const waiting = decideStop(facts({ inFlight: 7 }));
    expect(waiting.continue && waiting.reason).toContain('Experiment 7 is still being measured');
    // Continued before, and the session tried something since: go on.
    expect(
      decideStop(facts({ stopHookActive: true, continued: 3, triesSinceContinued: 1 })).continue,
    ).toBe(true);
  });

  it('stops at the turn ceiling', () => {
    expect(decideStop(facts({ continued: 49 })).continue).toBe(true);
    expect(decideStop(facts({ continued: 50 }))).toEqual({
      continue: false,
      why: 'the turn ceiling: 50 continuations in this session (at most 50)',
    });
  });

  it('stops when the run is paused, stopped, exhausted or failed, or there is no run', () => {
    for (const state of ['paused', 'stopped', 'finished', 'failed', 'not running']) {
      const c = continuationOf({ tag: 't', state, stopReason: 'why', stopRequested: false });
      expect(decideStop(facts({ continuation: c })).continue, state).toBe(false);
    }
    expect(decideStop(facts({ continuation: running({ stopRequested: true }) }))).toEqual({
      continue: false,
      why: 'the run is stopped: stop requested',
    });
    expect(decideStop(facts({ continuation: null })).continue).toBe(false);
  });

  it('stops a stop_hook_active loop: continued already and nothing tried since', () => {
    expect(
      decideStop(facts({ stopHookActive: true, continued: 1, triesSinceContinued: 0 })),
    ).toEqual({
      continue: false,
      why: 'the last continuation made no try',
    });
    // Not a loop: the person's own turn ended (not active), even with nothing tried.
    expect(
      decideStop(facts({ stopHookActive: false, continued: 1, triesSinceContinued: 0 })).continue,
    ).toBe(true);
  });

  it('stops after too many failed, skipped or invalid tries in a row', () => {
    expect(decideStop(facts({ unproductive: 4 })).continue).toBe(true);
    const d = decideStop(facts({ unproductive: 5 }));
    expect(d.continue).toBe(false);
    expect(!d.continue && d.why).toContain('5 tries in a row failed, were skipped or were invalid');
  });
});
