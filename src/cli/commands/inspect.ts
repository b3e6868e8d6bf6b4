/** `status` and `results`: read the ledger only, so they work while a run is going or long after. */
import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { Ledger } from '../../ledger/ledger.js';
import { ledgerPath, runPathsOf } from '../../loop/context.js';
import { storedDrift, type DriftState } from '../../loop/drift-watch.js';
import { findRun, isRefusal, runState, type RunTarget } from '../../loop/control.js';
import { projectSpend, sandboxOf, summarize } from '../../loop/summary.js';
import { formatDuration } from '../../program/duration.js';
import { UserError } from '../../program/errors.js';
import { readRef, repoRoot } from '../../workspace/git.js';
import { bar, experimentLine, fmtPct, fmtValue } from '../format.js';
import { count } from '../../util/words.js';
import { TAG_OPTION } from '../options.js';
import {
  describeMember,
  frontMembers,
  paretoMetrics,
  type FrontMember,
} from '../../loop/front-view.js';
import type { ExperimentRow, RunRow } from '../../ledger/types.js';

/** Pareto mode: the front's members with their means; null for a scalar run. */
function frontOf(ledger: Ledger, run: RunRow, rows: ExperimentRow[]) {
  const metrics = paretoMetrics(run);
  if (!metrics) return null;
  const members = frontMembers(metrics, rows, (id) => ledger.measurementsOf(run.tag, id));
  const lines = members.map((m: FrontMember) => describeMember(metrics, m));
  return { metrics, members, lines };
}

export async function openLedgerFor(cwd: string, tag?: string): Promise<RunTarget> {
  const repo = await repoRoot(cwd);
  const path = ledgerPath(repo);
  const ledger = existsSync(path) ? new Ledger(path) : null;
  const found = findRun(repo, ledger, tag);
  if (isRefusal(found)) {
    ledger?.close();
    throw new UserError(found.message, found.hint);
  }
  return found;
}

/** What `autoresearch status` shows of the run `tag` (default: the latest) of the repository at `cwd`. */
export async function statusReport(
  cwd: string,
  tag?: string,
): Promise<{ text: string; json: unknown }> {
  const { repo, ledger, run } = await openLedgerFor(cwd, tag);
  try {
    const rows = ledger.listExperiments(run.tag);
    const head = await readRef(repo, `refs/heads/${run.branch}`);
    const s = summarize(run, rows, head);
    // The same state the dashboard and the controls see (loop/control.ts).
    const { state: now, pid } = runState(repo, run);
    const state =
      now === 'paused'
        ? `paused (pid ${pid}; autoresearch resume continues)`
        : now === 'not running'
          ? 'not running (the harness stopped unexpectedly; `autoresearch run --tag ' +
            run.tag +
            '` resumes it)'
          : pid
            ? `running (pid ${pid})`
            : `${run.state}${run.stop_reason ? `: ${run.stop_reason}` : ''}`;
    const counts = Object.entries(s.counts)
      .map(([k, v]) => `${v} ${k}`)
      .join(', ');
    const front = frontOf(ledger, run, rows);
    const lines = front
      ? [
          `run ${run.tag} on branch ${run.branch}: ${state}`,
          `metrics      ${front.metrics.map((m) => `${m.name} (${m.goal})`).join(', ')}: a Pareto front`,
          ...front.lines.map(
            (l, i) =>
              `${i === 0 ? `front ${String(front.members.length).padEnd(7)}` : ' '.repeat(13)}${l}`,
          ),
          `experiments  ${s.candidates}${counts ? ` (${counts})` : ''}`,
        ]
      : [
          `run ${run.tag} on branch ${run.branch}: ${state}`,
          `metric       ${run.metric_name} (${run.goal})`,
          `baseline     ${fmtValue(s.baseline)}`,
          `best         ${fmtValue(s.best)}${s.bestExperiment !== null ? ` at #${s.bestExperiment} ${s.bestCommit?.slice(0, 10)}: ${s.bestTitle}` : ''}`,
          `improvement  ${fmtPct(s.improvementPct) || '—'} over baseline`,
          `experiments  ${s.candidates}${counts ? ` (${counts})` : ''}`,
        ];
    const config = JSON.parse(run.config_json) as {
      budget: number;
      eval?: unknown;
      holdout?: unknown;
    };
    lines.push(
      config.eval
        ? "evaluation   by the protected eval command (the run's own output is ignored)"
        : "evaluation   from the run's own output: code the agent may edit prints the metric (set `eval:` to a protected command to trust it)",
    );
    const sandbox = sandboxOf(run);
    if (sandbox) lines.push(`sandbox      ${sandbox.text}`);
    const holdouts = rows.filter((r) => r.holdout_value !== null);
    if (holdouts.length > 0) {
      const best = rows.find((r) => r.candidate_commit === s.bestCommit && r.status === 'keep');
      lines.push(
        `holdout      baseline ${fmtValue(rows[0]?.holdout_value)}, best ${fmtValue(best?.holdout_value)}`,
      );
      for (const r of holdouts) {
        const warning = r.holdout_json
          ? (JSON.parse(r.holdout_json) as { warning?: string }).warning
          : undefined;
        if (warning) lines.push(`warning      #${r.id}: ${warning}`);
      }
    }
    const drift = storedDrift(run.drift_json);
    if (drift) lines.push(`drift        ${driftLine(drift)}`);
    for (const e of s.inFlight) {
      if (e.state === 'running' && e.started_at) {
        const elapsed = (Date.now() - e.started_at) / 1000;
        lines.push(
          `in flight    #${e.id} ${e.title ?? ''}: running ${formatDuration(elapsed)} of ${formatDuration(config.budget)} ${bar(elapsed / config.budget, 16)}`,
        );
      } else lines.push(`in flight    #${e.id} ${e.state}${e.title ? `: ${e.title}` : ''}`);
    }
    const spend = ledger.spend(run.tag);
    if (spend.tokens > 0 || spend.priced > 0 || spend.measuredUsd > 0) {
      const stop =
        (JSON.parse(run.config_json) as { stop?: { experiments?: number; spend_usd?: number } })
          .stop ?? {};
      const left =
        stop.experiments !== undefined ? Math.max(0, stop.experiments - s.candidates) : undefined;
      const projected = projectSpend(
        spend.usd,
        spend.proposals,
        (Date.now() - run.created_at) / 3_600_000,
        { experiments: left },
      );
      lines.push(
        `spend        $${spend.usd.toFixed(2)} and ${spend.tokens.toLocaleString('en-US')} tokens so far` +
          (spend.measuredUsd > 0 || spend.measuredTokens > 0
            ? ` ($${spend.measuredUsd.toFixed(2)} and ${spend.measuredTokens.toLocaleString('en-US')} tokens metered by the experiments)`
            : '') +
          (projected !== null
            ? `; about $${projected.toFixed(2)} more for the ${count(left!, 'experiment')} left`
            : '') +
          (stop.spend_usd !== undefined ? ` (cap $${stop.spend_usd})` : '') +
          (spend.priced < spend.proposals
            ? ` (${count(spend.proposals - spend.priced, 'proposal')} without a known price)`
            : ''),
      );
    }
    if (s.lastRecorded) lines.push(`last         ${experimentLine(s.lastRecorded).trim()}`);
    lines.push(`results      ${relative(cwd, runPathsOf(repo, run).resultsTsv) || '.'}`);
    return {
      text: lines.join('\n'),
      json: {
        ...s,
        running: Boolean(pid),
        pid,
        drift: drift ?? null,
        ...(front ? { front: front.members } : {}),
      },
    };
  } finally {
    ledger.close();
  }
}

/** The drift watch's verdict for `status`: the drift while it lasts, else the latest one said, else the current look. */
function driftLine(d: DriftState): string {
  if (d.drifting) return `${d.sentence} (incumbent #${d.incumbent}, seen at #${d.experimentId})`;
  if (d.last)
    return `none now (incumbent #${d.incumbent}); the last, at #${d.last.experimentId}: ${d.last.sentence}`;
  return d.sentence;
}

export function registerInspect(program: Command): void {
  program
    .command('status')
    .description(
      'show a run: best value and commit, improvement over baseline, counts by status, the experiment in flight',
    )
    .option(...TAG_OPTION)
    .option('--json', 'machine-readable output')
    .addHelpText(
      'after',
      `
Examples:
  autoresearch status               # the most recent run
  autoresearch status --tag nov28 --json`,
    )
    .action(async (o: { tag?: string; json?: boolean }) => {
      const report = await statusReport(process.cwd(), o.tag);
      process.stdout.write((o.json ? JSON.stringify(report.json, null, 2) : report.text) + '\n');
    });

  program
    .command('results')
    .description('print the table of experiments of a run')
    .option(...TAG_OPTION)
    .option('--json', 'every ledger field of every experiment, as JSON')
    .addHelpText(
      'after',
      `
Examples:
  autoresearch results --tag nov28
  autoresearch results --json | jq '.[] | select(.status == "keep") | .title'`,
    )
    .action(async (o: { tag?: string; json?: boolean }) => {
      const { ledger, run } = await openLedgerFor(process.cwd(), o.tag);
      try {
        const rows = ledger.listExperiments(run.tag);
        if (o.json) {
          const out = rows.map((r) => ({
            ...r,
            metrics: r.metrics_json ? JSON.parse(r.metrics_json) : null,
            agent_meta: r.agent_meta_json ? JSON.parse(r.agent_meta_json) : null,
          }));
          process.stdout.write(JSON.stringify(out, null, 2) + '\n');
          return;
        }
        const color = Boolean(process.stdout.isTTY);
        process.stdout.write(`  id status    ${run.metric_name.padStart(10)} delta      change\n`);
        for (const r of rows)
          process.stdout.write(
            (r.state === 'recorded'
              ? experimentLine(r, color)
              : `#${r.id}`.padStart(4) + ` ${r.state}`) +
              (r.left_front_by !== null
                ? `  [left the front: #${r.left_front_by} dominates it]`
                : '') +
              '\n',
          );
        const front = frontOf(ledger, run, rows);
        if (front)
          process.stdout.write(
            `\nPareto front (${count(front.members.length, 'point')}):\n${front.lines.map((l) => `  ${l}\n`).join('')}`,
          );
      } finally {
        ledger.close();
      }
    });
}

export function registerReport(program: Command): void {
  program
    .command('report')
    .description(
      'write a self-contained report of a run (report.html, works offline) and its progress chart (chart.svg, chart.png)',
    )
    .option(...TAG_OPTION)
    .option('-o, --out <dir>', 'where to write (default .autoresearch/<tag>/report)')
    .addHelpText(
      'after',
      `
Examples:
  autoresearch report                 # .autoresearch/<tag>/report/report.html
  autoresearch report --tag nov28 -o /tmp/nov28`,
    )
    .action(async (o: { tag?: string; out?: string }) => {
      const { repo, ledger, run } = await openLedgerFor(process.cwd(), o.tag);
      ledger.close();
      const { writeReport } = await import('../../report/write.js');
      const r = await writeReport(repo, run.tag, o.out ? resolve(o.out) : undefined);
      process.stdout.write(
        `report  ${relative(process.cwd(), r.html)}\nchart   ${relative(process.cwd(), r.svg)}${r.png ? `\npng     ${relative(process.cwd(), r.png)}` : ''}\n`,
      );
      if (r.pngNote) process.stderr.write(`note: ${r.pngNote}\n`);
    });
}
