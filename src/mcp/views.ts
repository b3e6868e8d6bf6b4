/**
 * The answers of the MCP tools, built from the session and its ledger: the state (with the
 * brief), a try's decision, a try still in flight; and how any answer or error is sent.
 */
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runState } from '../loop/control.js';
import { loadProgram } from '../program/program.js';
import { decisionRule, experimentView } from './describe.js';
import type { McpSession, Try, TryOutcome } from './session.js';

/** The state tool's answer: the facts as an object, and the brief as Markdown. */
export async function stateView(s: McpSession): Promise<{ facts: object; brief: string }> {
  const run = await s.ready();
  const row = s.runRow();
  const c = run.config;
  const baseline = s.ledger!.getExperiment(run.tag, 0);
  const hours = run.maxHours;
  const elapsed = (Date.now() - s.startedAt) / 3_600_000;
  const current = s.current;
  const facts = {
    run: {
      tag: row.tag,
      branch: row.branch,
      state: runState(run.repo, row).state,
      doing: doing(s, baseline?.state === 'recorded'),
    },
    continuation: s.continuation(),
    worktree: {
      root: run.worktree.path,
      program_dir: run.worktree.programPath,
      at_commit: run.worktree.base,
      note: 'Edit here (paths in editable resolve in program_dir). It is reset to the incumbent after every decision: uncommitted edits made while an experiment runs are lost.',
    },
    objective: {
      metric: c.metric.name,
      goal: c.metric.goal,
      budget_seconds: c.budget,
      run: c.run,
      editable: c.editable,
      protected: c.protected,
    },
    incumbent: await s.incumbent(),
    baseline: baseline?.primary_value ?? null,
    limits: {
      experiments_left: s.continuation().experiments_left ?? null,
      hours_left: hours === undefined ? null : Math.max(0, +(hours - elapsed).toFixed(2)),
      spend_usd: c.stop.spend_usd ?? null,
    },
    decision_rule: decisionRule(c),
    in_flight: current
      ? { handle: current.handle, experiment: current.experimentId, title: current.title }
      : null,
  };
  return { facts, brief: briefText(s) };
}

function doing(s: McpSession, baselineDone: boolean): string {
  if (s.ended !== null) return `ended: ${s.ended}`;
  if (!baselineDone) return 'measuring the baseline (experiment 0); a try waits until it is done';
  if (s.current)
    return s.current.experimentId === null
      ? `your try ${s.current.handle} waits for the harness`
      : `measuring your try ${s.current.handle} (experiment ${s.current.experimentId})`;
  if (s.agent.open)
    return `waiting for your try (it will be experiment ${s.agent.open.experimentId})`;
  return 'between experiments (a re-run, a pause, or deciding)';
}

/** The brief of the proposal the loop waits for (or the latest), else the program's directions. */
function briefText(s: McpSession): string {
  const open = s.agent.open ?? s.agent.last;
  if (open && existsSync(open.briefPath)) {
    const text = readFileSync(open.briefPath, 'utf8');
    return s.agent.open
      ? text
      : `(the brief of experiment ${open.experimentId}; a fresh one comes with the next proposal)\n\n${text}`;
  }
  const row = s.runRow();
  const program = loadProgram(join(s.run!.repo, row.program_path));
  return `(no brief yet: the harness builds one when it asks for the first proposal)\n\n${program.body}`;
}

/** A try's (or a wait's) answer once its experiment is recorded or the run ended. */
export async function outcomeView(s: McpSession, t: Try | null, o: TryOutcome): Promise<object> {
  const continuation = s.continuation();
  const e = o.experiment;
  if (!e)
    return {
      handle: t?.handle ?? null,
      experiment: t?.experimentId ?? null,
      status: 'not decided',
      reason:
        t?.experimentId === null
          ? `the run ended before the harness took the change: ${o.ended}`
          : `the run ended before the experiment was decided (${o.ended}); it is measured again when the run resumes`,
      continuation,
    };
  const incumbent = o.incumbent
    ? {
        experiment: o.incumbent.experimentId,
        value: o.incumbent.value,
        commit: o.incumbent.commit.slice(0, 12),
        title: o.incumbent.title,
      }
    : await s.incumbent();
  return {
    handle: t?.handle ?? null,
    ...experimentView(e),
    kept: e.status === 'keep',
    log: e.log_path,
    incumbent,
    worktree: `reset to the incumbent${incumbent ? ` (experiment ${incumbent.experiment})` : ''}`,
    continuation,
  };
}

/** A try still in flight when the call's wait ran out. */
export function pendingView(s: McpSession, t: Try): object {
  const budget = s.run?.config.budget ?? null;
  return {
    handle: t.handle,
    experiment: t.experimentId,
    pending: true,
    state: t.experimentId === null ? 'waiting for the harness to take it' : 'being measured',
    elapsed_seconds: Math.round((Date.now() - t.startedAt) / 1000),
    budget_seconds: budget,
    next: `Call wait with {"handle": "${t.handle}"} for the decision. Do not edit the worktree meanwhile: it is reset after the decision.`,
  };
}

/** One line that says what an answer means, before its JSON ('' when the JSON says it all). */
function headline(view: Record<string, unknown>): string {
  const c = view.continuation as { state: string; next: string } | undefined;
  const then = c ? ` Continuation: ${c.state}. ${c.next}` : '';
  const reason = String(view.reason ?? '').split('\n')[0];
  if (view.pending) return `Still running. ${String(view.next)}`;
  if (typeof view.message === 'string') return `${view.message}.${then}`;
  if (view.status === 'not decided' || view.status === 'not tried')
    return `${view.status === 'not tried' ? 'Not tried' : 'Not decided'}: ${reason}.${then}`;
  if (typeof view.experiment === 'number' && typeof view.status === 'string')
    return `Experiment ${view.experiment}: ${view.status}${reason ? ` (${reason})` : ''}.${then}`;
  return '';
}

/** An answer: a headline and the object as JSON for the model, the object for programs. */
export function answer(view: object): CallToolResult {
  const head = headline(view as Record<string, unknown>);
  const text = `${head ? `${head}\n\n` : ''}${JSON.stringify(view, null, 2)}`;
  return { content: [{ type: 'text', text }], structuredContent: view as Record<string, unknown> };
}

export function failed(message: string): CallToolResult {
  return { isError: true, content: [{ type: 'text', text: message }] };
}

/** A tool never throws at the client: an error (the run could not start, git failed) is its answer. */
export async function guarded(fn: () => Promise<CallToolResult>): Promise<CallToolResult> {
  try {
    return await fn();
  } catch (e) {
    return failed((e as Error).message);
  }
}
