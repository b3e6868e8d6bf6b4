/**
 * What `init --tune` proposes, and what the tune agent can then write: ranges wide enough for a
 * 10x win, sizes searched by doubling, ratios in [0, 1], and sizes written as `2**19`,
 * `1 << 10` or `512 * 1024` read and written back in that form.
 */
import { describe, expect, it } from 'vitest';
import {
  checkSpaceAgainstFiles,
  detectCandidateConstants,
  readAssignment,
  rewriteAssignment,
} from '../../src/tune/assignments.js';
import { suggest, type HistoryEntry } from '../../src/tune/optimizer.js';
import { parseSearchSpace, SearchSpaceError, type ParamSpec } from '../../src/tune/space.js';

function suggestedFor(line: string): ParamSpec {
  const [c] = detectCandidateConstants(`${line}\n`, 'train.py');
  expect(c, line).toBeDefined();
  const { name: _n, file: _f, ...spec } = c!.suggested as ParamSpec & Record<string, unknown>;
  return spec as ParamSpec;
}

describe('init --tune ranges', () => {
  it('spans x0.1 to x10, log-uniform, for positive floats and large counts', () => {
    expect(suggestedFor('LR = 0.04')).toEqual({ type: 'float', min: 0.004, max: 0.4, log: true });
    expect(suggestedFor('WEIGHT_DECAY = 1.0')).toEqual({
      type: 'float',
      min: 0.1,
      max: 10,
      log: true,
    });
    expect(suggestedFor('STEPS = 300')).toEqual({ type: 'int', min: 30, max: 3000, log: true });
  });

  it('keeps powers of two as powers of two, three doublings either way', () => {
    expect(suggestedFor('BATCH_SIZE = 256')).toEqual({
      type: 'int',
      min: 32,
      max: 2048,
      log: false,
      pow2: true,
    });
    expect(suggestedFor('TOTAL_BATCH = 2**19')).toMatchObject({
      min: 2 ** 16,
      max: 2 ** 22,
      pow2: true,
    });
    // Written as a shift, even a small size is a size.
    expect(suggestedFor('const CHUNK = 1 << 3;')).toMatchObject({ min: 1, max: 64, pow2: true });
    // A small power of two written plainly is a count (heads, depth): linear.
    expect(suggestedFor('HEADS = 8')).toEqual({ type: 'int', min: 2, max: 32, log: false });
  });

  it('puts ratios in [0, 1], by name, whatever the current value', () => {
    for (const line of ['WARMDOWN_RATIO = 0.5', 'DROPOUT = 0.1', 'VAL_FRAC = 0.05', 'P_RATIO = 1'])
      expect(suggestedFor(line), line).toEqual({ type: 'float', min: 0, max: 1, log: false });
    // The same value under another name is a rate: multiplicative.
    expect(suggestedFor('MATRIX_LR = 0.5')).toMatchObject({ min: 0.05, max: 5, log: true });
  });

  it('proposes specs that validate and hold the current value', () => {
    const text = [
      'LR = 0.04',
      'TOTAL_BATCH = 2**19',
      'SHIFT = 1 << 10',
      'BYTES = 512 * 1024',
      'WARMDOWN_RATIO = 0.5',
      'STEPS = 1000',
      'NEG = -3',
    ].join('\n');
    const params = detectCandidateConstants(text, 'a.py').map((c) => c.suggested);
    expect(params.map((p) => p.name)).toEqual([
      'LR',
      'TOTAL_BATCH',
      'SHIFT',
      'BYTES',
      'WARMDOWN_RATIO',
      'STEPS',
      'NEG',
    ]);
    const space = parseSearchSpace({
      params: Object.fromEntries(params.map(({ name, ...spec }) => [name, spec])),
    });
    expect(checkSpaceAgainstFiles(space, () => text).defaults).toMatchObject({
      TOTAL_BATCH: 524288,
      SHIFT: 1024,
      BYTES: 524288,
    });
  });
});

describe('constant expressions', () => {
  it('reads 2**19, 1 << 10 and 512 * 1024 as numbers', () => {
    expect(readAssignment('TOTAL_BATCH = 2**19  # tokens\n', 'TOTAL_BATCH')).toEqual({
      line: 1,
      raw: '2**19',
      value: 524288,
    });
    expect(readAssignment('export const N = 1 << 10;\n', 'N')?.value).toBe(1024);
    expect(readAssignment('CACHE = 512 * 1024\n', 'CACHE')?.value).toBe(524288);
    expect(readAssignment('X = 2 * 3 * 4\n', 'X')?.value).toBe(24);
  });

  it('refuses what is not a constant size, or means different things in JS and Python', () => {
    expect(() => readAssignment('N = 2**19 + 1\n', 'N')).toThrow(/not a literal/);
    expect(() => readAssignment('N = 2 ** -3\n', 'N')).toThrow(/not a literal/);
    expect(() => readAssignment('N = 1 << 40\n', 'N')).toThrow(/not a literal/);
    expect(() => readAssignment('N = 2**19 * 2\n', 'N')).toThrow(SearchSpaceError);
  });

  it('writes a new value back in the same form, touching nothing else', () => {
    const py = 'TOTAL_BATCH = 2**19  # tokens per step\nprint(TOTAL_BATCH)\n';
    expect(rewriteAssignment(py, 'TOTAL_BATCH', 2 ** 21)).toBe(
      'TOTAL_BATCH = 2**21  # tokens per step\nprint(TOTAL_BATCH)\n',
    );
    expect(rewriteAssignment('const N = 1 << 10;\n', 'N', 4096)).toBe('const N = 1 << 12;\n');
    expect(rewriteAssignment('const N = 3 << 10;\n', 'N', 3 * 2 ** 8)).toBe('const N = 3 << 8;\n');
    expect(rewriteAssignment('CACHE = 512 * 1024\n', 'CACHE', 256 * 1024)).toBe(
      'CACHE = 256 * 1024\n',
    );
    expect(rewriteAssignment('B = 2 ** 19\n', 'B', 1)).toBe('B = 2 ** 0\n');
    // Round trip: what is written reads back as the value written.
    const written = rewriteAssignment(py, 'TOTAL_BATCH', 2 ** 17);
    expect(readAssignment(written, 'TOTAL_BATCH')?.value).toBe(2 ** 17);
  });

  it('writes a plain number when the form cannot express the value', () => {
    expect(rewriteAssignment('B = 2**19\n', 'B', 300000)).toBe('B = 300000\n');
    expect(rewriteAssignment('N = 1 << 10\n', 'N', 1000)).toBe('N = 1000\n');
    expect(rewriteAssignment('C = 512 * 1024\n', 'C', 1000)).toBe('C = 1000\n');
    expect(rewriteAssignment('C = 512 * 1024\n', 'C', 0)).toBe('C = 0\n');
  });
});

describe('pow2 params', () => {
  const param: ParamSpec = {
    name: 'B',
    file: 'a.py',
    type: 'int',
    min: 16,
    max: 1024,
    log: false,
    pow2: true,
  };
  const space = { strategy: 'tpe' as const, initial: 4, seed: 3, params: [param] };

  it('proposes only powers of two, reaching every exponent, then reports exhaustion', () => {
    const history: HistoryEntry[] = [];
    for (let i = 0; i < 7; i++) {
      const config = suggest({ space, history, goal: 'minimize' });
      history.push({ config, value: Math.abs(Math.log2(config.B as number) - 7) });
    }
    expect(history.map((h) => h.config.B).sort((a, b) => Number(a) - Number(b))).toEqual([
      16, 32, 64, 128, 256, 512, 1024,
    ]);
    expect(() => suggest({ space, history, goal: 'minimize' })).toThrow(/all 7 configs/);
  });

  it('needs powers of two as bounds and as the current value', () => {
    expect(() =>
      parseSearchSpace({
        params: { B: { file: 'a.py', type: 'int', min: 10, max: 1000, pow2: true } },
      }),
    ).toThrow(/min: 8, max: 1024/);
    const { name: _name, ...spec } = param;
    const s = parseSearchSpace({ params: { B: spec } });
    expect(() => checkSpaceAgainstFiles(s, () => 'B = 100\n')).toThrow(/not a power of two/);
    expect(checkSpaceAgainstFiles(s, () => 'B = 1 << 6\n').defaults).toEqual({ B: 64 });
  });
});
