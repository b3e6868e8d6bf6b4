/** The "N experiments, K kept" progress chart as a standalone SVG. Pure. */
import type { ExperimentRow, Goal } from '../ledger/types.js';
import { esc, fmtNum, shorten } from './escape.js';

export interface ChartOptions {
  metric: string;
  goal: Goal;
  baseline: number | null;
  width?: number;
  height?: number;
}

const CHART_COLORS = {
  keep: '#2ea043',
  discard: '#9ca3af',
  failed: '#d73a49',
  best: '#2ea043',
  baseline: '#6b7280',
} as const;

/** Outcomes drawn as points; the others (skipped, failed proposals, interrupted) never ran. */
const PLOTTED = new Set(['keep', 'discard', 'crash', 'timeout', 'invalid']);
const FAILED = new Set(['crash', 'timeout', 'invalid']);

type PointClass = 'keep' | 'discard' | 'failed';

function pointClass(status: string | null): PointClass {
  return status === 'keep' ? 'keep' : status === 'discard' ? 'discard' : 'failed';
}

/** Rows the chart draws: recorded experiments that ran, in id order. */
function chartRows(rows: ExperimentRow[]): ExperimentRow[] {
  return rows
    .filter((r) => r.state === 'recorded' && r.status !== null && PLOTTED.has(r.status))
    .sort((a, b) => a.id - b.id);
}

/** Ticks at 1, 2 or 5 times a power of ten. */
function niceTicks(lo: number, hi: number, target = 6): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / target;
  const p = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * p).find((s) => s >= raw) ?? 10 * p;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step)
    out.push(Number(v.toPrecision(12)));
  return out;
}

/** The best value so far at each kept experiment (monotone for the goal). */
export function runningBest(
  rows: ExperimentRow[],
  goal: Goal,
  baseline: number | null,
): { id: number; value: number }[] {
  const keeps = chartRows(rows).filter(
    (r) => r.status === 'keep' && r.primary_value !== null && Number.isFinite(r.primary_value),
  );
  const steps: { id: number; value: number }[] = [];
  if (baseline !== null && Number.isFinite(baseline) && keeps[0]?.id !== 0)
    steps.push({ id: 0, value: baseline });
  for (const r of keeps) {
    const v = r.primary_value!;
    const best = steps.at(-1)?.value;
    if (best === undefined || (goal === 'minimize' ? v < best : v > best))
      steps.push({ id: r.id, value: v });
  }
  return steps;
}

export function renderChartSvg(rows: ExperimentRow[], options: ChartOptions): string {
  const W = options.width ?? 1000;
  const H = options.height ?? 520;
  const m = { left: 72, right: 24, top: 48, bottom: 60 };
  const pw = W - m.left - m.right;
  const ph = H - m.top - m.bottom;
  const plotted = chartRows(rows);
  const experiments = plotted.filter((r) => r.id > 0);
  const kept = experiments.filter((r) => r.status === 'keep');
  const baseline = options.baseline ?? plotted.find((r) => r.id === 0)?.primary_value ?? null;
  const title = `${experiments.length} experiment${experiments.length === 1 ? '' : 's'}, ${kept.length} kept`;

  // y range: the kept values and the baseline, widened to take in nearby others; outliers sit on the edge.
  const finite = (v: number | null): v is number => v !== null && Number.isFinite(v);
  const core = [
    ...plotted.filter((r) => r.status === 'keep').map((r) => r.primary_value),
    baseline,
  ].filter(finite);
  const all = plotted.map((r) => r.primary_value).filter(finite);
  let lo = Math.min(...(core.length ? core : all.length ? all : [0]));
  let hi = Math.max(...(core.length ? core : all.length ? all : [1]));
  const span = hi - lo || Math.abs(hi) * 0.1 || 1;
  for (const v of all) {
    if (v >= lo - 2 * span && v <= hi + 2 * span) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
  }
  const pad = (hi - lo || span) * 0.08;
  lo -= pad;
  hi += pad;
  const failLane = m.top + ph + 0; // failed runs without a value sit on the x axis
  const maxId = Math.max(1, ...plotted.map((r) => r.id));
  const x = (id: number) => m.left + 10 + (id / maxId) * (pw - 20);
  const y = (v: number) => m.top + ((hi - v) / (hi - lo)) * ph;
  const clampY = (v: number) => Math.min(m.top + ph, Math.max(m.top, y(v)));
  const f = (n: number) => n.toFixed(1);

  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="Helvetica, Arial, sans-serif" font-size="12">`,
  );
  out.push(`<title>${esc(title)}</title>`);
  out.push(
    `<style>.pt{stroke:#fff;stroke-width:1}.keep{fill:${CHART_COLORS.keep}}.discard{fill:${CHART_COLORS.discard}}.failed{fill:${CHART_COLORS.failed}}.label{font-size:11px;fill:#1f2937}.tick{fill:#4b5563}.grid{stroke:#e5e7eb}</style>`,
  );
  out.push(`<rect x="0" y="0" width="${W}" height="${H}" fill="#ffffff"/>`);
  out.push(
    `<text x="${W / 2}" y="28" text-anchor="middle" font-size="18" font-weight="bold" class="chart-title">${esc(title)}</text>`,
  );

  // axes, grid, ticks
  out.push('<g class="axes">');
  for (const t of niceTicks(lo, hi)) {
    const ty = f(y(t));
    out.push(`<line class="grid" x1="${m.left}" x2="${m.left + pw}" y1="${ty}" y2="${ty}"/>`);
    out.push(
      `<text class="tick" x="${m.left - 6}" y="${ty}" dy="4" text-anchor="end">${esc(fmtNum(t))}</text>`,
    );
  }
  for (const t of niceTicks(0, maxId, 10).filter((t) => Number.isInteger(t))) {
    out.push(
      `<line stroke="#6b7280" x1="${f(x(t))}" x2="${f(x(t))}" y1="${m.top + ph}" y2="${m.top + ph + 5}"/>`,
    );
    out.push(
      `<text class="tick" x="${f(x(t))}" y="${m.top + ph + 18}" text-anchor="middle">${t}</text>`,
    );
  }
  out.push(
    `<line stroke="#374151" x1="${m.left}" x2="${m.left}" y1="${m.top}" y2="${m.top + ph}"/>`,
  );
  out.push(
    `<line stroke="#374151" x1="${m.left}" x2="${m.left + pw}" y1="${m.top + ph}" y2="${m.top + ph}"/>`,
  );
  out.push(
    `<text x="${m.left + pw / 2}" y="${H - 14}" text-anchor="middle" font-size="13">experiment</text>`,
  );
  out.push(
    `<text x="18" y="${m.top + ph / 2}" text-anchor="middle" font-size="13" transform="rotate(-90 18 ${m.top + ph / 2})">${esc(options.metric)} (${options.goal === 'minimize' ? 'lower' : 'higher'} is better)</text>`,
  );
  out.push('</g>');

  if (baseline !== null && Number.isFinite(baseline)) {
    out.push(
      `<line class="baseline" stroke="${CHART_COLORS.baseline}" stroke-width="1.5" stroke-dasharray="6 4" x1="${m.left}" x2="${m.left + pw}" y1="${f(clampY(baseline))}" y2="${f(clampY(baseline))}"/>`,
    );
    out.push(
      `<text class="tick" x="${m.left + pw - 4}" y="${f(clampY(baseline) - 5)}" text-anchor="end">baseline ${esc(fmtNum(baseline))}</text>`,
    );
  }

  // the running best as a step line, to the last experiment
  const steps = runningBest(rows, options.goal, baseline);
  if (steps.length) {
    let d = `M${f(x(steps[0]!.id))},${f(clampY(steps[0]!.value))}`;
    for (const s of steps.slice(1)) d += ` H${f(x(s.id))} V${f(clampY(s.value))}`;
    d += ` H${f(x(maxId))}`;
    out.push(
      `<path class="best-line" d="${d}" fill="none" stroke="${CHART_COLORS.best}" stroke-width="2"/>`,
    );
  }

  // points: discards first so keeps are on top
  const order: PointClass[] = ['discard', 'failed', 'keep'];
  out.push('<g class="points">');
  for (const cls of order) {
    for (const r of plotted) {
      if (pointClass(r.status) !== cls) continue;
      const v = r.primary_value;
      const cx = f(x(r.id));
      const cy = finite(v) ? f(clampY(v)) : f(failLane);
      const tip = `#${r.id} ${r.status}${finite(v) ? ` ${fmtNum(v)}` : ''}: ${shorten(r.title, 80)}${FAILED.has(r.status ?? '') && r.reason ? ` (${shorten(r.reason, 80)})` : ''}`;
      out.push(
        `<circle class="pt ${cls}" data-id="${r.id}" cx="${cx}" cy="${cy}" r="${cls === 'keep' ? 5 : 4}"><title>${esc(tip)}</title></circle>`,
      );
    }
  }
  out.push('</g>');

  // labels for kept changes, alternating above and below
  out.push('<g class="labels">');
  kept.forEach((r, i) => {
    if (!finite(r.primary_value)) return;
    const cx = x(r.id);
    const cy = clampY(r.primary_value);
    const above = i % 2 === 0;
    const ly = Math.min(m.top + ph - 4, Math.max(m.top + 10, above ? cy - 10 : cy + 18));
    const anchor = cx > m.left + pw * 0.85 ? 'end' : 'start';
    out.push(
      `<text class="label" x="${f(cx + (anchor === 'end' ? -4 : 4))}" y="${f(ly)}" text-anchor="${anchor}">${esc(shorten(r.title, 28))}</text>`,
    );
  });
  out.push('</g>');

  // legend
  const lx = m.left + 10;
  const ly = m.top + 8;
  const legend: [string, string][] = [
    [CHART_COLORS.keep, 'kept'],
    [CHART_COLORS.discard, 'discarded'],
    [CHART_COLORS.failed, 'crash / timeout / invalid'],
  ];
  out.push('<g class="legend">');
  legend.forEach(([color, text], i) => {
    out.push(
      `<circle cx="${lx + i * 120}" cy="${ly}" r="4" fill="${color}"/><text x="${lx + 8 + i * 120}" y="${ly + 4}" class="tick">${text}</text>`,
    );
  });
  out.push('</g>');
  out.push('</svg>');
  return out.join('\n');
}
