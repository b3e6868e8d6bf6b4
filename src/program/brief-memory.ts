/**
 * The brief's research memory: the lessons the agents returned, the near-duplicates of discarded
 * ideas the harness flagged, and the plateau. Built from ledger rows and rendered as Markdown
 * sections; pure.
 */
import type { ExperimentRow, ExperimentStatus } from '../ledger/types.js';

export interface BriefLesson {
  id: number;
  status: ExperimentStatus | null;
  title: string;
  text: string;
}

/** A candidate flagged before it ran: it repeats a discarded idea. */
export interface BriefRepeat {
  id: number;
  status: ExperimentStatus;
  title: string;
  like: { id: number; title: string };
  similarity: number;
}

export interface BriefPlateau {
  /** Experiments since the latest keep. */
  since: number;
  /** The program's `plateau_after`. */
  after: number;
}

/** What the ledger's `novelty_json` holds. */
export interface NoveltyFlag {
  like: number;
  title: string;
  similarity: number;
}

/** The longest lesson shown, and how many: a bounded section whatever the agents write. */
const LESSON_CHARS = 400;
export const MAX_LESSONS = 12;

export function briefLessons(
  rows: ReadonlyArray<{
    id: number;
    status: ExperimentStatus | null;
    title: string | null;
    lessons: string;
  }>,
): BriefLesson[] {
  return rows.slice(-MAX_LESSONS).map((r) => {
    const text = r.lessons.replace(/\s+/g, ' ').trim();
    return {
      id: r.id,
      status: r.status,
      title: r.title ?? '(untitled)',
      text: text.length > LESSON_CHARS ? `${text.slice(0, LESSON_CHARS - 3)}...` : text,
    };
  });
}

/** The latest recorded experiments that the harness flagged as repeats of a discarded idea. */
export function briefRepeats(done: readonly ExperimentRow[], limit = 5): BriefRepeat[] {
  const out: BriefRepeat[] = [];
  for (const e of done) {
    const flag = parseFlag(e.novelty_json);
    if (!flag) continue;
    out.push({
      id: e.id,
      status: e.status!,
      title: e.title ?? '(untitled)',
      like: { id: flag.like, title: flag.title },
      similarity: flag.similarity,
    });
  }
  return out.slice(-limit);
}

function parseFlag(json: string | null): NoveltyFlag | null {
  if (!json) return null;
  try {
    const v = JSON.parse(json) as Partial<NoveltyFlag>;
    return typeof v.like === 'number' && typeof v.similarity === 'number'
      ? { like: v.like, title: String(v.title ?? ''), similarity: v.similarity }
      : null;
  } catch {
    return null;
  }
}

const cellText = (t: string) => t.replace(/\n/g, ' ');

export function lessonsSection(lessons: readonly BriefLesson[]): string[] {
  if (lessons.length === 0) return [];
  return [
    '## Lessons so far (what earlier proposals learned)',
    '',
    ...lessons.map((l) => `- ${l.id} ${l.status ?? 'in flight'} (${cellText(l.title)}): ${l.text}`),
    '',
  ];
}

export function repeatsSection(repeats: readonly BriefRepeat[]): string[] {
  if (repeats.length === 0) return [];
  return [
    '## Repeats of discarded ideas (flagged before they ran)',
    '',
    ...repeats.map(
      (r) =>
        `- ${r.id} ${r.status} (${cellText(r.title)}) made the same change as discarded ${r.like.id} (${cellText(r.like.title)}), ${Math.round(r.similarity * 100)}% alike once numbers are masked.`,
    ),
    '',
    'A change like a discarded one, with other numbers or other words, rarely ends differently: try another direction.',
    '',
  ];
}

export function plateauSection(
  plateau: BriefPlateau | undefined,
  kept: readonly string[],
): string[] {
  if (!plateau) return [];
  return [
    `## Plateau: ${plateau.since} experiments without a keep`,
    '',
    `No change has been kept in the last ${plateau.since} experiments (plateau_after: ${plateau.after}): small variations of what works have stopped paying.`,
    'Propose a structurally different idea: another algorithm, architecture, representation or data path, not another value of a setting already tuned.',
    kept.length > 0
      ? `The kept changes so far, oldest first: ${kept.map(cellText).join('; ')}.`
      : 'Nothing has been kept since the baseline.',
    '',
  ];
}
