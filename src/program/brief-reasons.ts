/**
 * Why each experiment ended as it did, in a few words for the brief's history table: "not sig.:
 * p=0.02 (needs < 0.017), n=3 vs 3" instead of a bare "discard". Pure: a ledger row in, text out.
 * The policy's full reason stays in the ledger and the CLI; this reads its numbers (decision_json).
 */
import type { ExperimentRow, Goal } from '../ledger/types.js';
import type { DecisionStats } from '../policy/policy.js';

/** Two significant digits, as the policy writes p and se. */
const sig2 = (v: number) => Number(v.toPrecision(2)).toString();
const showP = (p: number) => (p < 0.001 ? 'p<0.001' : `p=${sig2(p)}`);
const runsOf = (s: DecisionStats) =>
  s.pairs !== undefined && s.pairs > 0
    ? `${s.pairs} pairs`
    : `n=${s.nCandidate} vs ${s.nIncumbent}`;

export function decisionStats(row: ExperimentRow): DecisionStats | null {
  if (!row.decision_json) return null;
  try {
    return JSON.parse(row.decision_json) as DecisionStats;
  } catch {
    return null;
  }
}

/** The gain in the goal's direction (positive = better), from the decision's difference. */
function gainOf(goal: Goal, s: DecisionStats): number {
  return goal === 'minimize' ? -s.diff : s.diff;
}

const firstLine = (text: string | null) => (text ?? '').split('\n')[0]!.trim();

function shorten(text: string, max = 70): string {
  return text.length <= max ? text : `${text.slice(0, max - 1).trimEnd()}…`;
}

/** The short reason of a recorded experiment (without its difference, which has a column of its own). */
export function historyReason(row: ExperimentRow, goal: Goal): string {
  const reason = firstLine(row.reason);
  const s = decisionStats(row);
  switch (row.status) {
    case 'keep':
      return shorten(
        [
          s?.p != null ? showP(s.p) : null,
          s ? runsOf(s) : null,
          reason.includes('re-based') ? 're-based onto a newer keep' : null,
        ]
          .filter(Boolean)
          .join(', ') || 'kept',
      );
    case 'discard':
      return discardReason(reason, s, goal);
    case 'crash': {
      const run = /^the run failed \((?:exit code (\S+)|(.+))\)$/.exec(reason);
      if (run) return run[1] ? `exit ${run[1]}` : run[2]!;
      return shorten(reason || 'crashed');
    }
    case 'timeout':
      return reason.startsWith('over budget')
        ? 'over budget'
        : reason.startsWith('killed at the hard timeout')
          ? 'hit the hard timeout'
          : shorten(reason || 'timed out');
    case 'invalid': {
      const prot =
        /^(?:protected files differ from the start of the run|the experiment changed protected files while it ran): (.+)$/.exec(
          reason,
        );
      if (prot) return shorten(`changed protected ${prot[1]}`);
      const checks = /^checks failed \((?:exit code (\S+)|(.+))\)$/.exec(reason);
      if (checks) return `checks failed (${checks[1] ? `exit ${checks[1]}` : checks[2]})`;
      return shorten(reason || 'broke a rule');
    }
    case 'skipped': {
      const dup = /^same files as experiment (\d+)/.exec(reason);
      return dup ? `duplicate of ${dup[1]}` : shorten(reason || 'skipped');
    }
    default:
      return shorten(reason);
  }
}

function discardReason(reason: string, s: DecisionStats | null, goal: Goal): string {
  const bare = reason.replace(/^discarded: /, '');
  if (reason.includes('conflicts with the newer incumbent'))
    return 'better, but conflicts with a newer keep';
  if (reason.startsWith('re-based onto'))
    return shorten(`not confirmed after re-basing onto a newer keep`);
  if (/^discarded: violates constraint /.test(reason))
    return shorten(bare.replace(/^violates constraint /, 'violates '));
  if (!s || !Number.isFinite(s.diff)) return shorten(bare || 'discarded');
  const gain = gainOf(goal, s);
  const n = runsOf(s);
  if (gain < 0) return `worse, ${n}`;
  if (gain === 0) return `tie, ${n}`;
  if (reason.includes('within tolerance'))
    return shorten(bare.replace(/^.*?, (within tolerance .*)$/, '$1'));
  if (reason.includes('below minEffect'))
    return `too small (${reason.replace(/^.*below minEffect (\S+).*$/, 'min_effect $1')})${s.p != null ? `, ${showP(s.p)}` : ''}, ${n}`;
  if (s.p != null && s.alpha !== undefined && s.p >= s.alpha)
    return `not sig.: ${showP(s.p)} (needs < ${sig2(s.alpha)}), ${n}`;
  if (s.p != null) return `${showP(s.p)}, ${n}`;
  return `not better, ${n}`;
}

export interface NearMiss {
  id: number;
  title: string;
  /** The difference the decision saw (metric units, signed as measured). */
  diff: number;
  p: number;
  alpha: number;
  /** The bar this decision had to clear, when the policy stated it. */
  keepBar: number | null;
}

/**
 * A discard that was close: better by the numbers but not significant, with p within twice the
 * threshold or the gain within half a standard error of the keep bar. Such an idea may be a real but
 * small gain; the brief says how to give it another chance.
 */
export function nearMiss(row: ExperimentRow, goal: Goal): NearMiss | null {
  if (row.status !== 'discard') return null;
  const s = decisionStats(row);
  if (!s || s.p == null || s.alpha === undefined || !Number.isFinite(s.diff)) return null;
  const gain = gainOf(goal, s);
  if (!(gain > 0) || s.p < s.alpha) return null;
  const closeP = s.p < 2 * s.alpha;
  const closeBar = s.keepBar != null && s.se != null && gain >= s.keepBar - s.se / 2;
  if (!closeP && !closeBar) return null;
  return {
    id: row.id,
    title: row.title ?? '(untitled)',
    diff: s.diff,
    p: s.p,
    alpha: s.alpha,
    keepBar: s.keepBar ?? null,
  };
}
