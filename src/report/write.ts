/** `autoresearch report`: reads the ledger, writes report.html, chart.svg and (with chromium) chart.png. */
import { spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Ledger } from '../ledger/ledger.js';
import { frontMembers, paretoMetrics } from '../loop/front-view.js';
import { ledgerPath, runPaths } from '../loop/context.js';
import { summarize } from '../loop/summary.js';
import { readRef } from '../workspace/git.js';
import { renderChartSvg } from './chart.js';
import { renderReportHtml } from './html.js';

export const CHROMIUM = '/usr/bin/chromium';
/**
 * Headless Chromium still builds its omnibox popup (a WebUI renderer) at start, for a window
 * nobody sees: 4.0-4.4 CPU-seconds per chart.png with it, 3.5 without, on a 2-core VM. (Chromium
 * takes the last --disable-features only: this is the one.)
 */
const NO_OMNIBOX =
  '--disable-features=WebUIOmniboxPopup,WebUIOmniboxAimPopup,WebUIOmniboxFullPopup';
const PNG_MAGIC = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

export interface WrittenReport {
  dir: string;
  html: string;
  svg: string;
  /** chart.png, or null when it could not be made (see pngNote). */
  png: string | null;
  pngNote?: string;
}

function reportDir(repo: string, tag: string): string {
  return join(runPaths(repo, tag).runDir, 'report');
}

export async function writeReport(
  repo: string,
  tag: string,
  outDir?: string,
  opts: { chromium?: string | null } = {},
): Promise<WrittenReport> {
  const path = ledgerPath(repo);
  if (!existsSync(path)) throw new Error(`no ledger at ${path}: run autoresearch first`);
  const ledger = new Ledger(path);
  let html: string;
  let svg: string;
  try {
    const run = ledger.getRun(tag);
    if (!run)
      throw new Error(
        `no run "${tag}" in the ledger (runs: ${
          ledger
            .listRuns()
            .map((r) => r.tag)
            .join(', ') || 'none'
        })`,
      );
    const rows = ledger.listExperiments(tag);
    const head = await readRef(repo, `refs/heads/${run.branch}`).catch(() => null);
    const summary = summarize(run, rows, head);
    svg = renderChartSvg(rows, {
      metric: run.metric_name,
      goal: run.goal,
      baseline: summary.baseline,
    });
    const pareto = paretoMetrics(run);
    const front = pareto
      ? {
          metrics: pareto,
          members: frontMembers(pareto, rows, (id) => ledger.measurementsOf(tag, id)),
        }
      : undefined;
    html = renderReportHtml(run, rows, summary, {
      spend: ledger.spend(tag),
      chartSvg: svg,
      ...(front ? { front } : {}),
    });
  } finally {
    ledger.close();
  }
  const dir = outDir ?? reportDir(repo, tag);
  mkdirSync(dir, { recursive: true });
  const files = { dir, html: join(dir, 'report.html'), svg: join(dir, 'chart.svg') };
  writeFileSync(files.html, html);
  writeFileSync(files.svg, svg);
  const chromium = opts.chromium === undefined ? CHROMIUM : opts.chromium;
  if (!chromium || !existsSync(chromium))
    return {
      ...files,
      png: null,
      pngNote: `no PNG: ${chromium ?? 'chromium'} not found (the SVG is the chart)`,
    };
  const png = join(dir, 'chart.png');
  const problem = await renderPng(chromium, svg, png);
  return problem ? { ...files, png: null, pngNote: `no PNG: ${problem}` } : { ...files, png };
}

function svgSize(svg: string): { width: number; height: number } {
  const m = /<svg[^>]*\bwidth="(\d+)"[^>]*\bheight="(\d+)"/.exec(svg);
  return m ? { width: Number(m[1]), height: Number(m[2]) } : { width: 1000, height: 520 };
}

/**
 * Screenshots the SVG with headless chromium; returns why it failed, or null. `omniboxPopup`
 * (only `npm run bench chromium` sets it) lets Chromium build the popup, to measure what it costs.
 */
export async function renderPng(
  chromium: string,
  svg: string,
  out: string,
  opts: { timeoutMs?: number; omniboxPopup?: boolean } = {},
): Promise<string | null> {
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const work = mkdtempSync(join(tmpdir(), 'ar-png-'));
  try {
    const { width, height } = svgSize(svg);
    const page = join(work, 'chart.html');
    writeFileSync(
      page,
      `<!DOCTYPE html><html><head><meta charset="utf-8"><style>html,body{margin:0;padding:0;background:#fff;overflow:hidden}svg{display:block}</style></head><body>${svg}</body></html>`,
    );
    rmSync(out, { force: true });
    const args = [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--no-default-browser-check',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-extensions',
      '--hide-scrollbars',
      '--force-device-scale-factor=1',
      ...(opts.omniboxPopup ? [] : [NO_OMNIBOX]),
      `--user-data-dir=${join(work, 'profile')}`,
      `--screenshot=${out}`,
      `--window-size=${width},${height}`,
      pathToFileURL(page).href,
    ];
    const result = await new Promise<{ code: number | null; err: string }>((resolve) => {
      const child = spawn(chromium, args, { stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      child.stderr!.on('data', (d) => (err = (err + d).slice(-4000)));
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      child.on('error', (e) => {
        clearTimeout(timer);
        resolve({ code: -1, err: e.message });
      });
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code, err });
      });
    });
    if (!existsSync(out) || statSync(out).size < 100) {
      const last = result.err.trim().split('\n').filter(Boolean).at(-1) ?? '';
      return `chromium did not write a screenshot (exit ${result.code})${last ? `: ${last}` : ''}`;
    }
    if (!readFileSync(out).subarray(0, 8).equals(PNG_MAGIC))
      return 'chromium wrote something that is not a PNG';
    return null;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
