/**
 * Pareto mode in the loop: the front from the ledger (every keep that no later keep dominated),
 * each metric's noise, the look at a candidate under the decision lock, and the members' refs
 * `refs/autoresearch/<tag>/front/<id>`. The run branch holds the newest member to join; a member
 * leaves only when a new one dominates it, and the branch moves to that one in the same look, so
 * it never holds a commit that is not on the front.
 */
import type { ExperimentRow, MeasurementRow } from '../ledger/types.js';
import { judgeFront, type MetricNoise } from '../policy/pareto.js';
import type { Arm } from '../policy/policy.js';
import { pooledNoise } from '../policy/stats.js';
import type { BriefFront } from '../program/brief.js';
import type { MetricSpec } from '../program/schema.js';
import { git, listRefs } from '../workspace/git.js';
import type { RunContext } from './context.js';
import {
  describeMember,
  frontMembers,
  frontPoint,
  metricOf,
  onFront,
  ownRuns,
} from './front-view.js';
import { awaitRuns, joinFront, record } from './lifecycle.js';

export type FrontLook =
  { kind: 'decided'; status: 'keep' | 'discard' } | { kind: 'measure'; next: Arm[] };

const frontPrefix = (tag: string) => `refs/autoresearch/${tag}/front/`;

/** Each metric's noise, pooled within the commits measured more than once (as the scalar policy's). */
function metricNoise(
  objectives: MetricSpec[],
  runs: MeasurementRow[],
): Record<string, MetricNoise | null> {
  const primary = objectives[0]!.name;
  const noise: Record<string, MetricNoise | null> = {};
  for (const o of objectives) {
    if (o.deterministic) {
      noise[o.name] = { sigma: 0, df: 1 };
      continue;
    }
    const groups = new Map<string, number[]>();
    for (const r of runs) {
      const v = metricOf(r, o.name, primary);
      if (v !== null) groups.set(r.commit_sha, [...(groups.get(r.commit_sha) ?? []), v]);
    }
    noise[o.name] = pooledNoise([...groups.values()]);
  }
  return noise;
}

/** The runs of an experiment's own commit (its measured candidate). */
const runsOf = (ctx: RunContext, e: ExperimentRow): MeasurementRow[] =>
  ownRuns(e, ctx.ledger.measurementsOf(ctx.run.tag, e.id));

/**
 * A look at a Pareto candidate, under the decision lock (the refs checked first): `repeats.max` runs of it first (no
 * pairs: it is compared with every member's own runs), then the front's verdict, recorded. A
 * joining candidate's dominated members leave in the same ledger write, then the branch moves to
 * it and the front's refs follow.
 */
export async function judgeOnFront(ctx: RunContext, row: ExperimentRow): Promise<FrontLook> {
  const tag = ctx.run.tag;
  const c = ctx.program.config;
  const objectives = c.pareto!;
  const own = runsOf(ctx, row);
  if (own.length < c.repeats.max) {
    awaitRuns(ctx, row.id, {
      reason: `measuring: ${own.length} of ${c.repeats.max} runs before it is compared with the front`,
    });
    return { kind: 'measure', next: ['candidate'] };
  }
  const members = ctx.ledger.listExperiments(tag).filter(onFront);
  const verdict = judgeFront({
    objectives: objectives.map((o) => ({ name: o.name, goal: o.goal, tolerance: o.tolerance })),
    front: members.flatMap((m) => frontPoint(objectives, m.id, runsOf(ctx, m)) ?? []),
    candidate: frontPoint(objectives, row.id, own)!,
    noise: metricNoise(objectives, ctx.ledger.measuredRuns(tag)),
    confidence: c.decision.confidence,
  });
  const judged = {
    incumbent_commit: ctx.incumbent.commit,
    incumbent_value: Number.isFinite(ctx.incumbent.value) ? ctx.incumbent.value : null,
    reason: verdict.reason,
  };
  if (!verdict.joins) {
    record(ctx, row.id, 'discard', judged);
    return { kind: 'decided', status: 'discard' };
  }
  await joinFront(
    ctx,
    row,
    judged,
    verdict.leaving.map((l) => l.member),
  );
  await syncFrontRefs(ctx);
  return { kind: 'decided', status: 'keep' };
}

/** What the front's refs should be, from the ledger: one per member, at its commit. */
export function frontRefs(ctx: RunContext): Map<string, string> {
  const refs = new Map<string, string>();
  if (!ctx.program.config.pareto) return refs;
  for (const e of ctx.ledger.listExperiments(ctx.run.tag))
    if (onFront(e) && e.state === 'recorded' && e.candidate_commit)
      refs.set(`${frontPrefix(ctx.run.tag)}${e.id}`, e.candidate_commit);
  return refs;
}

/**
 * The front's refs follow the ledger, each by compare-and-swap: a new member's ref is created
 * only where none is, a leaving member's deleted only while it still holds that member's commit.
 * A harness killed in between finds them lagging, which refs.ts repairs without a warning.
 */
async function syncFrontRefs(ctx: RunContext): Promise<void> {
  const expected = frontRefs(ctx);
  const actual = await listRefs(ctx.paths.repo, [frontPrefix(ctx.run.tag)]);
  for (const [ref, commit] of expected)
    if (!actual.has(ref))
      await git(ctx.paths.repo, [
        'update-ref',
        '-m',
        'autoresearch: joins the front',
        ref,
        commit,
        '',
      ]);
  for (const [ref, commit] of actual)
    if (!expected.has(ref) && formerMember(ctx, ref, commit))
      await git(ctx.paths.repo, ['update-ref', '-d', ref, commit]);
}

/** A front ref of an experiment that left the front, still at that experiment's commit. */
function formerMember(ctx: RunContext, ref: string, commit: string | null): ExperimentRow | null {
  const id = Number(ref.slice(frontPrefix(ctx.run.tag).length));
  const e = Number.isInteger(id) ? ctx.ledger.getExperiment(ctx.run.tag, id) : undefined;
  return e && e.left_front_by !== null && e.candidate_commit === commit ? e : null;
}

/**
 * The harness's own lag on a front ref, which only the newest join can leave (a harness killed
 * between its ledger write and syncFrontRefs, or before its keep was recorded): the ref of the
 * newest member not written yet, or the ref of a member it dominated not deleted yet. Any other
 * difference was someone else's.
 */
export function frontLag(
  ctx: RunContext,
  ref: string,
  found: string | null,
  expected: string | null,
): boolean {
  const newest = (id: number | null | undefined) =>
    id === ctx.incumbent.experimentId ||
    (id != null && ctx.ledger.getExperiment(ctx.run.tag, id)?.state === 'decided');
  if (expected !== null)
    return found === null && newest(Number(ref.slice(frontPrefix(ctx.run.tag).length)));
  return newest(formerMember(ctx, ref, found)?.left_front_by);
}

/** The front's members as one line each (`#4 (ms 7.011, heap 11.02): title`); null in the scalar mode. */
export function describeFront(ctx: RunContext): string[] | null {
  const front = briefFront(ctx);
  return front ? front.members.map((m) => describeMember(front.metrics, m)) : null;
}

/** What the brief says of the front: its metrics and each member's means, oldest first. */
export function briefFront(ctx: RunContext): BriefFront | undefined {
  const metrics = ctx.program.config.pareto;
  if (!metrics) return undefined;
  const rows = ctx.ledger.listExperiments(ctx.run.tag);
  return {
    metrics: metrics.map((o) => ({ name: o.name, goal: o.goal })),
    members: frontMembers(metrics, rows, (id) => ctx.ledger.measurementsOf(ctx.run.tag, id)),
  };
}
