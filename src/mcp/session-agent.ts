/**
 * The Agent of an agent-owned run: the loop asks it for a proposal as it asks any agent, and it
 * answers with the session's next `try`, the change the session made (a tree of the repository
 * against the commit its worktree was at) applied to the candidate's worktree. The loop then
 * commits, checks, runs, decides and records as for any agent; this class decides nothing.
 */
import { existsSync } from 'node:fs';
import {
  AgentExhausted,
  type Agent,
  type Proposal,
  type ProposalContext,
} from '../agents/agent.js';
import type { Brief } from '../program/brief.js';
import { git } from '../workspace/git.js';

/** A change the session offers: its words, and its files as git objects. */
export interface SessionChange {
  title: string;
  hypothesis?: string;
  lessons?: string;
  /** The commit the session's worktree was reset to. */
  base: string;
  /** The tree of the session's files (written by `SessionWorktree.capture`). */
  tree: string;
}

/** The proposal the loop is waiting for: its experiment id and brief. */
export interface OpenProposal {
  experimentId: number;
  brief: Brief;
  briefPath: string;
}

interface Offer {
  change: SessionChange;
  taken: (experimentId: number) => void;
}

/** How often a waiting proposal looks for a STOP request (the loop itself looks only between experiments). */
const STOP_POLL_MS = 300;

export class SessionAgent implements Agent {
  readonly name = 'session';
  /** The proposal the loop waits for now; null while it measures, decides, pauses or has ended. */
  open: OpenProposal | null = null;
  /** The latest proposal the loop opened (its brief stays the newest until the next one). */
  last: OpenProposal | null = null;
  private offer: Offer | null = null;
  private wake: (() => void) | null = null;

  /**
   * @param stopFile the run's STOP request (known once the run is open): a session that is not trying anything must not hold
   *   the run open after a person asked it to stop.
   * @param onOpen called when the loop starts waiting for a proposal.
   */
  constructor(
    private readonly stopFile: () => string,
    private readonly onOpen: (open: OpenProposal) => void = () => {},
  ) {}

  /** Hands a change to the loop; resolves with its experiment id once the loop has taken it. */
  submit(change: SessionChange): Promise<number> {
    if (this.offer) throw new Error('a change is already waiting for the harness');
    return new Promise((taken) => {
      this.offer = { change, taken };
      this.wake?.();
    });
  }

  /** Drops a change the loop has not taken (the run ended before it asked for one). */
  withdraw(): void {
    this.offer = null;
  }

  async propose(ctx: ProposalContext): Promise<Proposal> {
    this.open = { experimentId: ctx.experimentId, brief: ctx.brief, briefPath: ctx.briefPath };
    this.last = this.open;
    this.onOpen(this.open);
    let offer: Offer;
    try {
      offer = await this.next(ctx.signal);
    } finally {
      this.open = null;
    }
    offer.taken(ctx.experimentId);
    const { change } = offer;
    // The session's worktree was at `base` (the incumbent when it was reset); the candidate's is
    // at the incumbent now. They are the same commit unless the incumbent moved in between, and
    // then the change is applied as a patch, or the proposal fails saying so.
    const patch = await git(ctx.workspace, [
      'diff',
      '--binary',
      '--no-renames',
      change.base,
      change.tree,
    ]);
    if (patch.trim()) {
      try {
        await git(ctx.workspace, ['apply', '--whitespace=nowarn', '-'], { input: patch });
      } catch (e) {
        throw new Error(
          `the session's change does not apply to the incumbent: ${(e as Error).message}`,
        );
      }
    }
    return {
      title: change.title,
      hypothesis: change.hypothesis,
      ...(change.lessons ? { lessons: change.lessons } : {}),
      meta: { session: true, base: change.base, tree: change.tree },
    };
  }

  /** The next offer, or AgentExhausted on a STOP request, or an error when the run is aborted. */
  private async next(signal: AbortSignal): Promise<Offer> {
    for (;;) {
      if (signal.aborted) throw new Error('the harness stopped');
      // Withdrawn, not failed: the loop then sees the STOP request and ends the run. A change
      // offered meanwhile is not taken: the stop came before its experiment began.
      if (existsSync(this.stopFile()))
        throw new AgentExhausted('stop requested while the session was editing');
      if (this.offer) {
        const offer = this.offer;
        this.offer = null;
        return offer;
      }
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          signal.removeEventListener('abort', done);
          this.wake = null;
          resolve();
        };
        const timer = setTimeout(done, STOP_POLL_MS);
        signal.addEventListener('abort', done, { once: true });
        this.wake = done;
      });
    }
  }
}
