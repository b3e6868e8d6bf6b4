/**
 * Ideas, compared by what they change rather than by how they are named: a candidate's diff
 * against its parent, numbers masked and whitespace collapsed, becomes a set of line shingles
 * (its sketch), and two candidates are the same idea when their sketches overlap enough
 * (Jaccard). "LR 0.04 -> 0.02" and "halve the learning rate again" with LR = 0.01 edit the same
 * line in the same way, so they match whatever their titles say. Pure.
 */
import { createHash } from 'node:crypto';

/** Two sketches at least this similar are the same idea tried again. */
const SAME_IDEA = 0.8;

/** The most shingles kept per sketch (the smallest hashes: a bottom-k sketch still estimates Jaccard). */
const SKETCH_SIZE = 256;

/** Numbers, not parts of names (`layer2` stays), with their sign and exponent. */
const NUMBER = /(?<![\w.])[-+]?(?:\d[\d_]*(?:\.[\d_]*)?|\.\d+)(?:[eE][-+]?\d+)?(?![\w])/g;

/** A changed line with its numbers masked and whitespace collapsed. */
export function normalizeLine(line: string): string {
  return line.replace(NUMBER, '#').replace(/\s+/g, ' ').trim();
}

/**
 * The sketch of a unified diff (`git diff --unified=0`): one shingle per changed line (file, sign,
 * normalized text) and one per pair of consecutive changed lines, so the order of edits counts a
 * little; hashed to 8 hex digits, sorted, at most SKETCH_SIZE. Blank changes count for nothing.
 */
export function ideaSketch(diff: string): string[] {
  const shingles = new Set<string>();
  let file = '';
  let previous: string | null = null;
  // Between `diff --git` and the first `@@`, lines are headers: `--- a/x` there is no removed line.
  let header = false;
  for (const raw of diff.split('\n')) {
    if (raw.startsWith('diff ')) {
      header = true;
      previous = null;
      continue;
    }
    if (raw.startsWith('@@')) {
      header = false;
      previous = null;
      continue;
    }
    if (header) {
      // The new name, or the old one for a deleted file.
      if (raw.startsWith('--- ')) file = raw.slice(4).replace(/^a\//, '');
      if (raw.startsWith('+++ ') && raw !== '+++ /dev/null')
        file = raw.slice(4).replace(/^b\//, '');
      continue;
    }
    const sign = raw[0];
    if (sign !== '+' && sign !== '-') continue;
    const text = normalizeLine(raw.slice(1));
    if (!text) continue;
    const line = `${file}:${sign}${text}`;
    shingles.add(line);
    if (previous !== null) shingles.add(`${previous}\n${line}`);
    previous = line;
  }
  const hashes = [...shingles].map((s) => createHash('sha1').update(s).digest('hex').slice(0, 8));
  return [...new Set(hashes)].sort().slice(0, SKETCH_SIZE);
}

/**
 * Jaccard similarity of two sketches: exact while neither was cut to SKETCH_SIZE, else the
 * bottom-k estimate (the share of the union's smallest hashes that both hold).
 */
export function similarity(a: readonly string[], b: readonly string[]): number {
  if (a.length === 0 || b.length === 0) return 0;
  const inA = new Set(a);
  const inB = new Set(b);
  let union = [...new Set([...a, ...b])].sort();
  if (a.length >= SKETCH_SIZE || b.length >= SKETCH_SIZE) union = union.slice(0, SKETCH_SIZE);
  const both = union.filter((h) => inA.has(h) && inB.has(h)).length;
  return both / union.length;
}

/** A sketch as stored in the ledger (`idea_sketch`): hashes separated by spaces. */
export const sketchText = (sketch: readonly string[]): string => sketch.join(' ');
export const sketchOf = (text: string | null): string[] => (text ? text.split(' ') : []);

export interface TriedIdea {
  id: number;
  title: string;
  sketch: string[];
}

/** The earlier idea most like `sketch`, when it is at least `threshold` similar. */
export function mostSimilar<T extends TriedIdea>(
  sketch: readonly string[],
  earlier: readonly T[],
  threshold = SAME_IDEA,
): { idea: T; similarity: number } | null {
  let best: { idea: T; similarity: number } | null = null;
  for (const idea of earlier) {
    const s = similarity(sketch, idea.sketch);
    if (s >= threshold && (!best || s > best.similarity)) best = { idea, similarity: s };
  }
  return best;
}

/** The title of an idea with numbers masked, so "LR 0.04 -> 0.02" and "LR 0.04 -> 0.01" match. */
function titleKey(title: string): string {
  return title
    .toLowerCase()
    .replace(/[-+]?\d+(\.\d+)?(e[-+]?\d+)?/g, '#')
    .replace(/\s+/g, ' ')
    .trim();
}

/**
 * Tries grouped into ideas: two tries are one idea when their masked titles are equal or their
 * sketches are at least `threshold` similar (transitively). Groups keep the order of their first try.
 */
export function groupIdeas<T extends TriedIdea>(tries: readonly T[], threshold = SAME_IDEA): T[][] {
  const parent = tries.map((_, i) => i);
  const find = (i: number): number => (parent[i] === i ? i : (parent[i] = find(parent[i]!)));
  const byTitle = new Map<string, number>();
  tries.forEach((t, i) => {
    const key = titleKey(t.title);
    const same = byTitle.get(key);
    if (same !== undefined) parent[find(i)] = find(same);
    else byTitle.set(key, i);
    for (let j = 0; j < i; j++)
      if (find(i) !== find(j) && similarity(t.sketch, tries[j]!.sketch) >= threshold)
        parent[find(i)] = find(j);
  });
  const groups = new Map<number, T[]>();
  tries.forEach((t, i) => {
    const root = find(i);
    groups.set(root, [...(groups.get(root) ?? []), t]);
  });
  return [...groups.values()];
}
