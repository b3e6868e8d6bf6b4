/** The run report as one self-contained HTML file: inline CSS and SVG, no external requests. Pure. */
import type { ExperimentRow, RunRow } from '../ledger/types.js';
import { sandboxOf, type RunSummary } from '../loop/summary.js';
import { formatDuration } from '../program/duration.js';
import { renderChartSvg } from './chart.js';
import { esc, fmtNum, shorten } from './escape.js';
import { count } from '../util/words.js';
import type { FrontMember, ParetoMetric } from '../loop/front-view.js';

export interface ReportOptions {
  /** The run's spend: the agent's and the experiments' metered (Ledger.spend). */
  spend?: { usd: number; tokens: number; priced: number; proposals: number };
  /** When the report was made (ms since the epoch; default now). */
  generatedAt?: number;
  /** A chart already rendered (default: rendered here). */
  chartSvg?: string;
  /** Pareto mode: the front's metrics and members (loop/front-view.ts). */
  front?: { metrics: ParetoMetric[]; members: FrontMember[] };
}

export interface KeptChange {
  row: ExperimentRow;
  /** Improvement over the incumbent it beat, in metric units (positive is better); null when unknown. */
  gain: number | null;
  gainPct: number | null;
}

/** Kept changes (the baseline excluded), best gain first. */
export function rankKept(rows: ExperimentRow[], goal: RunRow['goal']): KeptChange[] {
  const kept = rows.filter((r) => r.id > 0 && r.status === 'keep' && r.state === 'recorded');
  return kept
    .map((row) => {
      const { primary_value: v, incumbent_value: inc } = row;
      const gain = v !== null && inc !== null ? (goal === 'minimize' ? inc - v : v - inc) : null;
      const gainPct = gain !== null && inc ? (gain / Math.abs(inc)) * 100 : null;
      return { row, gain, gainPct };
    })
    .sort((a, b) => (b.gain ?? -Infinity) - (a.gain ?? -Infinity) || a.row.id - b.row.id);
}

/** Pareto mode: the members of the front, one row each, every metric a column. */
function frontTable(front: NonNullable<ReportOptions['front']>): string[] {
  const arrow = (m: ParetoMetric) => `${m.name} ${m.goal === 'minimize' ? '↓' : '↑'}`;
  return [
    `<h2>Pareto front (${count(front.members.length, 'point')})</h2>`,
    table(
      ['#', ...front.metrics.map(arrow), 'change', 'commit'],
      front.members.map((p) => [
        String(p.id),
        ...front.metrics.map((m) => esc(fmtNum(p.values[m.name] ?? null))),
        esc(shorten(p.title, 120)),
        `<code>${esc(p.commit.slice(0, 10))}</code>`,
      ]),
      [0, ...front.metrics.map((_, i) => i + 1)],
    ).replace('<table>', '<table class="front">'),
  ];
}

interface Config {
  metric?: { deterministic?: boolean; tolerance?: number };
  pareto?: Array<{ name: string; goal: string }> | null;
  decision?: { confidence?: number; min_effect?: number };
  repeats?: { baseline?: number; max?: number; confirm?: number; refresh_incumbent?: number };
  simplicity?: number;
  constraints?: string[];
  eval?: unknown;
  holdout?: unknown;
}

/** The decision rule in words, from the run's resolved front matter. */
function decisionRule(configJson: string): string[] {
  let c: Config = {};
  try {
    c = JSON.parse(configJson) as Config;
  } catch {
    return ["(the run's configuration could not be read)"];
  }
  const lines: string[] = [];
  if (c.pareto) {
    lines.push(
      `Pareto front over ${c.pareto.map((m) => `${m.name} (${m.goal})`).join(', ')}: each candidate is measured ${count(c.repeats?.max ?? 3, 'time')}, and joins the front when no member is as good on every metric, a difference counting only beyond the noise (one-sided t at ${fmtNum((c.decision?.confidence ?? 0.95) * 100)}% on the standard error of the two means, or the metric's tolerance); the members it beats on every metric leave the front.`,
    );
  } else if (c.metric?.deterministic) {
    lines.push(
      `Strict (deterministic metric): one run per candidate, kept on any improvement${c.metric.tolerance ? ` larger than ${fmtNum(c.metric.tolerance)}` : ''}.`,
    );
  } else {
    const conf = c.decision?.confidence ?? 0.95;
    const max = c.repeats?.max ?? 3;
    const confirm = c.repeats?.confirm ?? 2;
    lines.push(
      `Paired (noisy metric): the candidate and the incumbent are measured alternately, each candidate run paired with the incumbent run next to it in time, so a change of the machine's speed cancels; ` +
        `a candidate is kept when it has at least ${count(confirm, 'pair')} and a one-sided paired t-test says it is better with ${fmtNum(conf * 100)}% confidence` +
        ` (p < ${fmtNum(Number(((1 - conf) / (max - confirm + 1)).toPrecision(2)))} at each of the looks that may keep)` +
        (c.decision?.min_effect ? `, by at least ${fmtNum(c.decision.min_effect)}` : '') +
        '.',
    );
    lines.push(
      `Repeats: baseline measured ${count(c.repeats?.baseline ?? 3, 'time')}; a candidate gets up to ${count(max, 'pair')}; a first run that is not better than the incumbent's newest runs is discarded on that run while those runs are at most ${c.repeats?.refresh_incumbent ?? 5} experiments old and no drift is seen.`,
    );
  }
  if (c.simplicity) lines.push(`Simplicity penalty: ${fmtNum(c.simplicity)} per net added line.`);
  if (c.constraints?.length) lines.push(`Constraints: ${c.constraints.join(', ')}.`);
  lines.push(
    c.eval
      ? 'Metric computed by the protected eval command.'
      : "Metric read from the run's own output.",
  );
  if (c.holdout) lines.push('Kept candidates are also scored on a protected holdout.');
  return lines;
}

const CSS = `
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:0;background:#f6f8fa;color:#1f2328}
main{max-width:1080px;margin:0 auto;padding:24px}
h1{font-size:24px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px}
.sub{color:#59636e;margin-bottom:16px}
.cards{display:flex;flex-wrap:wrap;gap:12px}
.card{background:#fff;border:1px solid #d1d9e0;border-radius:8px;padding:12px 16px;min-width:150px}
.card .k{color:#59636e;font-size:12px;text-transform:uppercase;letter-spacing:.04em}.card .v{font-size:20px;font-weight:600}
.good{color:#1a7f37}.bad{color:#cf222e}
.chart{background:#fff;border:1px solid #d1d9e0;border-radius:8px;padding:8px;margin-top:16px;overflow-x:auto}
.chart svg{max-width:100%;height:auto}
table{border-collapse:collapse;width:100%;background:#fff;border:1px solid #d1d9e0}
th,td{text-align:left;padding:6px 10px;border-bottom:1px solid #eaeef2;font-size:13px;vertical-align:top}
th{background:#f6f8fa}td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
code{font-family:ui-monospace,Menlo,monospace;font-size:12px}
.empty{color:#59636e;font-style:italic}footer{color:#59636e;font-size:12px;margin-top:32px}
`;

function table(head: string[], rows: string[][], numeric: number[] = []): string {
  const th = head.map((h) => `<th>${esc(h)}</th>`).join('');
  const body = rows
    .map(
      (r) =>
        `<tr>${r.map((c, i) => `<td${numeric.includes(i) ? ' class="n"' : ''}>${c}</td>`).join('')}</tr>`,
    )
    .join('\n');
  return `<table><thead><tr>${th}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

const pct = (p: number | null) =>
  p === null || !Number.isFinite(p) ? '—' : `${p >= 0 ? '+' : ''}${p.toFixed(2)}%`;
const iso = (ms: number | null | undefined) =>
  ms
    ? new Date(ms)
        .toISOString()
        .replace('T', ' ')
        .replace(/\.\d+Z$/, ' UTC')
    : '—';

export function renderReportHtml(
  run: RunRow,
  rows: ExperimentRow[],
  summary: RunSummary,
  options: ReportOptions = {},
): string {
  const goal = run.goal;
  const chart =
    options.chartSvg ??
    renderChartSvg(rows, { metric: run.metric_name, goal, baseline: summary.baseline });
  const ranked = rankKept(rows, goal);
  const failures = rows.filter(
    (r) =>
      r.state === 'recorded' &&
      r.id > 0 &&
      ['crash', 'timeout', 'invalid', 'failed'].includes(r.status ?? ''),
  );
  const times = rows.map((r) => r.proposed_at).filter((t) => t > 0);
  const ends = rows.map((r) => r.recorded_at ?? 0).filter((t) => t > 0);
  const first = times.length ? Math.min(...times) : null;
  const last = ends.length ? Math.max(...ends) : null;
  const counts = Object.entries(summary.counts)
    .filter(([, n]) => n)
    .map(([k, n]) => `${n} ${k}`)
    .join(', ');
  const spend = options.spend;
  const improvement = summary.improvementPct;

  const card = (k: string, v: string, cls = '') =>
    `<div class="card"><div class="k">${esc(k)}</div><div class="v ${cls}">${v}</div></div>`;
  const out: string[] = [];
  out.push('<!DOCTYPE html>');
  out.push('<html lang="en"><head><meta charset="utf-8">');
  out.push('<meta name="viewport" content="width=device-width, initial-scale=1">');
  // Nothing may load from anywhere: no network, no scripts.
  out.push(
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">`,
  );
  out.push(`<title>autoresearch report: ${esc(run.tag)}</title>`);
  out.push(`<style>${CSS}</style></head><body><main>`);
  out.push(`<h1>autoresearch: ${esc(run.tag)}</h1>`);
  out.push(
    `<div class="sub">branch <code>${esc(run.branch)}</code> · ${esc(run.metric_name)} (${goal}) · ${esc(run.state)}${run.stop_reason ? `: ${esc(run.stop_reason)}` : ''}</div>`,
  );
  out.push('<div class="cards">');
  out.push(
    card('baseline → best', `${esc(fmtNum(summary.baseline))} → ${esc(fmtNum(summary.best))}`),
  );
  out.push(
    card(
      'improvement',
      esc(pct(improvement)),
      improvement === null ? '' : improvement > 0 ? 'good' : improvement < 0 ? 'bad' : '',
    ),
  );
  out.push(card('experiments', `${summary.candidates}`));
  out.push(card('kept', `${ranked.length}`));
  out.push(
    card(
      'time',
      first !== null && last !== null && last >= first
        ? esc(formatDuration((last - first) / 1000))
        : '—',
    ),
  );
  out.push(card('spend', spend ? `$${spend.usd.toFixed(2)}` : '—'));
  out.push('</div>');
  out.push(
    `<div class="sub" style="margin-top:8px">${esc(counts || 'no experiments recorded')}; ${esc(iso(first))} to ${esc(iso(last))}${spend && spend.tokens ? `; ${spend.tokens.toLocaleString('en-US')} tokens${spend.priced < spend.proposals ? ` (${spend.proposals - spend.priced} proposals without a known price)` : ''}` : ''}</div>`,
  );
  if (summary.bestExperiment !== null && summary.bestExperiment > 0) {
    out.push(
      `<div class="sub">best: #${summary.bestExperiment} <code>${esc((summary.bestCommit ?? '').slice(0, 10))}</code> ${esc(summary.bestTitle ?? '')}</div>`,
    );
  }
  out.push(`<div class="chart">${chart}</div>`);

  if (options.front) out.push(...frontTable(options.front));
  out.push('<h2>Kept changes, by gain</h2>');
  out.push(
    ranked.length
      ? table(
          ['rank', '#', 'change', run.metric_name, 'beat', 'gain', 'gain %', 'commit'],
          ranked.map((k, i) => [
            String(i + 1),
            String(k.row.id),
            `${esc(shorten(k.row.title, 120))}${k.row.hypothesis ? `<br><span class="sub">${esc(shorten(k.row.hypothesis, 200))}</span>` : ''}`,
            esc(fmtNum(k.row.primary_value)),
            esc(fmtNum(k.row.incumbent_value)),
            esc(k.gain === null ? '—' : fmtNum(k.gain)),
            esc(pct(k.gainPct)),
            `<code>${esc((k.row.candidate_commit ?? '').slice(0, 10))}</code>`,
          ]),
          [0, 1, 3, 4, 5, 6],
        ).replace('<table>', '<table class="kept">')
      : '<p class="empty">Nothing was kept beyond the baseline.</p>',
  );

  out.push('<h2>Crashes and other failures</h2>');
  out.push(
    failures.length
      ? table(
          ['#', 'status', 'change', 'reason'],
          failures.map((r) => [
            String(r.id),
            esc(r.status),
            esc(shorten(r.title, 80)),
            `<code>${esc(shorten(r.reason, 240))}</code>`,
          ]),
          [0],
        ).replace('<table>', '<table class="failures">')
      : '<p class="empty">No crashes, timeouts or invalid candidates.</p>',
  );

  const holdouts = rows.filter((r) => r.holdout_value !== null && r.state === 'recorded');
  if (holdouts.length) {
    out.push('<h2>Holdout vs validation</h2>');
    out.push(
      table(
        ['#', 'change', `validation ${run.metric_name}`, 'holdout', 'warning'],
        holdouts.map((r) => {
          let warning = '';
          try {
            warning = r.holdout_json
              ? String((JSON.parse(r.holdout_json) as { warning?: string }).warning ?? '')
              : '';
          } catch {
            // not JSON: nothing to say
          }
          return [
            String(r.id),
            esc(shorten(r.title, 80) || (r.id === 0 ? 'baseline' : '')),
            esc(fmtNum(r.primary_value)),
            esc(fmtNum(r.holdout_value)),
            esc(warning),
          ];
        }),
        [0, 2, 3],
      ),
    );
  }

  out.push('<h2>Decision rule</h2>');
  out.push(
    `<ul>${decisionRule(run.config_json)
      .map((l) => `<li>${esc(l)}</li>`)
      .join('')}</ul>`,
  );
  const sandbox = sandboxOf(run);
  out.push(
    `<h2>Sandbox</h2><p>${esc(sandbox ? sandbox.text : 'not recorded (a run from before the sandbox existed): agents and experiments were unsealed')}</p>`,
  );
  out.push(
    `<footer>Generated by autoresearch at ${esc(iso(options.generatedAt ?? Date.now()))} from the ledger of run ${esc(run.tag)}.</footer>`,
  );
  out.push('</main></body></html>');
  return out.join('\n');
}
