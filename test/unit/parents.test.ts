import { describe, expect, it } from 'vitest';
import {
  chooseParent,
  islandHeads,
  repairable,
  type SearchNode,
  type SearchSettings,
} from '../../src/search/parents.js';
import { experimentTree } from '../../src/search/tree.js';
import { parseProgram } from '../../src/program/program.js';
import { parentSection } from '../../src/program/brief-parent.js';

const settings = (over: Partial<SearchSettings>): SearchSettings => ({
  strategy: 'tree',
  repairs: 1,
  explore: 0.5,
  islands: 3,
  migrate_every: 10,
  ...over,
});

const node = (
  id: number,
  parent: number | null,
  value: number | null,
  status: string | null = 'discard',
  island: number | null = null,
): SearchNode => ({ id, parent, value, status, island });

const at = (id: number, incumbent: number) => ({ id, incumbent, goal: 'minimize' as const });

describe('parent selection: tree in Pareto mode', () => {
  it('expands the member of the front with the fewest children, the newest among equals, after repairs', () => {
    // Front: 0, 2, 4. 0 has two children, 2 and 4 one each: 4, the newest of the least tried.
    const nodes = [
      node(0, null, 10, 'keep'),
      node(1, 0, 9),
      node(2, 0, 8, 'keep'),
      node(3, 2, 9),
      node(4, 1, 7, 'keep'),
      node(5, 4, 9),
    ];
    const front = { ...at(6, 4), front: [0, 2, 4] };
    expect(chooseParent(nodes, settings({}), front)).toEqual({
      parent: 4,
      island: null,
      why: 'incumbent',
    });
    expect(chooseParent([...nodes, node(6, 4, 9)], settings({}), { ...front, id: 7 }).parent).toBe(
      2,
    );
    // A crash is repaired first, as in the scalar mode.
    expect(
      chooseParent([...nodes, node(6, 2, null, 'crash')], settings({}), { ...front, id: 7 }).why,
    ).toBe('repair');
  });
});

describe('parent selection: greedy', () => {
  it('always builds on the incumbent', () => {
    const nodes = [node(0, null, 10, 'keep'), node(1, 0, 9, 'keep'), node(2, 1, 9.5)];
    expect(chooseParent(nodes, settings({ strategy: 'greedy' }), at(3, 1))).toEqual({
      parent: 1,
      island: null,
      why: 'incumbent',
    });
  });
});

describe('parent selection: tree', () => {
  it('expands a promising node with few children rather than the much-expanded incumbent', () => {
    // The incumbent (1) has five children, all worse; 2 was discarded but is nearly as good and untried.
    const nodes = [
      node(0, null, 10, 'keep'),
      node(1, 0, 5, 'keep'),
      node(2, 0, 5.2),
      ...[3, 4, 5, 6, 7].map((id) => node(id, 1, 8)),
    ];
    expect(chooseParent(nodes, settings({}), at(8, 1))).toEqual({
      parent: 2,
      island: null,
      why: 'promising',
    });
  });

  it('is greedy with explore 0, and prefers the incumbent on a tie', () => {
    const nodes = [node(0, null, 10, 'keep'), node(1, 0, 5, 'keep'), node(2, 0, 5)];
    expect(chooseParent(nodes, settings({ explore: 0 }), at(3, 1)).parent).toBe(1);
  });

  it('repairs a crash once with repairs: 1, then moves on', () => {
    const crashed = [node(0, null, 10, 'keep'), node(1, 0, null, 'crash')];
    expect(chooseParent(crashed, settings({}), at(2, 0))).toEqual({
      parent: 1,
      island: null,
      why: 'repair',
    });
    // The repair crashed too: with one repair allowed, the chain is not repaired again.
    const twice = [...crashed, node(2, 1, null, 'crash')];
    expect(chooseParent(twice, settings({}), at(3, 0)).why).not.toBe('repair');
    expect(repairable(twice, 2).map((n) => n.id)).toEqual([2]);
    // A repair in flight (a child) is not doubled by another slot.
    expect(repairable([...crashed, node(2, 1, null, null)], 1)).toEqual([]);
  });

  it('never chooses a node in flight, skipped or invalid', () => {
    const nodes = [
      node(0, null, 10, 'keep'),
      node(1, 0, 1, null),
      node(2, 0, 1, 'skipped'),
      node(3, 0, 1, 'invalid'),
    ];
    expect(chooseParent(nodes, settings({}), at(4, 0)).parent).toBe(0);
  });
});

describe('parent selection: islands', () => {
  const s = settings({ strategy: 'islands', islands: 3, migrate_every: 6 });

  it('sends experiment i to island (i - 1) mod K, each built on its own island best', () => {
    const nodes = [
      node(0, null, 10, 'keep'),
      node(1, 0, 7, 'keep', 0),
      node(2, 0, 12, 'discard', 1),
      node(3, 0, 9, 'discard', 2),
    ];
    expect([4, 5, 6 + 1].map((id) => chooseParent(nodes, s, at(id, 1)))).toEqual([
      { parent: 1, island: 0, why: 'island' },
      // island 1's only try was worse: it goes on from the baseline
      { parent: 0, island: 1, why: 'island' },
      { parent: 1, island: 0, why: 'island' },
    ]);
    expect(chooseParent(nodes, s, at(3 + 3, 1)).why).toBe('migration');
    expect(islandHeads(nodes, 3, 'minimize').map((n) => n.id)).toEqual([1, 0, 3]);
  });

  it('migrates the global best to the worst island every migrate_every experiments', () => {
    const nodes = [
      node(0, null, 10, 'keep'),
      node(1, 0, 7, 'keep', 0),
      node(2, 0, 12, 'discard', 1),
      node(3, 0, 9, 'discard', 2),
      node(4, 1, 6, 'keep', 0),
      node(5, 0, 9.5, 'discard', 1),
    ];
    const choice = chooseParent(nodes, s, at(6, 4));
    expect(choice).toEqual({ parent: 4, island: 1, why: 'migration' });
    // Once proposed there, the migrant is island 1's member and head.
    const after = [...nodes, node(6, 4, null, null, 1)];
    expect(islandHeads(after, 3, 'minimize').map((n) => n.id)).toEqual([4, 4, 3]);
    expect(chooseParent(after, s, at(8, 4))).toEqual({ parent: 4, island: 1, why: 'island' });
  });
});

describe('parent selection on a plateau', () => {
  const plateau = (since: number, after = 3) => ({ ...at(8, 1), plateau: { since, after } });

  it('greedy stays on the incumbent', () => {
    const nodes = [node(0, null, 10, 'keep'), node(1, 0, 9, 'keep'), node(2, 1, 9.5)];
    expect(chooseParent(nodes, settings({ strategy: 'greedy' }), plateau(5))).toEqual({
      parent: 1,
      island: null,
      why: 'incumbent',
    });
  });

  it('tree explores more: a less-visited, worse node wins over the incumbent', () => {
    // The incumbent has three children; 2 is clearly worse but untried.
    const nodes = [
      node(0, null, 10, 'keep'),
      node(1, 0, 5, 'keep'),
      node(2, 0, 7),
      ...[3, 4, 5].map((id) => node(id, 1, 8)),
    ];
    const s = settings({ explore: 0.3 });
    expect(chooseParent(nodes, s, at(6, 1)).parent).toBe(1);
    expect(chooseParent(nodes, s, { ...at(6, 1), plateau: { since: 3, after: 3 } })).toEqual({
      parent: 2,
      island: null,
      why: 'promising',
      plateau: 3,
    });
  });

  it('islands migrate the global best at once, then expand the least-tried island head', () => {
    const s = settings({ strategy: 'islands', islands: 3, migrate_every: 0 });
    const nodes = [
      node(0, null, 10, 'keep'),
      node(1, 0, 7, 'keep', 0),
      node(2, 0, 12, 'discard', 1),
      node(3, 0, 9, 'discard', 2),
      node(4, 1, 8, 'discard', 0),
      node(5, 0, 11, 'discard', 1),
      node(6, 3, 9.5, 'discard', 2),
      node(7, 1, 7.5, 'discard', 0),
    ];
    // Off the plateau experiment 8 goes to island (8 - 1) mod 3 = 1, built on its head: the baseline.
    expect(chooseParent(nodes, s, at(8, 1))).toEqual({ parent: 0, island: 1, why: 'island' });
    // The plateau's first experiment: the global best (1) migrates to the worst island (1).
    expect(chooseParent(nodes, s, plateau(3))).toEqual({
      parent: 1,
      island: 1,
      why: 'migration',
      plateau: 3,
    });
    // Next: the heads are 1 (island 0, two children), 0 (island 1, four), 3 (island 2, one).
    expect(chooseParent(nodes, s, plateau(4))).toEqual({
      parent: 3,
      island: 2,
      why: 'island',
      plateau: 4,
    });
    // plateau_after later the best migrates again.
    expect(chooseParent(nodes, s, plateau(6)).why).toBe('migration');
  });

  it('the brief says the plateau changed the starting point', () => {
    const brief = (plateau?: number) =>
      parentSection(
        {
          experimentId: 3,
          commit: 'abcdef1234567',
          title: 'smaller step',
          status: 'discard',
          value: 9,
          why: 'island',
          island: 2,
          reason: null,
          ...(plateau !== undefined ? { plateau } : {}),
        },
        'loss',
      ).join('\n');
    expect(brief(4)).toContain('on a plateau (4 experiments without a keep)');
    expect(brief(4)).toContain('the island whose best has been tried least');
    expect(brief()).not.toContain('plateau');
  });
});

describe('the experiment tree from ledger rows', () => {
  it('links each experiment to the one whose commit it was built on', () => {
    const row = (id: number, parent: string, commit: string | null, status: string | null) => ({
      id,
      state: status ? 'recorded' : 'running',
      status,
      parent_commit: parent,
      candidate_commit: commit,
      proposed_commit: commit,
      primary_value: 1,
      island: null,
    });
    const tree = experimentTree([
      row(0, 'base', 'base', 'keep'),
      row(1, 'base', 'c1', 'discard'),
      row(2, 'c1', 'c2', null),
    ] as Parameters<typeof experimentTree>[0]);
    expect(tree.map((n) => [n.id, n.parent, n.status])).toEqual([
      [0, null, 'keep'],
      [1, 0, 'discard'],
      [2, 1, null],
    ]);
  });
});

describe('parents: in program.md', () => {
  const program = (front: string) => `---
metric: { name: score, goal: minimize }
run: sh exp.sh
editable: [a.sh]
agent: command
${front}
---
`;
  const errorOf = (front: string) => {
    try {
      parseProgram(program(front), 'program.md');
    } catch (e) {
      return (e as Error).message;
    }
    throw new Error('expected an error');
  };

  it('reads a name or an object, greedy by default', () => {
    const parents = (front: string) => parseProgram(program(front), 'program.md').config.parents;
    expect(parents('').strategy).toBe('greedy');
    expect(parents('parents: tree')).toEqual({
      strategy: 'tree',
      repairs: 1,
      explore: 0.05,
      islands: 3,
      migrate_every: 10,
    });
    expect(parents('parents: { strategy: islands, islands: 4 }').islands).toBe(4);
  });

  it('says what is wrong: an unknown strategy, a typo, the tune agent’s search: key', () => {
    expect(errorOf('parents: beam')).toContain('expected greedy, tree, islands');
    expect(errorOf('parents: { strategy: tree, repair: 2 }')).toContain('repair');
    expect(errorOf('search: { strategy: tree }')).toContain(
      "choosing parents is `parents: tree` at the top level; `search:` is the tune agent's search space",
    );
  });
});
