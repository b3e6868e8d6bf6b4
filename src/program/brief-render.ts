/** The Brief as Markdown, within a token budget. Pure. */
import type { Brief, BriefFront } from './brief.js';
import { lessonsSection, plateauSection, repeatsSection } from './brief-memory.js';
import { parentSection } from './brief-parent.js';

const fmt = (v: number | null) => (v === null ? '—' : Number(v.toPrecision(7)).toString());
const fmtDelta = (v: number | null) =>
  v === null ? '' : `${v > 0 ? '+' : ''}${Number(v.toPrecision(4))}`;
const sig2 = (v: number) => Number(v.toPrecision(2)).toString();
const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** About four characters per token for English and code: enough to keep a brief under a budget. */
const CHARS_PER_TOKEN = 4;

/**
 * Renders the brief within `maxTokens` (approximately). It degrades in steps that keep it
 * readable: older history rows are folded into the counts, log tails and failure details get
 * shorter, then the directions are cut at a line boundary with a note. Nothing is cut mid-line.
 */
export function renderBriefWithin(brief: Brief, maxTokens: number): string {
  const limit = maxTokens * CHARS_PER_TOKEN;
  let b = brief;
  let text = renderBrief(b);
  while (text.length > limit && b.history.length > 5) {
    const drop = Math.max(1, Math.floor(b.history.length / 4));
    const olderSummary = { ...b.olderSummary };
    for (const h of b.history.slice(0, drop))
      olderSummary[h.status] = (olderSummary[h.status] ?? 0) + 1;
    const shown = new Set(b.history.slice(drop).map((h) => h.id));
    b = {
      ...b,
      history: b.history.slice(drop),
      olderSummary,
      nearMisses: b.nearMisses.filter((m) => shown.has(m.id)),
    };
    text = renderBrief(b);
  }
  // Lessons are the run's memory: the newest few stay longest.
  for (const keep of [6, 3]) {
    if (text.length <= limit || b.lessons.length <= keep) continue;
    b = { ...b, lessons: b.lessons.slice(-keep) };
    text = renderBrief(b);
  }
  for (const lines of [8, 3, 0]) {
    if (text.length <= limit) break;
    // A log's end says how it died; a failure's detail (the failing assertion) starts with what matters.
    const tail = (t?: string) =>
      t ? t.split('\n').slice(-lines).join('\n') || undefined : undefined;
    const head = (t?: string) =>
      t && lines > 0 ? t.split('\n').slice(0, lines).join('\n') : undefined;
    b = {
      ...b,
      failures: b.failures.map((f) => ({
        ...f,
        logTail: lines ? tail(f.logTail) : undefined,
        detail: head(f.detail),
      })),
    };
    text = renderBrief(b);
  }
  if (text.length > limit) {
    const over = text.length - limit;
    const kept: string[] = [];
    let size = 0;
    const budget = Math.max(0, b.directions.length - over - 200);
    for (const line of b.directions.split('\n')) {
      if (size + line.length + 1 > budget) break;
      kept.push(line);
      size += line.length + 1;
    }
    b = {
      ...b,
      directions: `${kept.join('\n')}\n\n(the rest of program.md is left out to keep this brief under ${maxTokens} tokens)`,
    };
    text = renderBrief(b);
  }
  return text;
}

function frontObjective(front: BriefFront): string[] {
  const goals = front.metrics.map((m) => `\`${m.name}\` (${m.goal})`).join(', ');
  return [
    `- Improve the trade-off between ${goals}: a Pareto front, not one best value.`,
    '- A change is kept when no point of the front is as good on every metric (differences within the noise do not count); the points it beats on every metric leave the front.',
  ];
}

function frontSection(front: BriefFront): string[] {
  return [
    `## Pareto front (${front.members.length} points)`,
    '',
    ...front.members.map(
      (p) =>
        `- experiment ${p.id}: ${front.metrics.map((m) => `${m.name} = ${fmt(p.values[m.name] ?? null)}`).join(', ')}: ${p.title}`,
    ),
    '',
  ];
}

export function renderBrief(brief: Brief): string {
  const o = brief.objective;
  const lines: string[] = [];
  lines.push(`# Research brief for experiment ${brief.experimentId}`, '');
  lines.push('## Objective', '');
  if (brief.front) lines.push(...frontObjective(brief.front));
  else
    lines.push(
      `- ${o.goal === 'minimize' ? 'Lower' : 'Raise'} the metric \`${o.metric}\` (goal: ${o.goal}).`,
    );
  lines.push(
    `- Each experiment runs \`${o.run}\` with a fixed budget of ${o.budgetSeconds}s (AUTORESEARCH_TIME_BUDGET).`,
  );
  lines.push(`- You may change only: ${o.editable.join(', ')}.`);
  if (o.protected.length > 0)
    lines.push(
      `- Never change: ${o.protected.join(', ')} (a change makes the experiment invalid).`,
    );
  lines.push(
    '- Make one focused change, then stop. The harness runs, measures and decides; do not run the experiment yourself.',
    '',
  );
  if (brief.front) lines.push(...frontSection(brief.front));
  lines.push(
    brief.front ? '## Incumbent (the newest point of the front)' : '## Incumbent (best so far)',
    '',
  );
  lines.push(
    `- ${o.metric} = ${fmt(brief.incumbent.value)} at experiment ${brief.incumbent.experimentId} (${brief.incumbent.commit.slice(0, 10)}): ${brief.incumbent.title}`,
  );
  if (brief.incumbent.noise != null)
    lines.push(
      `- measurement noise (standard deviation of repeated runs): ${fmt(brief.incumbent.noise)}`,
    );
  const bar = keepBarLine(brief);
  if (bar) lines.push(bar);
  if (brief.drift)
    lines.push(
      `- Note: measurements are drifting: ${brief.drift}; the harness re-measures the incumbent alongside each candidate.`,
    );
  lines.push(`- baseline: ${fmt(brief.baseline.value)}`);
  if (brief.incumbent.changes && brief.incumbent.changes.length > 0) {
    lines.push(
      '- kept changes since the baseline, oldest first:',
      ...brief.incumbent.changes.map((c) => `  - ${c}`),
    );
  }
  lines.push('');
  lines.push(...parentSection(brief.parent, o.metric));
  lines.push(...plateauSection(brief.plateau, brief.incumbent.changes ?? []));
  if (brief.notes.length > 0) {
    lines.push('## Steering notes from the human', '', ...brief.notes.map((n) => `- ${n}`), '');
  }
  if (brief.inFlight.length > 0) {
    lines.push(
      '## Being tried right now in other slots (do not duplicate)',
      '',
      ...brief.inFlight.map((e) => `- ${e.id} (slot ${e.slot}): ${e.title}`),
      '',
    );
  }
  lines.push(...lessonsSection(brief.lessons));
  lines.push(...historySection(brief));
  lines.push(...nearMissSection(brief));
  if (brief.repeated.length > 0) {
    lines.push('## Ideas already tried more than once', '');
    for (const r of brief.repeated) {
      // The newest tries say how it went lately; the rest are counted.
      const earlier = r.tries.length > 8 ? `${r.tries.length - 8} earlier tries, then ` : '';
      lines.push(
        `- ${r.idea} (or the same change in other words or numbers): ${earlier}${r.tries
          .slice(-8)
          .map((t) => `${t.id} ${t.status}`)
          .join(', ')}`,
      );
    }
    lines.push('');
  }
  lines.push(...repeatsSection(brief.repeats));
  if (brief.failures.length > 0) {
    lines.push('## Recent failures', '');
    for (const f of brief.failures) {
      lines.push(`### ${f.id} ${f.status}: ${f.title}`, '', f.reason);
      const block = f.logTail ?? f.detail;
      if (block) lines.push('', '```', block.trimEnd(), '```');
      lines.push('');
    }
  }
  lines.push('## Research directions (program.md)', '');
  if (brief.harnessDuties.length > 0) {
    const asked = brief.harnessDuties.map((d) => `${d.duty} ("${d.quote}")`).join('; ');
    lines.push(
      `Note: the harness does these for you, whatever program.md below says: ${asked}. Make one change to the editable files and stop.`,
      '',
    );
  }
  lines.push(brief.directions || '(none given)', '');
  return lines.join('\n');
}

/** "with the current noise a decrease of about X is needed to keep (3 runs each; how)". */
function keepBarLine(brief: Brief): string | null {
  const k = brief.keepBar;
  if (!k) return null;
  const o = brief.objective;
  if (k.deterministic) {
    return k.gain > 0
      ? `- keep bar: the metric is deterministic (one run each): a change is kept when it ${o.goal === 'minimize' ? 'lowers' : 'raises'} \`${o.metric}\` by more than ${fmt(k.gain)}.`
      : `- keep bar: the metric is deterministic (one run each): any ${o.goal === 'minimize' ? 'decrease' : 'increase'} of \`${o.metric}\` is kept.`;
  }
  const change = o.goal === 'minimize' ? 'a decrease' : 'an increase';
  return `- keep bar: with the current noise ${change} of about ${sig2(k.gain)} in \`${o.metric}\` is needed to keep a change (${k.runs} ${k.unit} each; ${k.how}). A smaller real gain is discarded as not significant.`;
}

function historySection(brief: Brief): string[] {
  const lines = ['## History', ''];
  const older = Object.entries(brief.olderSummary);
  if (older.length > 0)
    lines.push(`Earlier: ${older.map(([s, n]) => `${n} ${s}`).join(', ')}.`, '');
  if (brief.history.length === 0) return [...lines, 'No experiments yet besides the baseline.', ''];
  const cols = brief.metricColumns;
  lines.push(
    `| id | status | value (n) | delta | why | ${cols.map((c) => `${cell(c)} | `).join('')}change |`,
  );
  lines.push(`|---|---|---|---|---|${cols.map(() => '---|').join('')}---|`);
  for (const h of brief.history) {
    const value =
      h.value === null
        ? '—'
        : `${fmt(h.value)}${h.remeasured ? '*' : ''}${h.n != null ? ` (${h.n})` : ''}`;
    const metrics = cols.map((c) => `${fmt(h.metrics[c] ?? null)} | `).join('');
    lines.push(
      `| ${h.id} | ${h.status} | ${value} | ${fmtDelta(h.delta)} | ${cell(h.reason)} | ${metrics}${cell(h.title)} |`,
    );
  }
  lines.push(
    '',
    'value (n): the mean of n runs. delta: the difference the decision compared, against the incumbent of that moment.',
  );
  if (brief.history.some((h) => h.remeasured))
    lines.push(
      '*: measured again after its decision (the incumbent is re-measured next to later candidates); the value is the mean of all its runs.',
    );
  lines.push('');
  return lines;
}

function nearMissSection(brief: Brief): string[] {
  if (brief.nearMisses.length === 0) return [];
  const lines = ['## Close calls: better, but not clearly', ''];
  for (const m of brief.nearMisses) {
    const bar = m.keepBar != null ? `, the bar was ${sig2(m.keepBar)}` : '';
    lines.push(
      `- ${m.id} ${m.title}: ${fmtDelta(m.diff)}, p=${sig2(m.p)} (needed < ${sig2(m.alpha)}${bar})`,
    );
  }
  lines.push(
    '',
    'These may be real gains too small to tell from the noise. The harness does not measure a discarded change again, and the same files proposed again are skipped as a duplicate. ' +
      'To give one another chance, combine it with another change you expect to help (the gains add up, the noise does not), or take it further in the same direction, so that the total clears the keep bar.',
    '',
  );
  return lines;
}
