/**
 * The agent's half of an experiment: the brief, the proposal in the slot's worktree, and the
 * candidate's commit, checked against the rules (its states: lifecycle.ts).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { AgentExhausted } from '../agents/agent.js';
import type { ExperimentRow } from '../ledger/types.js';
import { buildBrief, renderBriefWithin } from '../program/brief.js';
import { currentKeepBar } from '../policy/keep-bar.js';
import { pooledNoise } from '../policy/stats.js';
import type { AgentSeal } from '../agents/agent.js';
import { MAX_LESSONS, type NoveltyFlag } from '../program/brief-memory.js';
import { ideaSketch, mostSimilar, sketchOf, sketchText } from '../program/novelty.js';
import { onPlateau } from '../program/plateau.js';
import { diffWithPatch } from '../workspace/git.js';
import { describeViolations } from '../workspace/rules.js';
import { snapshot, type SnapshotRules } from '../workspace/snapshot.js';
import { Worktree } from '../workspace/worktree.js';
import type { RunContext } from './context.js';
import { readLogTail } from './measure.js';
import { runCandidate } from './candidate.js';
import { beginProposal, commitProposal, record, withdrawProposal } from './lifecycle.js';
import { nextParent } from './population.js';
import { briefFront } from './front.js';
import type { BriefParent } from '../program/brief-parent.js';

export { emptyExperiment } from './lifecycle.js';

export function slotWorktree(ctx: RunContext, slot: number): Worktree {
  return new Worktree(ctx.paths.repo, ctx.paths.slot(slot));
}

const candidateRef = (ctx: RunContext, id: number) => `refs/autoresearch/${ctx.run.tag}/${id}`;

function writeBrief(
  ctx: RunContext,
  id: number,
  parent?: BriefParent,
): { path: string; brief: ReturnType<typeof buildBrief> } {
  const tag = ctx.run.tag;
  const recent = ctx.ledger.recentExperiments(tag, 60);
  const failed = (e: ExperimentRow) =>
    e.state === 'recorded' && ['crash', 'timeout', 'invalid'].includes(e.status ?? '');
  const failures = recent.filter(failed).slice(-3);
  // A repair's brief shows the log of the crash it repairs, however old.
  const repaired =
    parent?.why === 'repair' ? ctx.ledger.getExperiment(tag, parent.experimentId) : undefined;
  if (repaired && !failures.some((f) => f.id === repaired.id)) failures.push(repaired);
  const c = ctx.program.config;
  const kept = ctx.ledger.keptExperiments(tag);
  const noise = pooledNoise(ctx.ledger.repeatedGroups(tag));
  const since = onPlateau(ctx.ledger.outcomes(tag), c.plateau_after);
  const keepBar = currentKeepBar(recent, noise, {
    confidence: c.decision.confidence,
    minEffect: c.decision.min_effect,
    maxRuns: c.repeats.max,
    deterministic: c.metric.deterministic,
    tolerance: c.metric.tolerance,
  });
  const front = briefFront(ctx);
  const brief = buildBrief({
    experimentId: id,
    objective: {
      metric: c.metric.name,
      goal: c.metric.goal,
      budgetSeconds: c.budget,
      run: c.run,
      editable: c.editable,
      protected: c.protected,
    },
    directions: ctx.program.body,
    incumbent: {
      ...ctx.incumbent,
      noise: noise?.sigma ?? null,
      changes: kept
        .filter(
          (k) =>
            k.id > 0 &&
            k.recorded_at! <=
              (kept.find((x) => x.candidate_commit === ctx.incumbent.commit)?.recorded_at ??
                Infinity),
        )
        .map((k) => `${k.id}: ${k.title ?? ''}`),
    },
    notes: ctx.ledger.notes(tag),
    ...(ctx.drift?.drifting ? { drift: ctx.drift.sentence } : {}),
    baselineValue: ctx.baselineValue,
    experiments: recent,
    logTails: Object.fromEntries(failures.map((f) => [f.id, readLogTail(f.log_path, 15)])),
    // Pareto mode: the front's other metrics are columns of the history; no single keep bar.
    briefMetrics: [...(c.pareto?.slice(1).map((m) => m.name) ?? []), ...c.brief_metrics],
    remeasured: ctx.ledger.remeasuredAfterDecision(tag),
    keepBar: front ? null : keepBar,
    ...(front ? { front } : {}),
    lessons: ctx.ledger.lessons(tag, MAX_LESSONS),
    ...(since !== null ? { plateau: { since, after: c.plateau_after } } : {}),
    ...(parent ? { parent } : {}),
  });
  const dir = ctx.paths.experimentDir(id);
  mkdirSync(dir, { recursive: true });
  const path = join(dir, 'brief.md');
  writeFileSync(path, renderBriefWithin(brief, c.brief_tokens));
  return { path, brief };
}

/** What the harness accepts as a candidate's files (see workspace/snapshot.ts). */
export function snapshotRules(ctx: RunContext): SnapshotRules {
  const c = ctx.program.config;
  return {
    programDir: ctx.programDir,
    editable: c.editable,
    protected: c.protected,
    keepIgnored: c.keep_ignored,
    maxFileBytes: c.max_file_bytes,
  };
}

/** The sandbox of an agent working in `wt`: it writes that worktree and a private temp folder, and keeps its network. */
function agentSeal(ctx: RunContext, wt: Worktree): AgentSeal {
  const tmp = ctx.sandbox.tempDir(`agent-${basename(wt.path)}`);
  const seal = ctx.sandbox.seal({
    role: 'agent',
    root: wt.path,
    cwd: join(wt.path, ctx.programDir),
    tmp,
    network: true,
  });
  return { prefix: seal.prefix, env: seal.env, tmp };
}

/**
 * The title and hypothesis as recorded: one line of title; CRLF as LF. A control character (a NUL
 * broke every later resume; an escape sequence rewrites the user's terminal) makes the proposal
 * invalid, recorded with the characters written out.
 */
function proposalText(
  rawTitle: string,
  rawHypothesis?: string,
): { title: string; hypothesis: string | null; problem: string | null } {
  const title = (rawTitle.split('\n')[0] ?? '')
    .replace(/\r$/, '')
    .replace(/\t/g, ' ')
    .trim()
    .slice(0, 200);
  const hypothesis = rawHypothesis === undefined ? null : rawHypothesis.replace(/\r\n/g, '\n');
  const inTitle = CONTROL.test(title);
  const inHypothesis = hypothesis !== null && CONTROL.test(hypothesis.replace(/[\n\t]/g, ' '));
  if (!inTitle && !inHypothesis) return { title, hypothesis, problem: null };
  const shown = (t: string) =>
    t.replace(CONTROLS, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return {
    title: shown(title),
    hypothesis: hypothesis === null ? null : shown(hypothesis),
    problem: `the proposal's ${inTitle ? 'title' : 'hypothesis'} contains control characters (shown as \\uXXXX); titles and hypotheses must be plain text`,
  };
}

/** C0 and C1 control characters and DEL (a tab or newline in a hypothesis is replaced before the test). */
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const CONTROLS = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

/** The longest lessons kept per proposal: a paragraph, not a transcript. */
const MAX_LESSON_CHARS = 2000;

/** Lessons as recorded: LF line ends, control characters dropped (they only show in briefs), bounded; null when empty. */
function lessonsText(raw: string | undefined): string | null {
  if (raw === undefined) return null;
  const text = raw.replace(/\r\n/g, '\n').replace(CONTROLS, '').trim();
  return text ? text.slice(0, MAX_LESSON_CHARS) : null;
}

export type ProposalOutcome = 'ran' | 'exhausted' | 'recorded';

/** Asks the agent for one change against the incumbent, then commits, checks, runs and decides it. */
export async function proposeAndRun(ctx: RunContext, slot: number): Promise<ProposalOutcome> {
  const wt = slotWorktree(ctx, slot);
  const prepared = await prepareCandidate(ctx, slot, wt);
  if (typeof prepared === 'string') return prepared;
  await runCandidate(ctx, prepared, slot, wt);
  return 'ran';
}

/**
 * The agent's half of an experiment: a change proposed against the incumbent of this moment in
 * `wt`, committed and checked against the rules. Returns the committed row when it should run,
 * or how it ended without a run.
 */
export async function prepareCandidate(
  ctx: RunContext,
  slot: number,
  wt: Worktree,
): Promise<ExperimentRow | 'exhausted' | 'recorded'> {
  const tag = ctx.run.tag;
  const next = nextParent(ctx);
  const parent = next.parent;
  const row = beginProposal(ctx, slot, ctx.agent.name, parent, next.choice.island);
  await wt.reset(parent.commit);
  const { path: briefPath, brief } = writeBrief(ctx, row.id, next.brief);
  let proposal;
  const agentStarted = Date.now();
  wt.touched();
  try {
    proposal = await ctx.agent.propose({
      workspace: wt.path,
      programDir: join(wt.path, ctx.programDir),
      brief,
      briefPath,
      experimentId: row.id,
      signal: ctx.abort.signal,
      seal: agentSeal(ctx, wt),
      onProcess: (handle) =>
        ctx.ledger.updateExperiment(tag, row.id, { agent_process_json: JSON.stringify(handle) }),
    });
  } catch (e) {
    if (e instanceof AgentExhausted) {
      // Nothing was proposed, so there is no experiment to keep on record.
      withdrawProposal(ctx, row.id);
      ctx.agentExhausted = true;
      ctx.emit({ type: 'note', level: 'info', text: e.message });
      return 'exhausted';
    }
    if (ctx.abort.signal.aborted) {
      record(ctx, row.id, 'interrupted', {
        reason: 'the harness stopped while the agent was proposing',
      });
      return 'recorded';
    }
    record(ctx, row.id, 'failed', {
      reason: `agent error: ${(e as Error).message}`,
      finished_at: Date.now(),
    });
    return 'recorded';
  } finally {
    if (ctx.ledger.getExperiment(tag, row.id)) {
      const wall = (Date.now() - agentStarted) / 1000;
      ctx.ledger.addCommand({
        run_tag: tag,
        experiment_id: row.id,
        kind: 'agent',
        started_at: agentStarted,
        wall_seconds: wall,
        exit_code: null,
        signal: null,
        timed_out: 0,
        sealed: ctx.sandbox.sealed ? 1 : 0,
        log_path: null,
      });
    }
  }
  const usage = proposal.usage ?? {};
  const text = proposalText(proposal.title, proposal.hypothesis);
  const lessons = lessonsText(proposal.lessons);
  const title = text.title || 'untitled change';
  const message = `${title}\n\n${text.hypothesis ?? ''}\n\nautoresearch-run: ${tag}\nautoresearch-experiment: ${row.id}\n`;
  const snap = await snapshot(
    wt,
    parent.commit,
    snapshotRules(ctx),
    ctx.paths.indexFile(basename(wt.path)),
  );
  const commit = await wt.commit(parent.commit, snap.tree, message, candidateRef(ctx, row.id));
  // Sealed, nothing but the harness touches the files now: when the snapshot saw them all, the
  // slot already holds exactly the candidate and the run needs no reset first.
  if (snap.exact && ctx.sandbox.sealed) wt.isExactly(commit);
  const { stat, patch } = await diffWithPatch(ctx.paths.repo, parent.commit, commit);
  commitProposal(ctx, row.id, {
    title,
    hypothesis: text.hypothesis,
    agent_meta_json: proposal.meta === undefined ? null : JSON.stringify(proposal.meta),
    candidate_commit: commit,
    proposed_commit: commit,
    tree: snap.tree,
    files_changed: stat.files,
    lines_added: stat.added,
    lines_deleted: stat.deleted,
    input_tokens: usage.inputTokens ?? null,
    output_tokens: usage.outputTokens ?? null,
    cached_tokens: usage.cachedTokens ?? null,
    cache_write_tokens: usage.cacheWriteTokens ?? null,
    cost_usd: usage.costUsd ?? null,
    lessons,
  });
  const refused =
    text.problem ??
    (snap.violations.length > 0
      ? describeViolations(snap.violations, ctx.program.config.editable)
      : null);
  if (refused) {
    record(ctx, row.id, 'invalid', { reason: refused, finished_at: Date.now() });
    return 'recorded';
  }
  if (snap.changed.length === 0) {
    const left = snap.dropped.length
      ? ` (only ignored files outside editable, not part of a candidate: ${snap.dropped.slice(0, 3).join(', ')})`
      : '';
    record(ctx, row.id, 'skipped', {
      reason: `the agent made no change${left}`,
      finished_at: Date.now(),
    });
    return 'recorded';
  }
  const duplicate = ctx.ledger.findByTree(tag, snap.tree, row.id);
  if (duplicate) {
    record(ctx, row.id, 'skipped', {
      reason: `same files as experiment ${duplicate.id} (${duplicate.status ?? duplicate.state})`,
      finished_at: Date.now(),
    });
    return 'recorded';
  }
  if (repeatsDiscardedIdea(ctx, row.id, patch)) return 'recorded';
  return ctx.ledger.getExperiment(tag, row.id)!;
}

/**
 * Compares the candidate's change (`diff`: its `--unified=0` patch against the parent) with every
 * discarded one (novelty.ts) before it runs, and stores its sketch for later candidates and the brief's grouping of ideas. A repeat is flagged in the ledger (the next brief shows
 * it) and, with `novelty: strict`, skipped. Tune's proposals differ only in numbers by design.
 */
function repeatsDiscardedIdea(ctx: RunContext, id: number, diff: string): boolean {
  if (ctx.agent.searchesNumbers) return false;
  const tag = ctx.run.tag;
  const sketch = ideaSketch(diff);
  ctx.ledger.updateExperiment(tag, id, { idea_sketch: sketchText(sketch) });
  const mode = ctx.program.config.novelty;
  if (mode === 'off') return false;
  const discarded = ctx.ledger
    .ideasWith(tag, 'discard')
    .map((d) => ({ id: d.id, title: d.title ?? '(untitled)', sketch: sketchOf(d.idea_sketch) }));
  const like = mostSimilar(sketch, discarded);
  if (!like) return false;
  const flag: NoveltyFlag = {
    like: like.idea.id,
    title: like.idea.title,
    similarity: Number(like.similarity.toFixed(3)),
  };
  ctx.ledger.updateExperiment(tag, id, { novelty_json: JSON.stringify(flag) });
  const said = `the same change as discarded experiment ${flag.like} (${flag.title}), ${Math.round(flag.similarity * 100)}% alike once numbers are masked`;
  if (mode !== 'strict') {
    ctx.emit({ type: 'note', level: 'info', text: `experiment ${id} makes ${said}` });
    return false;
  }
  record(ctx, id, 'skipped', {
    reason: `${said} (novelty: strict)`,
    finished_at: Date.now(),
  });
  return true;
}
