/** Titles are one line in tables, results.tsv and commit subjects: whitespace folded, at most 200 characters. */
export function oneLine(s: string, fallback: string): string {
  const line = s.replace(/\s+/g, ' ').trim();
  return line.length > 200 ? line.slice(0, 197) + '...' : line || fallback;
}

/** The longest hypothesis kept: enough for a paragraph of reasoning, not a whole transcript. */
const MAX_HYPOTHESIS = 4000;

/**
 * `TITLE:` / `HYPOTHESIS:` as models actually write them: any case, with or without Markdown
 * emphasis around the word or the colon (`**TITLE:**`, `**Title**:`, `__TITLE__:`).
 */
const MARKER = /^\s*([*_]*)(TITLE|HYPOTHESIS)[*_]*\s*:[*_]*\s*(.*)$/i;

export interface TitleLines {
  title?: string;
  hypothesis?: string;
}

/**
 * The `TITLE:` and `HYPOTHESIS:` lines every agent is asked to end with (one parser for the
 * command, llm, claude-code and codex agents, so they agree on edge cases).
 * - The last marker of each kind wins: agents end with them, and an earlier one may be an echo
 *   of the instructions (`TITLE: <one line: what changed>`).
 * - A marker with nothing after it takes the next non-blank line.
 * - The hypothesis is a paragraph: its line and the lines after it, up to a blank line or the
 *   next marker; at most MAX_HYPOTHESIS characters.
 */
export function parseTitleLines(text: string): TitleLines {
  const lines = text.split(/\r?\n/);
  const out: TitleLines = {};
  for (let i = 0; i < lines.length; i++) {
    const m = MARKER.exec(lines[i]!);
    if (!m) continue;
    const emphasised = m[1]!.length > 0;
    const kind = m[2]!.toUpperCase();
    const parts = [unemphasise(m[3]!, emphasised)];
    let j = i + 1;
    if (parts[0] === '') {
      while (j < lines.length && lines[j]!.trim() === '') j++;
      if (j < lines.length && !MARKER.test(lines[j]!)) parts[0] = lines[j++]!.trim();
    }
    if (kind === 'HYPOTHESIS') {
      for (; j < lines.length && lines[j]!.trim() !== '' && !MARKER.test(lines[j]!); j++)
        parts.push(lines[j]!.trim());
    }
    const value = parts.join('\n').trim();
    if (!value) continue;
    if (kind === 'TITLE') out.title = value;
    else out.hypothesis = value.slice(0, MAX_HYPOTHESIS);
  }
  return out;
}

/**
 * A title and hypothesis from an agent's final message: its TITLE:/HYPOTHESIS: lines, else its
 * first non-blank line as the title and the whole message as the hypothesis. Undefined title when
 * the message is empty, so each agent can say what it knows instead (files changed, steps used).
 */
export function titleFromMessage(text: string): TitleLines {
  const lines = parseTitleLines(text);
  if (lines.title) return lines;
  const first = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .find(Boolean);
  if (!first) return lines;
  return { title: first, hypothesis: lines.hypothesis ?? text.trim().slice(0, MAX_HYPOTHESIS) };
}

/** `**Lower LR**` -> `Lower LR`: closing emphasis goes only when the line opened with it. */
function unemphasise(value: string, emphasised: boolean): string {
  const v = value.trim();
  return emphasised ? v.replace(/[*_]+$/, '').trim() : v;
}
