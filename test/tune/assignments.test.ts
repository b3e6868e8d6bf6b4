import { describe, expect, it } from 'vitest';
import { readAssignment, rewriteAssignment } from '../../src/tune/assignments.js';
import { SearchSpaceError } from '../../src/tune/space.js';

/** Lines that differ between two texts (same line count assumed). */
function changedLines(a: string, b: string): number[] {
  const la = a.split('\n');
  const lb = b.split('\n');
  expect(lb.length).toBe(la.length);
  return la.flatMap((l, i) => (l === lb[i] ? [] : [i + 1]));
}

describe('readAssignment', () => {
  it.each([
    ['LR = 0.04', 0.04, '0.04'],
    ['const LR = 0.04;', 0.04, '0.04'],
    ['export const LR: number = 0.04; // learning rate', 0.04, '0.04'],
    ['let LR = 4e-2', 0.04, '4e-2'],
    ['LR: float = 4E-2  # python annotation', 0.04, '4E-2'],
    ['LR = 1_000', 1000, '1_000'],
    ['LR = -0.5', -0.5, '-0.5'],
    ['LR = .5', 0.5, '.5'],
    ['    LR = 3   # indented', 3, '3'],
    ['var LR=7', 7, '7'],
  ])('reads %s', (line, value, raw) => {
    const a = readAssignment(`import x\n${line}\nprint(LR)\n`, 'LR');
    expect(a).toEqual({ line: 2, raw, value });
  });

  it('reads strings with their quote style and booleans in both spellings', () => {
    expect(readAssignment("ACT = 'relu'", 'ACT')).toEqual({
      line: 1,
      raw: "'relu'",
      value: 'relu',
      quote: "'",
    });
    expect(readAssignment('const ACT = "gelu" as const;', 'ACT')).toEqual({
      line: 1,
      raw: '"gelu"',
      value: 'gelu',
      quote: '"',
    });
    expect(readAssignment('USE_NORM = True', 'USE_NORM')?.value).toBe(true);
    expect(readAssignment('USE_NORM = False', 'USE_NORM')?.value).toBe(false);
    expect(readAssignment('let USE_NORM = true;', 'USE_NORM')?.value).toBe(true);
  });

  it('matches the exact identifier only', () => {
    const text = [
      'LR_DECAY = 0.9',
      'MY_LR = 0.2',
      'LR2 = 0.3',
      'self.LR = 0.5',
      'LR = 0.01',
      'if LR == 0.1: pass',
    ].join('\n');
    expect(readAssignment(text, 'LR')).toEqual({ line: 5, raw: '0.01', value: 0.01 });
    expect(readAssignment(text, 'LR_DECAY')?.value).toBe(0.9);
    expect(readAssignment('LR_DECAY = 0.9\n', 'LR')).toBeNull();
  });

  it('ignores comments, block comments and docstrings', () => {
    const text = [
      '# LR = 0.5',
      '// LR = 0.6',
      '/*',
      'LR = 0.7',
      '*/',
      '"""',
      'LR = 0.8',
      '"""',
      'LR = 0.01',
    ].join('\n');
    expect(readAssignment(text, 'LR')).toEqual({ line: 9, raw: '0.01', value: 0.01 });
  });

  it('refuses an ambiguous double assignment, naming both lines', () => {
    const text = 'LR = 0.1\nfor i in range(3):\n    LR = 0.2\n';
    expect(() => readAssignment(text, 'LR')).toThrow(SearchSpaceError);
    expect(() => readAssignment(text, 'LR')).toThrow(/assigned 2 times \(lines 1, 3\)/);
  });

  it('refuses a non-literal value with a hint', () => {
    expect(() => readAssignment('LR = 2 ** -5\n', 'LR')).toThrow(/not a literal/);
    expect(() => readAssignment('LR = base_lr * 2\n', 'LR')).toThrow(SearchSpaceError);
  });
});

describe('rewriteAssignment', () => {
  const ts = [
    "import { train } from './lib.js';",
    '',
    '/** Learning rate. */',
    'export const LR: number = 0.04; // tuned by hand',
    'export const LR_DECAY = 0.9;',
    "const ACT = 'relu';",
    'let USE_NORM = true;',
    '  const DEPTH = 4',
    'train({ lr: LR, decay: LR_DECAY });',
  ].join('\n');

  it('changes only the literal on the declared line', () => {
    const out = rewriteAssignment(ts, 'LR', 0.027);
    expect(changedLines(ts, out)).toEqual([4]);
    expect(out.split('\n')[3]).toBe('export const LR: number = 0.027; // tuned by hand');
  });

  it('keeps indentation, quote style and JS boolean spelling', () => {
    let out = rewriteAssignment(ts, 'ACT', 'gelu');
    out = rewriteAssignment(out, 'USE_NORM', false);
    out = rewriteAssignment(out, 'DEPTH', 5);
    expect(changedLines(ts, out)).toEqual([6, 7, 8]);
    expect(out.split('\n').slice(5, 8)).toEqual([
      "const ACT = 'gelu';",
      'let USE_NORM = false;',
      '  const DEPTH = 5',
    ]);
  });

  it('keeps Python booleans, double quotes and float-ness', () => {
    const py =
      'import torch\nUSE_NORM = True  # layer norm\nACT = "relu"\nWIDTH = 4.0\nLR = 4e-2\n';
    let out = rewriteAssignment(py, 'USE_NORM', false);
    out = rewriteAssignment(out, 'ACT', 'tanh');
    out = rewriteAssignment(out, 'WIDTH', 5);
    out = rewriteAssignment(out, 'LR', 1e-7);
    expect(out).toBe(
      'import torch\nUSE_NORM = False  # layer norm\nACT = "tanh"\nWIDTH = 5.0\nLR = 1e-7\n',
    );
  });

  it('preserves CRLF line endings', () => {
    const crlf = 'A = 1\r\nLR = 0.5\r\nB = 2\r\n';
    const out = rewriteAssignment(crlf, 'LR', 0.25);
    expect(out).toBe('A = 1\r\nLR = 0.25\r\nB = 2\r\n');
    expect(readAssignment(out, 'LR')).toEqual({ line: 2, raw: '0.25', value: 0.25 });
  });

  it('writes ints plainly and escapes quotes inside strings', () => {
    expect(rewriteAssignment('N = 1_000\n', 'N', 2000)).toBe('N = 2000\n');
    expect(rewriteAssignment("S = 'a'\n", 'S', "it's")).toBe("S = 'it\\'s'\n");
    expect(readAssignment("S = 'it\\'s'\n", 'S')?.value).toBe("it's");
  });

  it('round-trips through readAssignment', () => {
    for (const v of [0.000123, 12345.6, 3, -2.5, 1e-9]) {
      expect(readAssignment(rewriteAssignment('X = 1.5\n', 'X', v), 'X')?.value).toBe(v);
    }
  });

  it('throws when the name is missing or ambiguous', () => {
    expect(() => rewriteAssignment('A = 1\n', 'LR', 0.1)).toThrow(SearchSpaceError);
    expect(() => rewriteAssignment('LR = 1\nLR = 2\n', 'LR', 0.1)).toThrow(/assigned 2 times/);
  });
});
