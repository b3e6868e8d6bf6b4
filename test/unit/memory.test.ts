import { describe, expect, it } from 'vitest';
import { buildBrief, renderBrief, renderBriefWithin } from '../../src/program/brief.js';
import {
  groupIdeas,
  ideaSketch,
  mostSimilar,
  normalizeLine,
  similarity,
  sketchText,
} from '../../src/program/novelty.js';
import { experimentsWithoutKeep, onPlateau } from '../../src/program/plateau.js';
import type { ExperimentRow, ExperimentStatus } from '../../src/ledger/types.js';
import { briefInput } from '../helpers/brief.js';
import { experimentRow } from '../helpers/rows.js';

/** A diff as `git diff --unified=0` prints it. */
const diff = (file: string, removed: string[], added: string[]) =>
  [
    `diff --git a/${file} b/${file}`,
    'index 1111111..2222222 100644',
    `--- a/${file}`,
    `+++ b/${file}`,
    `@@ -3,${removed.length} +3,${added.length} @@`,
    ...removed.map((l) => `-${l}`),
    ...added.map((l) => `+${l}`),
    '',
  ].join('\n');

describe('ideas compared by their normalized diffs', () => {
  it('masks numbers (not parts of names) and collapses whitespace', () => {
    expect(normalizeLine('  lr   = 0.04  # was 1e-3, layer2 x -5')).toBe(
      'lr = # # was #, layer2 x #',
    );
  });

  it('finds the same change with other numbers and spacing alike, another change not', () => {
    const a = ideaSketch(diff('train.py', ['LR = 0.04'], ['LR = 0.02']));
    const b = ideaSketch(diff('train.py', ['LR = 0.04'], ['LR  =  0.005']));
    const other = ideaSketch(diff('train.py', ['ACT = "relu"'], ['ACT = "gelu"']));
    expect(similarity(a, b)).toBe(1);
    expect(similarity(a, other)).toBe(0);
    // The same line in another file is another idea.
    expect(similarity(a, ideaSketch(diff('eval.py', ['LR = 0.04'], ['LR = 0.02'])))).toBe(0);
  });

  it('a mostly shared change is alike by Jaccard over its line shingles', () => {
    const base = ['x = 1', 'y = 2', 'z = 3', 'w = 4', 'v = 5'];
    const a = ideaSketch(diff('m.py', [], base));
    const b = ideaSketch(diff('m.py', [], [...base, 'u = 6']));
    // 5 lines and 4 pairs shared, of 6 lines and 5 pairs.
    expect(similarity(a, b)).toBeCloseTo(9 / 11, 5);
    expect(mostSimilar(b, [{ id: 3, title: 'five', sketch: a }])?.idea.id).toBe(3);
    expect(mostSimilar(b, [{ id: 3, title: 'five', sketch: a }], 0.9)).toBeNull();
  });

  it('reads a removed line that starts with dashes as a change, not a header', () => {
    const s = ideaSketch(diff('q.sql', ['-- old comment'], []));
    expect(s).toHaveLength(1);
    expect(similarity(s, ideaSketch(diff('q.sql', ['-- old comment'], [])))).toBe(1);
  });

  it('groups tries by masked title or by alike diffs, transitively', () => {
    const lr = ideaSketch(diff('t.py', ['LR = 0.04'], ['LR = 0.02']));
    const groups = groupIdeas([
      { id: 1, title: 'halve the learning rate', sketch: lr },
      { id: 2, title: 'Use GELU', sketch: ideaSketch(diff('t.py', ['a'], ['b'])) },
      { id: 3, title: 'smaller steps: LR 0.01', sketch: lr },
      { id: 4, title: 'smaller steps: LR 0.001', sketch: [] },
    ]);
    expect(groups.map((g) => g.map((t) => t.id))).toEqual([[1, 3, 4], [2]]);
  });
});

describe('the plateau', () => {
  const o = (...statuses: ExperimentStatus[]) => [
    { id: 0, status: 'keep' as ExperimentStatus },
    ...statuses.map((status, i) => ({ id: i + 1, status })),
  ];

  it('counts experiments since the latest keep; skipped and interrupted ones never ran', () => {
    expect(experimentsWithoutKeep(o('discard', 'keep', 'discard', 'crash'))).toBe(2);
    expect(experimentsWithoutKeep(o('discard', 'skipped', 'interrupted', 'invalid'))).toBe(2);
    expect(onPlateau(o('discard', 'discard', 'discard'), 3)).toBe(3);
    expect(onPlateau(o('discard', 'discard', 'keep', 'discard'), 3)).toBeNull();
  });
});

const row = (id: number, patch: Partial<ExperimentRow>) =>
  experimentRow(id, { state: 'recorded', ...patch });
const input = (experiments: ExperimentRow[]) =>
  briefInput(experiments, {
    protected: [],
    directions: 'Try things.',
    incumbent: { experimentId: 2, title: 'wider layers', changes: ['2: wider layers'] },
  });

describe('the brief remembers', () => {
  const lr = sketchText(ideaSketch(diff('train.py', ['LR = 0.04'], ['LR = 0.02'])));
  const rows = [
    row(1, { status: 'discard', title: 'halve LR', idea_sketch: lr, primary_value: 1.6 }),
    row(2, { status: 'keep', title: 'wider layers', primary_value: 1.2 }),
    row(3, {
      status: 'discard',
      title: 'smaller steps',
      idea_sketch: lr,
      novelty_json: JSON.stringify({ like: 1, title: 'halve LR', similarity: 1 }),
    }),
  ];

  it('shows the lessons, groups a re-worded repeat with its idea, and names the flagged repeat', () => {
    const b = buildBrief({
      ...input(rows),
      lessons: [{ id: 1, status: 'discard', title: 'halve LR', lessons: 'LR below 0.03\nstalls' }],
    });
    const text = renderBrief(b);
    expect(text).toContain('## Lessons so far');
    expect(text).toContain('- 1 discard (halve LR): LR below 0.03 stalls');
    expect(text).toContain(
      '- halve LR (or the same change in other words or numbers): 1 discard, 3 discard',
    );
    expect(text).toContain(
      '- 3 discard (smaller steps) made the same change as discarded 1 (halve LR), 100% alike',
    );
    expect(text).not.toContain('Plateau');
  });

  it('on a plateau asks for a structurally different idea and lists the kept changes', () => {
    const text = renderBrief(buildBrief({ ...input(rows), plateau: { since: 10, after: 10 } }));
    expect(text).toContain('## Plateau: 10 experiments without a keep');
    expect(text).toContain('Propose a structurally different idea');
    expect(text).toContain('The kept changes so far, oldest first: 2: wider layers.');
  });

  it('keeps the newest lessons, each bounded, when the brief is over its tokens', () => {
    const lessons = Array.from({ length: 30 }, (_, i) => ({
      id: i + 1,
      status: 'discard' as const,
      title: `idea ${i + 1}`,
      lessons: `lesson ${i + 1} `.repeat(100),
    }));
    const b = buildBrief({ ...input(rows), lessons });
    expect(b.lessons.map((l) => l.id)).toEqual(lessons.slice(-12).map((l) => l.id));
    expect(Math.max(...b.lessons.map((l) => l.text.length))).toBeLessThanOrEqual(400);
    const text = renderBriefWithin(b, 1000);
    expect(text.length).toBeLessThanOrEqual(4000);
    expect(text).toContain('- 30 discard (idea 30): lesson 30');
    expect(text).not.toContain('(idea 24)');
  });
});
