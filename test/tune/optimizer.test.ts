import { describe, expect, it } from 'vitest';
import {
  describeChange,
  propose,
  SpaceExhaustedError,
  suggest,
  type HistoryEntry,
} from '../../src/tune/optimizer.js';
import type { Config, ParamSpec, SearchSpace, Strategy } from '../../src/tune/space.js';
import { median } from '../../src/policy/stats.js';

const MIXED: ParamSpec[] = [
  { name: 'LR', file: 't.py', type: 'float', min: 0.0001, max: 0.1, log: true },
  { name: 'DEPTH', file: 't.py', type: 'int', min: 1, max: 8, log: false },
  { name: 'WIDTH', file: 't.py', type: 'int', min: 16, max: 1024, log: true },
  { name: 'DROPOUT', file: 't.py', type: 'float', min: 0, max: 0.5, log: false },
  { name: 'ACT', file: 't.py', type: 'categorical', values: ['relu', 'gelu', 'tanh'] },
  { name: 'USE_NORM', file: 't.py', type: 'bool' },
];

function spaceOf(params: ParamSpec[], initial = 6): SearchSpace {
  return { strategy: 'tpe', initial, seed: 0, params };
}

/** A smooth objective over MIXED with its optimum inside the box. */
function mixedObjective(c: Config): number {
  const lr = Math.log10(c.LR as number) + 2.5;
  return (
    lr * lr +
    ((c.DEPTH as number) - 5) ** 2 / 10 +
    (c.DROPOUT as number) +
    (c.ACT === 'gelu' ? 0 : 0.5) +
    (c.USE_NORM ? 0 : 0.3)
  );
}

function run(
  space: SearchSpace,
  f: (c: Config) => number | null,
  n: number,
  seed: number,
  strategy: Strategy = 'tpe',
  goal: 'minimize' | 'maximize' = 'minimize',
): HistoryEntry[] {
  const history: HistoryEntry[] = [];
  for (let i = 0; i < n; i++) {
    const config = suggest({ space, history, goal, seed, strategy });
    history.push({ config, value: f(config) });
  }
  return history;
}

describe('suggest', () => {
  it('is deterministic for a seed and differs across seeds', () => {
    const space = spaceOf(MIXED);
    const a = run(space, mixedObjective, 15, 7);
    const b = run(space, mixedObjective, 15, 7);
    expect(b).toEqual(a);
    expect(run(space, mixedObjective, 15, 8)).not.toEqual(a);
    // Resuming from a stored history proposes what the uninterrupted run did.
    expect(suggest({ space, history: a.slice(0, 10), goal: 'minimize', seed: 7 })).toEqual(
      a[10]!.config,
    );
  });

  it('respects bounds, int-ness, categorical values and declaration order', () => {
    const space = spaceOf(MIXED);
    for (const strategy of ['tpe', 'random'] as const) {
      for (const h of run(space, mixedObjective, 60, 3, strategy)) {
        const c = h.config;
        expect(Object.keys(c)).toEqual(MIXED.map((p) => p.name));
        expect(c.LR).toBeGreaterThanOrEqual(0.0001);
        expect(c.LR).toBeLessThanOrEqual(0.1);
        expect(Number.isInteger(c.DEPTH)).toBe(true);
        expect(c.DEPTH).toBeGreaterThanOrEqual(1);
        expect(c.DEPTH).toBeLessThanOrEqual(8);
        expect(Number.isInteger(c.WIDTH)).toBe(true);
        expect(c.WIDTH).toBeGreaterThanOrEqual(16);
        expect(c.WIDTH).toBeLessThanOrEqual(1024);
        expect(c.DROPOUT).toBeGreaterThanOrEqual(0);
        expect(c.DROPOUT).toBeLessThanOrEqual(0.5);
        expect(['relu', 'gelu', 'tanh']).toContain(c.ACT);
        expect(typeof c.USE_NORM).toBe('boolean');
        // Floats are proposed at the precision they are written with.
        expect(Number((c.LR as number).toPrecision(6))).toBe(c.LR);
      }
    }
  });

  it('spreads log-scale samples across decades', () => {
    const space = spaceOf(
      [{ name: 'LR', file: 't.py', type: 'float', min: 1e-6, max: 1, log: true }],
      200,
    );
    const history = run(space, () => 0, 120, 1, 'random');
    const decades = new Array(6).fill(0);
    for (const h of history)
      decades[Math.min(5, Math.floor(Math.log10(h.config.LR as number) + 6))]++;
    for (const count of decades) expect(count).toBeGreaterThanOrEqual(8); // 20 expected per decade
    // The space-filling initial design spreads too.
    const initial = run(space, () => 0, 30, 1, 'tpe');
    const seen = new Set(initial.map((h) => Math.floor(Math.log10(h.config.LR as number) + 6)));
    expect(seen.size).toBe(6);
  });

  it('avoids a region that always crashes', () => {
    const space = spaceOf(
      [{ name: 'X', file: 't.py', type: 'float', min: 0, max: 1, log: false }],
      5,
    );
    for (const seed of [1, 2, 3]) {
      const history = run(
        space,
        (c) => ((c.X as number) > 0.5 ? null : ((c.X as number) - 0.3) ** 2),
        40,
        seed,
      );
      const safe = history.slice(20).filter((h) => (h.config.X as number) <= 0.5).length;
      expect(safe).toBeGreaterThanOrEqual(16);
    }
  });

  it('treats null, NaN and Infinity alike as worse than any result', () => {
    const space = spaceOf(MIXED);
    const base = run(space, mixedObjective, 12, 5);
    const withCrash = (v: number | null): HistoryEntry[] =>
      base.map((h, i) => (i % 3 === 0 ? { ...h, value: v } : h));
    const s = suggest({ space, history: withCrash(null), goal: 'minimize', seed: 5 });
    expect(suggest({ space, history: withCrash(Number.NaN), goal: 'minimize', seed: 5 })).toEqual(
      s,
    );
    expect(suggest({ space, history: withCrash(Infinity), goal: 'minimize', seed: 5 })).toEqual(s);
    expect(suggest({ space, history: withCrash(-Infinity), goal: 'minimize', seed: 5 })).toEqual(s);
    expect(suggest({ space, history: withCrash(null), goal: 'maximize', seed: 5 })).toEqual(
      suggest({ space, history: withCrash(Number.NaN), goal: 'maximize', seed: 5 }),
    );
  });

  it('never repeats a config from history', () => {
    const small: ParamSpec[] = [
      { name: 'A', file: 't.py', type: 'int', min: 1, max: 4, log: false },
      { name: 'B', file: 't.py', type: 'bool' },
      { name: 'C', file: 't.py', type: 'categorical', values: [1, 2] },
    ];
    const space = spaceOf(small, 2);
    const history = run(space, (c) => (c.A as number) + (c.B ? 1 : 0), 16, 2);
    const keys = history.map((h) => JSON.stringify(h.config));
    expect(new Set(keys).size).toBe(16);
    expect(() => suggest({ space, history, goal: 'minimize', seed: 2 })).toThrow(
      SpaceExhaustedError,
    );
  });

  it('does not re-propose a config given in history, such as the baseline', () => {
    const space = spaceOf(
      [{ name: 'D', file: 't.py', type: 'int', min: 1, max: 3, log: false }],
      1,
    );
    const history: HistoryEntry[] = [{ config: { D: 2 }, value: 0 }];
    const next = suggest({ space, history, goal: 'minimize', seed: 0 });
    expect(next.D).not.toBe(2);
    history.push({ config: next, value: 1 });
    const last = suggest({ space, history, goal: 'minimize', seed: 0 });
    expect(new Set([2, next.D, last.D]).size).toBe(3);
  });

  it('beats random search on a quadratic (median over seeds)', () => {
    const params: ParamSpec[] = ['a', 'b', 'c'].map((name) => ({
      name,
      file: 't.py',
      type: 'float',
      min: -5,
      max: 5,
      log: false,
    }));
    const space = spaceOf(params);
    const f = (c: Config): number =>
      ((c.a as number) - 1) ** 2 + ((c.b as number) + 2) ** 2 + ((c.c as number) - 0.5) ** 2;
    const best = (strategy: Strategy): number =>
      median(
        [1, 2, 3, 4, 5, 6, 7, 8, 9].map((seed) =>
          Math.min(...run(space, f, 40, seed, strategy).map((h) => h.value!)),
        ),
      );
    const tpe = best('tpe');
    const random = best('random');
    expect(tpe).toBeLessThan(random / 3);
  });

  it('maximizes when asked', () => {
    const space = spaceOf(
      [{ name: 'X', file: 't.py', type: 'float', min: 0, max: 10, log: false }],
      4,
    );
    const history = run(space, (c) => -(((c.X as number) - 7) ** 2), 30, 4, 'tpe', 'maximize');
    const best = history.reduce((a, b) => (b.value! > a.value! ? b : a));
    expect(Math.abs((best.config.X as number) - 7)).toBeLessThan(0.3);
  });

  it('says where a suggestion came from', () => {
    const space = spaceOf(MIXED, 3);
    expect(propose({ space, history: [], goal: 'minimize' }).source).toBe('initial');
    const history = run(space, mixedObjective, 3, 0);
    expect(propose({ space, history, goal: 'minimize' }).source).toBe('tpe');
    expect(propose({ space, history, goal: 'minimize', strategy: 'random' }).source).toBe('random');
  });

  it('explores on a plateau: uniform samples among the suggestions, spread over more of the range', () => {
    const space = spaceOf(
      [{ name: 'X', file: 't.py', type: 'float', min: 0, max: 10, log: false }],
      4,
    );
    const history = run(space, (c) => ((c.X as number) - 7) ** 2, 25, 1);
    const suggestions = (explore: boolean) => {
      const s = Array.from({ length: 40 }, (_, seed) =>
        propose({ space, history, goal: 'minimize', seed, explore }),
      );
      const xs = s.map((x) => x.config.X as number);
      const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
      const sd = Math.sqrt(xs.reduce((a, x) => a + (x - mean) ** 2, 0) / xs.length);
      return { sd, random: s.filter((x) => x.source === 'random').length };
    };
    const refine = suggestions(false);
    const explore = suggestions(true);
    expect(refine.random).toBe(0);
    expect(explore.random).toBeGreaterThan(10);
    expect(explore.sd).toBeGreaterThan(1.5 * refine.sd);
  });

  it('never proposes a pending config (another slot runs it), in the initial design or from TPE', () => {
    const key = (c: Config) => JSON.stringify(c);
    for (const [phase, history] of [
      ['initial', []],
      ['tpe', run(spaceOf(MIXED, 3), mixedObjective, 8, 0)],
    ] as const) {
      const space = spaceOf(MIXED, 3);
      const pending: Config[] = [];
      for (let slot = 0; slot < 4; slot++) {
        const s = propose({ space, history: [...history], pending, goal: 'minimize' });
        expect(pending.map(key), `${phase}, slot ${slot}`).not.toContain(key(s.config));
        expect(history.map((h) => key(h.config))).not.toContain(key(s.config));
        pending.push(s.config);
      }
    }
  });

  it('never proposes a retired config again (aborted or skipped), so retiring each proposal cannot loop', () => {
    const key = (c: Config) => JSON.stringify(c);
    for (const [phase, history] of [
      ['initial', []],
      ['tpe', run(spaceOf(MIXED, 3), mixedObjective, 8, 0)],
    ] as const) {
      const retired: Config[] = [];
      for (let i = 0; i < 12; i++) {
        const s = propose({
          space: spaceOf(MIXED, 3),
          history: [...history],
          retired: [...retired],
          goal: 'minimize',
          seed: 4,
        });
        expect(retired.map(key), `${phase}, proposal ${i}`).not.toContain(key(s.config));
        retired.push(s.config);
      }
    }
  });

  it('without pending configs proposes exactly what it proposed before (resume stays exact)', () => {
    const space = spaceOf(MIXED, 3);
    const history = run(space, mixedObjective, 6, 0);
    expect(propose({ space, history, pending: [], goal: 'minimize' })).toEqual(
      propose({ space, history, goal: 'minimize' }),
    );
  });

  it('ignores history entries from a different space', () => {
    const space = spaceOf(MIXED, 0);
    const history: HistoryEntry[] = [{ config: { OTHER: 1 }, value: 1 }];
    expect(propose({ space, history, goal: 'minimize' }).source).toBe('initial');
  });
});

describe('describeChange', () => {
  it('lists changed params in declaration order', () => {
    const from = { LR: 0.04, DEPTH: 4, ACT: 'relu', USE_NORM: true };
    const to = { LR: 0.027, DEPTH: 5, ACT: 'relu', USE_NORM: false };
    expect(describeChange(from, to)).toBe('LR 0.04 -> 0.027, DEPTH 4 -> 5, USE_NORM true -> false');
    expect(describeChange(from, { ...from })).toBe('no change');
    expect(describeChange(from, { DEPTH: 5, LR: 0.01 }, ['LR', 'DEPTH'])).toBe(
      'LR 0.04 -> 0.01, DEPTH 4 -> 5',
    );
    expect(describeChange({}, { LR: 1e-7 })).toBe('LR ? -> 1e-7');
  });
});
