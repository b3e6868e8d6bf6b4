/**
 * Only the harness writes the run's git refs: the branch (the incumbent), every candidate under
 * refs/autoresearch/<tag>/, and with `parents: islands` each island's head (island-<k>). They are
 * checked against the ledger at every decision and at the start and end of a run; a ref someone
 * else moved, deleted or added is reported and put back. An island head follows the ledger
 * silently while it only lags (it points at an earlier member of its island, or is not there yet),
 * and so do the Pareto front's refs (front/<id>) that the newest join has not written yet.
 */
import { git, listRefs } from '../workspace/git.js';
import type { RunContext } from './context.js';
import { islandRefs } from './population.js';
import { frontLag, frontRefs } from './front.js';

export interface RefProblem {
  ref: string;
  found: string | null;
  expected: string | null;
}

/** What the refs should be, from the ledger: experiments still in flight are left out (their refs are being written). */
function expectedRefs(ctx: RunContext): Map<string, string> {
  const tag = ctx.run.tag;
  const expected = new Map<string, string>();
  expected.set(`refs/heads/${ctx.run.branch}`, ctx.incumbent.commit);
  for (const e of ctx.ledger.candidateCommits(tag)) {
    if (!e.proposed || !e.candidate || !e.recorded) continue;
    expected.set(`refs/autoresearch/${tag}/${e.id}`, e.proposed);
    if (e.candidate !== e.proposed)
      expected.set(`refs/autoresearch/${tag}/${e.id}-rebased`, e.candidate);
  }
  for (const island of islandRefs(ctx)) expected.set(island.ref, island.commit);
  for (const [ref, commit] of frontRefs(ctx)) expected.set(ref, commit);
  return expected;
}

/**
 * The harness's own lag: an island head not written yet, or still at an earlier member of its
 * island; the newest front member's ref not written yet, or its dominated members' not deleted yet.
 */
function lagging(ctx: RunContext, p: RefProblem): boolean {
  // The newest join's front refs, not written or deleted yet (front.ts).
  if (/\/front\/\d+$/.test(p.ref)) return frontLag(ctx, p.ref, p.found, p.expected);
  if (p.expected === null || !/\/island-\d+$/.test(p.ref)) return false;
  const island = islandRefs(ctx).find((i) => i.ref === p.ref);
  return p.found === null || (island?.members.has(p.found) ?? false);
}

/** The refs as git has them now. */
function actualRefs(ctx: RunContext): Promise<Map<string, string>> {
  return listRefs(ctx.paths.repo, [
    `refs/autoresearch/${ctx.run.tag}/`,
    `refs/heads/${ctx.run.branch}`,
  ]);
}

/** Refs of experiments the ledger knows but is still writing: not judged yet. */
function inFlight(ctx: RunContext, ref: string): boolean {
  const m = /^refs\/autoresearch\/[^/]+\/(\d+)(?:-rebased)?$/.exec(ref);
  if (!m) return false;
  const row = ctx.ledger.getExperiment(ctx.run.tag, Number(m[1]));
  return row !== undefined && row.state !== 'recorded';
}

/**
 * Compares, reports and repairs. Returns what was wrong (empty when all is well); each problem is
 * announced as a warning and fixed: a moved or deleted ref is set back, an unknown one removed.
 */
export async function verifyRefs(ctx: RunContext, when: string): Promise<RefProblem[]> {
  const expected = expectedRefs(ctx);
  const actual = await actualRefs(ctx);
  const problems: RefProblem[] = [];
  for (const [ref, commit] of expected) {
    const found = actual.get(ref) ?? null;
    if (found !== commit) problems.push({ ref, found, expected: commit });
  }
  for (const [ref, found] of actual) {
    if (!expected.has(ref) && !inFlight(ctx, ref)) problems.push({ ref, found, expected: null });
  }
  for (const p of problems) {
    if (p.expected)
      await git(ctx.paths.repo, [
        'update-ref',
        '-m',
        'autoresearch: restore from the ledger',
        p.ref,
        p.expected,
      ]);
    else await git(ctx.paths.repo, ['update-ref', '-d', p.ref]);
    if (lagging(ctx, p)) continue;
    const what =
      p.expected === null
        ? `appeared (at ${short(p.found)}); removed`
        : p.found === null
          ? `was deleted; restored to ${short(p.expected)}`
          : `was moved to ${short(p.found)}; restored to ${short(p.expected)}`;
    ctx.emit({
      type: 'note',
      level: 'warn',
      text: `${when}: ${p.ref} ${what} (only the harness writes the run's refs)`,
    });
  }
  return problems.filter((p) => !lagging(ctx, p));
}

const short = (sha: string | null) => (sha ? sha.slice(0, 10) : 'nothing');
