/** What a notification says, and how each webhook format wants it. Pure functions. */
import type { WebhookFormat } from './config.js';
import { count } from '../util/words.js';

interface RunCounts {
  [status: string]: number | undefined;
}

export type Notice =
  | {
      kind: 'new-best';
      tag: string;
      metric: string;
      goal: 'minimize' | 'maximize';
      value: number;
      previous: number | null;
      baseline: number | null;
      /** Improvement over the baseline in percent, positive when better for the goal. */
      improvementPct: number | null;
      experimentId: number;
      title: string;
      /** Pareto mode: the keep joined the front (no single best); `reason` says against whom. */
      front?: { reason: string };
    }
  | {
      kind: 'crashes';
      tag: string;
      count: number;
      /** The crashed experiments, oldest first, each with the first line of its reason. */
      experiments: { id: number; status: string; reason: string }[];
    }
  | {
      kind: 'stop';
      tag: string;
      reason: string;
      metric: string;
      goal: 'minimize' | 'maximize';
      experiments: number;
      counts: RunCounts;
      baseline: number | null;
      best: number | null;
      bestExperiment: number | null;
      bestTitle: string | null;
      improvementPct: number | null;
      spendUsd: number | null;
    }
  | {
      kind: 'drift';
      tag: string;
      metric: string;
      /** The drift watch's sentence, with its numbers. */
      sentence: string;
      /** The incumbent whose runs drifted, and the experiment during which it was seen. */
      incumbent: number;
      experimentId: number;
    }
  | {
      kind: 'digest';
      tag: string;
      metric: string;
      goal: 'minimize' | 'maximize';
      periodSeconds: number;
      experiments: number;
      keeps: number;
      crashes: number;
      best: number | null;
      baseline: number | null;
      improvementPct: number | null;
    };

export interface Delivery {
  body: string;
  headers: Record<string, string>;
}

function fmtNum(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—';
  if (v !== 0 && (Math.abs(v) >= 1e6 || Math.abs(v) < 1e-4)) return v.toExponential(3);
  return String(Number(v.toPrecision(6)));
}

function fmtPct(p: number | null | undefined): string {
  if (p === null || p === undefined || !Number.isFinite(p)) return '';
  return `${p >= 0 ? '+' : ''}${p.toFixed(2)}%`;
}

/** First line, trimmed and shortened. */
export function firstLine(text: string | null | undefined, max = 120): string {
  const line =
    (text ?? '')
      .split(/\r?\n/)
      .map((l) => l.trim())
      .find((l) => l !== '') ?? '';
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

function shortDuration(s: number): string {
  if (s % 86400 === 0) return `${s / 86400}d`;
  if (s % 3600 === 0) return `${s / 3600}h`;
  if (s % 60 === 0) return `${s / 60}m`;
  return `${Math.round(s)}s`;
}

function countsText(counts: RunCounts): string {
  return Object.entries(counts)
    .filter(([, n]) => n)
    .map(([k, n]) => `${n} ${k}`)
    .join(', ');
}

/** A one-line headline. */
function headline(n: Notice): string {
  switch (n.kind) {
    case 'new-best':
      if (n.front) return `[${n.tag}] #${n.experimentId} joins the Pareto front`;
      return `[${n.tag}] new best ${n.metric} ${fmtNum(n.value)}${n.improvementPct !== null ? ` (${fmtPct(n.improvementPct)} vs baseline)` : ''}`;
    case 'crashes':
      return `[${n.tag}] ${count(n.count, 'crash', 'crashes')} in a row`;
    case 'stop':
      return `[${n.tag}] run stopped: ${firstLine(n.reason, 80)}`;
    case 'digest':
      return `[${n.tag}] last ${shortDuration(n.periodSeconds)}: ${count(n.experiments, 'experiment')}, ${n.keeps} kept`;
    case 'drift':
      return `[${n.tag}] the machine drifts: ${n.metric} of the incumbent moved beyond the noise`;
  }
}

/** The details, a few short lines. */
function detailLines(n: Notice): string[] {
  switch (n.kind) {
    case 'new-best':
      if (n.front)
        return [`#${n.experimentId}: ${firstLine(n.title, 100)}`, firstLine(n.front.reason, 300)];
      return [
        `#${n.experimentId}: ${firstLine(n.title, 100)}`,
        `${n.metric} ${fmtNum(n.previous)} → ${fmtNum(n.value)} (${n.goal}); baseline ${fmtNum(n.baseline)}`,
      ];
    case 'crashes':
      return n.experiments.map(
        (e) => `#${e.id} ${e.status}: ${firstLine(e.reason, 100) || '(no reason recorded)'}`,
      );
    case 'stop': {
      const counts = countsText(n.counts);
      return [
        `${count(n.experiments, 'experiment')}${counts ? ` (${counts})` : ''}`,
        `${n.metric} baseline ${fmtNum(n.baseline)} → best ${fmtNum(n.best)}${n.improvementPct !== null ? ` (${fmtPct(n.improvementPct)})` : ''}`,
        ...(n.bestExperiment !== null && n.bestExperiment > 0
          ? [`best: #${n.bestExperiment} ${firstLine(n.bestTitle, 80)}`]
          : []),
        ...(n.spendUsd !== null ? [`spend $${n.spendUsd.toFixed(2)}`] : []),
      ];
    }
    case 'drift':
      return [
        firstLine(n.sentence, 400),
        `seen at #${n.experimentId} on the incumbent #${n.incumbent}; until it ends, every candidate is measured next to a fresh run of the incumbent`,
      ];
    case 'digest':
      return [
        `${count(n.experiments, 'experiment')}, ${n.keeps} kept, ${n.crashes} crashed`,
        `best ${n.metric} now ${fmtNum(n.best)}${n.improvementPct !== null ? ` (${fmtPct(n.improvementPct)} vs baseline ${fmtNum(n.baseline)})` : ''}`,
      ];
  }
}

function plainText(n: Notice): string {
  return [headline(n), ...detailLines(n)].join('\n');
}

/** Generic JSON: every number, plus the text. */
export function jsonPayload(n: Notice): Record<string, unknown> {
  return { source: 'autoresearch', ...n, text: plainText(n) };
}

/** Slack's mrkdwn treats `<...>` as links and mentions (`<!channel>`): escape &, <, > as Slack asks. */
function slackEscape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export function slackPayload(n: Notice): { text: string; blocks: unknown[] } {
  const head = slackEscape(headline(n));
  const details = detailLines(n).map(slackEscape);
  return {
    text: [head, ...details].join('\n'),
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: `*${head}*` } },
      ...(details.length
        ? [{ type: 'section', text: { type: 'mrkdwn', text: details.join('\n') } }]
        : []),
    ],
  };
}

const DISCORD_COLORS: Record<Notice['kind'], number> = {
  'new-best': 0x2ea043,
  crashes: 0xd73a49,
  stop: 0x0969da,
  digest: 0x8b949e,
  drift: 0xbf8700,
};

export function discordPayload(n: Notice): {
  content: string;
  embeds: unknown[];
  allowed_mentions: { parse: string[] };
} {
  const head = headline(n);
  return {
    content: head.slice(0, 2000),
    embeds: [
      {
        title: head.slice(0, 256),
        description: detailLines(n).join('\n').slice(0, 4096),
        color: DISCORD_COLORS[n.kind],
      },
    ],
    // Titles come from agents: never let them ping @everyone.
    allowed_mentions: { parse: [] },
  };
}

/** Header values must be one line of Latin-1; others go as RFC 2047 encoded words, which ntfy decodes. */
function headerValue(text: string): string {
  const line = text.replace(/[\r\n]+/g, ' ').slice(0, 200);
  return /^[\x20-\x7e]*$/.test(line)
    ? line
    : `=?UTF-8?B?${Buffer.from(line, 'utf8').toString('base64')}?=`;
}

const NTFY_TAGS: Record<Notice['kind'], string> = {
  'new-best': 'tada',
  crashes: 'rotating_light',
  stop: 'checkered_flag',
  digest: 'bar_chart',
  drift: 'warning',
};
const NTFY_PRIORITY: Record<Notice['kind'], string> = {
  'new-best': '4',
  crashes: '4',
  stop: '3',
  digest: '2',
  drift: '3',
};

export function ntfyPayload(n: Notice): Delivery {
  return {
    body: detailLines(n).join('\n') || headline(n),
    headers: {
      'Content-Type': 'text/plain; charset=utf-8',
      Title: headerValue(headline(n)),
      Tags: NTFY_TAGS[n.kind],
      Priority: NTFY_PRIORITY[n.kind],
    },
  };
}

/** The HTTP body and headers for a notice in a webhook's format. */
export function buildDelivery(format: WebhookFormat, n: Notice): Delivery {
  const json = (value: unknown): Delivery => ({
    body: JSON.stringify(value),
    headers: { 'Content-Type': 'application/json' },
  });
  switch (format) {
    case 'json':
      return json(jsonPayload(n));
    case 'slack':
      return json(slackPayload(n));
    case 'discord':
      return json(discordPayload(n));
    case 'ntfy':
      return ntfyPayload(n);
  }
}
