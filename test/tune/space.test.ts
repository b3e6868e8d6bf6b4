import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { checkSpaceAgainstFiles, detectCandidateConstants } from '../../src/tune/assignments.js';
import {
  parseSearchSpace,
  SearchSchema,
  SearchSpaceError,
  type SearchSpace,
} from '../../src/tune/space.js';

const FRONT_MATTER = `
search:
  strategy: tpe
  initial: 5
  seed: 1
  params:
    LR:        { file: train.ts, type: float, min: 0.0001, max: 0.1, log: true }
    DEPTH:     { file: train.ts, type: int, min: 1, max: 8 }
    ACT:       { file: train.ts, type: categorical, values: [relu, gelu, tanh] }
    USE_NORM:  { file: train.ts, type: bool }
`;

const TRAIN_TS = [
  'export const LR = 0.01; // learning rate',
  'export const DEPTH = 4;',
  "export const ACT = 'relu';",
  'export const USE_NORM = false;',
  'export const LR_DECAY = 0.99;',
].join('\n');

function errorOf(f: () => unknown): SearchSpaceError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(SearchSpaceError);
    return e as SearchSpaceError;
  }
  throw new Error('expected a SearchSpaceError');
}

function spaceWith(params: Record<string, unknown>): unknown {
  return { params };
}

describe('parseSearchSpace', () => {
  it('reads the documented front matter, keeping declaration order', () => {
    const raw = parse(FRONT_MATTER).search;
    expect(SearchSchema.safeParse(raw).success).toBe(true);
    const space = parseSearchSpace(raw);
    expect(space.strategy).toBe('tpe');
    expect(space.initial).toBe(5);
    expect(space.seed).toBe(1);
    expect(space.params.map((p) => p.name)).toEqual(['LR', 'DEPTH', 'ACT', 'USE_NORM']);
    expect(space.params[0]).toEqual({
      name: 'LR',
      file: 'train.ts',
      type: 'float',
      min: 0.0001,
      max: 0.1,
      log: true,
    });
    expect(space.params[1]).toMatchObject({ type: 'int', log: false });
  });

  it('fills defaults: tpe, no seed (the agent seeds from the run tag), initial max(4, 2 * params) capped at 10', () => {
    const one = parseSearchSpace(spaceWith({ X: { file: 'a.py', type: 'float', min: 0, max: 1 } }));
    expect(one).toMatchObject({ strategy: 'tpe', initial: 4 });
    expect(one.seed).toBeUndefined();
    const three = parseSearchSpace(
      spaceWith({
        A: { file: 'a.py', type: 'bool' },
        B: { file: 'a.py', type: 'bool' },
        C: { file: 'a.py', type: 'bool' },
      }),
    );
    expect(three.initial).toBe(6);
    const many = Object.fromEntries(
      Array.from({ length: 7 }, (_, i) => [`P${i}`, { file: 'a.py', type: 'bool' }]),
    );
    expect(parseSearchSpace(spaceWith(many)).initial).toBe(10);
  });

  it('rejects reversed bounds, naming the param and the fix', () => {
    const e = errorOf(() =>
      parseSearchSpace(spaceWith({ LR: { file: 'a.py', type: 'float', min: 0.1, max: 0.001 } })),
    );
    expect(e.param).toBe('LR');
    expect(e.message).toMatch(/swap them: `min: 0.001, max: 0.1`/);
  });

  it('rejects a log scale that reaches zero', () => {
    const e = errorOf(() =>
      parseSearchSpace(
        spaceWith({ LR: { file: 'a.py', type: 'float', min: 0, max: 0.1, log: true } }),
      ),
    );
    expect(e.param).toBe('LR');
    expect(e.message).toMatch(/min > 0/);
  });

  it('rejects fractional int bounds and single-valued categoricals', () => {
    expect(
      errorOf(() =>
        parseSearchSpace(spaceWith({ D: { file: 'a.py', type: 'int', min: 1.5, max: 8 } })),
      ).message,
    ).toMatch(/min: 2, max: 8/);
    const e = errorOf(() =>
      parseSearchSpace(
        spaceWith({ ACT: { file: 'a.py', type: 'categorical', values: ['relu', 'relu'] } }),
      ),
    );
    expect(e.param).toBe('ACT');
    expect(e.message).toMatch(/at least 2 distinct/);
  });

  it('rejects a seed that is not a whole number, naming the key and the fix', () => {
    const params = { X: { file: 'a.py', type: 'float', min: 0, max: 1 } };
    for (const seed of [1.5, 'abc']) {
      const e = errorOf(() => parseSearchSpace({ seed, params }));
      expect(e.key).toBe('seed');
      expect(e.param).toBeUndefined();
      expect(e.message).toContain('search.seed: expected a whole number, e.g. `seed: 7`');
    }
    expect(parseSearchSpace({ seed: -3, params }).seed).toBe(-3);
  });

  it('reports schema errors as SearchSpaceError with the param', () => {
    const typo = errorOf(() =>
      parseSearchSpace(spaceWith({ LR: { file: 'a.py', type: 'float', mni: 0, max: 1 } })),
    );
    expect(typo.param).toBe('LR');
    const badType = errorOf(() =>
      parseSearchSpace(spaceWith({ LR: { file: 'a.py', type: 'double', min: 0, max: 1 } })),
    );
    expect(badType.param).toBe('LR');
    expect(errorOf(() => parseSearchSpace({ params: {} })).message).toMatch(/at least one/);
  });
});

describe('checkSpaceAgainstFiles', () => {
  const space = parseSearchSpace(parse(FRONT_MATTER).search);
  const files = (text: string) => (p: string) => (p === 'train.ts' ? text : null);

  it('returns the current values as defaults', () => {
    expect(checkSpaceAgainstFiles(space, files(TRAIN_TS)).defaults).toEqual({
      LR: 0.01,
      DEPTH: 4,
      ACT: 'relu',
      USE_NORM: false,
    });
  });

  it('names a missing file', () => {
    const e = errorOf(() => checkSpaceAgainstFiles(space, () => null));
    expect(e.param).toBe('LR');
    expect(e.message).toMatch(/train\.ts does not exist/);
  });

  it('lists assigned identifiers when the assignment is missing', () => {
    const text = TRAIN_TS.replace(
      'export const LR = 0.01; // learning rate',
      'export const LEARNING_RATE = 0.01;',
    );
    const e = errorOf(() => checkSpaceAgainstFiles(space, files(text)));
    expect(e.param).toBe('LR');
    expect(e.message).toMatch(/train\.ts has no `LR = <literal>`/);
    expect(e.message).toMatch(/LEARNING_RATE/);
    expect(e.message).toMatch(/LR_DECAY/);
  });

  it('rejects a default outside the bounds, suggesting wider ones', () => {
    const e = errorOf(() =>
      checkSpaceAgainstFiles(space, files(TRAIN_TS.replace('DEPTH = 4', 'DEPTH = 12'))),
    );
    expect(e.param).toBe('DEPTH');
    expect(e.message).toMatch(/outside \[1, 8\].*min: 1, max: 12/);
  });

  it('rejects a default of the wrong type or not among the values', () => {
    expect(
      errorOf(() =>
        checkSpaceAgainstFiles(space, files(TRAIN_TS.replace('DEPTH = 4', 'DEPTH = 4.5'))),
      ).message,
    ).toMatch(/not an integer/);
    expect(
      errorOf(() => checkSpaceAgainstFiles(space, files(TRAIN_TS.replace("'relu'", "'swish'"))))
        .message,
    ).toMatch(/not among values/);
    expect(
      errorOf(() =>
        checkSpaceAgainstFiles(space, files(TRAIN_TS.replace('USE_NORM = false', 'USE_NORM = 1'))),
      ).param,
    ).toBe('USE_NORM');
  });
});

describe('detectCandidateConstants', () => {
  it('offers top-level UPPER_CASE literals with ranges around the current value', () => {
    const py = [
      'import torch',
      'LR = 0.04',
      'DEPTH = 4',
      'BATCH_SIZE = 256',
      'USE_NORM = True',
      'ACT = "relu"',
      'SEED = 42',
      'lower = 3',
      'TWICE = 1',
      'TWICE = 2',
      'def f():',
      '    INNER = 5',
    ].join('\n');
    const found = detectCandidateConstants(py, 'train.py');
    expect(found.map((c) => c.name)).toEqual(['LR', 'DEPTH', 'BATCH_SIZE', 'USE_NORM', 'ACT']);
    expect(found[0]!.suggested).toEqual({
      name: 'LR',
      file: 'train.py',
      type: 'float',
      min: 0.004,
      max: 0.4,
      log: true,
    });
    expect(found[1]!.suggested).toMatchObject({ type: 'int', min: 1, max: 16, log: false });
    expect(found[2]!.suggested).toMatchObject({ type: 'int', min: 32, max: 2048, pow2: true });
    expect(found[3]!.suggested).toMatchObject({ type: 'bool' });
    expect(found[4]).toMatchObject({
      complete: false,
      suggested: { type: 'categorical', values: ['relu'] },
    });
    expect(found[0]!.line).toBe(2);
  });

  it('suggests specs whose current value passes the file check', () => {
    const text =
      'LR = 0.04\nDEPTH = 4\nN = 0\nNEG = -3\nW = -0.5\nSTEPS = 300\nB = 2**19\nR_RATIO = 0.5\n';
    const params = detectCandidateConstants(text, 'a.py').map((c) => c.suggested);
    const space: SearchSpace = { strategy: 'tpe', initial: 4, seed: 0, params };
    expect(checkSpaceAgainstFiles(space, () => text).defaults).toEqual({
      LR: 0.04,
      DEPTH: 4,
      N: 0,
      NEG: -3,
      W: -0.5,
      STEPS: 300,
      B: 2 ** 19,
      R_RATIO: 0.5,
    });
    for (const { name, ...spec } of params)
      expect(() => parseSearchSpace({ params: { [name]: spec } })).not.toThrow();
  });
});
