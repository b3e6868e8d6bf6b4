import { describe, expect, it } from 'vitest';
import type { ExperimentRow, RunRow } from '../../src/ledger/types.js';
import { summarize } from '../../src/loop/summary.js';
import { renderChartSvg, runningBest } from '../../src/report/chart.js';
import { rankKept, renderReportHtml } from '../../src/report/html.js';
import { strayAngles, tableRows, tags, text } from './markup.js';

const HOSTILE = `<script>alert("x")</script> & 'q' <img src=x onerror=alert(1)>`;

function row(
  id: number,
  status: ExperimentRow['status'],
  value: number | null,
  extra: Partial<ExperimentRow> = {},
): ExperimentRow {
  return {
    run_tag: 't',
    id,
    slot: 0,
    state: 'recorded',
    status,
    reason: null,
    agent: 'command',
    title: `change ${id}`,
    hypothesis: null,
    candidate_commit: `c${id}`.padEnd(40, '0'),
    incumbent_value: null,
    primary_value: value,
    proposed_at: 1_000_000 + id * 60_000,
    recorded_at: 1_000_000 + id * 60_000 + 30_000,
    holdout_value: null,
    holdout_json: null,
    cost_usd: 0.01,
    ...extra,
  } as unknown as ExperimentRow;
}

// minimize: baseline 1.0; keeps at 2 (0.9), 5 (0.85), 7 (0.7)
const ROWS: ExperimentRow[] = [
  row(0, 'keep', 1.0, { title: 'baseline' }),
  row(1, 'discard', 1.05),
  row(2, 'keep', 0.9, { incumbent_value: 1.0, title: HOSTILE }),
  row(3, 'crash', null, { reason: 'Traceback <module>\nboom' }),
  row(4, 'timeout', null, { reason: 'killed after 10s' }),
  row(5, 'keep', 0.85, { incumbent_value: 0.9, title: 'small gain' }),
  row(6, 'invalid', null, { reason: 'edited exp.sh "protected"' }),
  row(7, 'keep', 0.7, { incumbent_value: 0.85, title: 'biggest gain' }),
  row(8, 'discard', 0.75),
  row(9, 'failed', null, { reason: 'agent failed' }),
  row(10, 'skipped', null),
];

const RUN: RunRow = {
  tag: 't',
  branch: 'autoresearch/t',
  created_at: 1_000_000,
  updated_at: 2_000_000,
  program_path: 'program.md',
  program_dir: '',
  base_commit: 'b'.repeat(40),
  metric_name: 'val_bpb',
  goal: 'minimize',
  config_json: JSON.stringify({
    metric: { deterministic: false },
    decision: { confidence: 0.9, min_effect: 0 },
    repeats: { baseline: 5, max: 4, refresh_incumbent: 25 },
  }),
  protected_json: '{}',
  state: 'finished',
  stop_reason: 'reached 10 experiments',
  pid: null,
  heartbeat_at: null,
  work_dir: null,
};

const SVG_TAGS = new Set(['svg', 'title', 'style', 'rect', 'text', 'line', 'path', 'circle', 'g']);
const HTML_TAGS = new Set([
  ...SVG_TAGS,
  'html',
  'head',
  'meta',
  'body',
  'main',
  'h1',
  'h2',
  'div',
  'span',
  'code',
  'table',
  'thead',
  'tbody',
  'tr',
  'th',
  'td',
  'p',
  'ul',
  'li',
  'br',
  'footer',
]);

describe('the progress chart', () => {
  const svg = renderChartSvg(ROWS, { metric: 'val_bpb', goal: 'minimize', baseline: 1.0 });

  it('is well-formed SVG with one point per experiment, coloured by outcome', () => {
    const points = [...svg.matchAll(/<circle class="pt (\w+)" data-id="(\d+)"/g)].map((m) => ({
      cls: m[1],
      id: Number(m[2]),
    }));
    expect(
      points
        .filter((p) => p.cls === 'keep')
        .map((p) => p.id)
        .sort((a, b) => a - b),
    ).toEqual([0, 2, 5, 7]);
    expect(
      points
        .filter((p) => p.cls === 'discard')
        .map((p) => p.id)
        .sort((a, b) => a - b),
    ).toEqual([1, 8]);
    expect(
      points
        .filter((p) => p.cls === 'failed')
        .map((p) => p.id)
        .sort((a, b) => a - b),
    ).toEqual([3, 4, 6]);
    expect(svg).toContain('8 experiments, 3 kept'); // failed proposals and skips never ran
    expect(svg).toContain('stroke-dasharray'); // the baseline
    expect(svg.match(/class="label"/g)).toHaveLength(3);
  });

  it('draws the running best as a step line that only goes down, and only at keeps', () => {
    expect(runningBest(ROWS, 'minimize', 1.0)).toEqual([
      { id: 0, value: 1.0 },
      { id: 2, value: 0.9 },
      { id: 5, value: 0.85 },
      { id: 7, value: 0.7 },
    ]);
    const d = /class="best-line" d="([^"]+)"/.exec(svg)![1]!;
    const vs = [...d.matchAll(/V([\d.]+)/g)].map((m) => Number(m[1]));
    const hs = [...d.matchAll(/H([\d.]+)/g)].map((m) => Number(m[1]));
    expect(vs).toHaveLength(3);
    // SVG y grows downward: a lower value for minimize is a larger y, each step.
    const y0 = Number(/^M[\d.]+,([\d.]+)/.exec(d)![1]);
    [y0, ...vs].reduce((prev, v) => (expect(v).toBeGreaterThan(prev), v));
    // each step is at a kept point's x
    const keptX = [2, 5, 7].map((id) =>
      Number(new RegExp(`data-id="${id}" cx="([\\d.]+)"`).exec(svg)![1]),
    );
    expect(hs.slice(0, 3)).toEqual(keptX);
    // maximize: only goes up
    const up = runningBest(
      [row(0, 'keep', 1), row(1, 'keep', 2), row(2, 'keep', 1.5), row(3, 'keep', 3)],
      'maximize',
      1,
    ).map((s) => s.value);
    expect(up).toEqual([1, 2, 3]);
  });

  it('escapes hostile titles: no injected element', () => {
    expect(strayAngles(svg)).toBe(0);
    for (const t of tags(svg)) {
      expect(SVG_TAGS.has(t.name), t.name).toBe(true);
      expect(Object.keys(t.attrs).filter((a) => a.startsWith('on'))).toEqual([]);
    }
    expect(text(svg)).toContain(`<script>alert("x")</script> & 'q'`);
  });
});

describe('the HTML report', () => {
  const summary = summarize(RUN, ROWS, 'c7'.padEnd(40, '0'));
  const html = renderReportHtml(RUN, ROWS, summary, {
    spend: { usd: 0.1, tokens: 1234, priced: 10, proposals: 10 },
    generatedAt: 2_000_000,
  });
  const all = tags(html);

  it('loads nothing from anywhere', () => {
    for (const t of all)
      expect(`${t.attrs.src ?? ''}${t.attrs.href ?? ''}`).not.toMatch(/http|\/\//);
    expect(
      all.filter((t) => ['script', 'link', 'iframe', 'img', 'object', 'embed'].includes(t.name)),
    ).toEqual([]);
    expect(html).not.toMatch(/url\(|@import/);
  });

  it('escapes hostile titles and reasons', () => {
    expect(strayAngles(html.replace('<!DOCTYPE html>', ''))).toBe(0);
    for (const t of all) {
      expect(HTML_TAGS.has(t.name), t.name).toBe(true);
      expect(Object.keys(t.attrs).filter((a) => a.startsWith('on'))).toEqual([]);
    }
    expect(text(html)).toContain('<script>alert("x")</script>');
    expect(text(html)).toContain('edited exp.sh "protected"');
  });

  it('ranks kept changes by their gain over the incumbent they beat', () => {
    expect(rankKept(ROWS, 'minimize').map((k) => k.row.id)).toEqual([7, 2, 5]);
    const kept = tableRows(html, 'kept');
    expect(kept.map((r) => r[1])).toEqual(['7', '2', '5']);
    expect(kept[0]![2]).toContain('biggest gain');
    expect(kept.map((r) => r[5])).toEqual(['0.15', '0.1', '0.05']);
  });

  it('shows baseline to best, failures with reasons, time, spend and the decision rule', () => {
    const body = text(html);
    expect(body).toContain('1 → 0.7');
    expect(body).toContain('+30.00%');
    expect(tableRows(html, 'failures').map((r) => r[0])).toEqual(['3', '4', '6', '9']);
    expect(body).toContain('Traceback <module>');
    expect(body).toContain('$0.10');
    expect(body).toContain('10m 30s'); // first proposal to last record
    expect(body).toContain('90% confidence');
    expect(body).toContain('baseline measured 5 times');
    expect(body).not.toContain('Holdout vs validation');
    const withHoldout = renderReportHtml(
      RUN,
      ROWS.map((r) => (r.id === 7 ? { ...r, holdout_value: 0.72 } : r)),
      summary,
    );
    expect(withHoldout).toContain('Holdout vs validation');
    expect(withHoldout).toContain('0.72');
  });
});
