import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { failingPart } from '../../src/program/failing-output.js';

/** Real output of each runner (node, vitest, pytest and cargo were run for these; jest and go are written in their format). */
const sample = (name: string) =>
  readFileSync(join(import.meta.dirname, '../fixtures/failing-output', name), 'utf8');

describe('the failing part of a checks command', () => {
  it('node --test (TAP): the failing "not ok" test with its error and location, not the suite or the "# fail 1" summary', () => {
    const r = failingPart(sample('node-tap.txt'));
    expect(r.runner).toBe('node-test');
    expect(r.blocks).toBe(1);
    expect(r.text).toContain('not ok 2 - adds large numbers');
    expect(r.text).toContain('13 !== 12');
    expect(r.text).toContain("location: '/tmp/samples/node/math.test.mjs:6:3'");
    expect(r.text).toContain('math.test.mjs:6:45'); // the test's own frame stays
    expect(r.text).not.toContain('node:internal'); // the runner's frames go
    expect(r.text).not.toContain('not ok 1 - add'); // the suite only says a subtest failed
    expect(r.text).not.toContain('# fail');
    expect(r.text).not.toContain('duration_ms');
  });

  it('node --test (spec reporter): the "failing tests" section', () => {
    const r = failingPart(sample('node-spec.txt'));
    expect(r.runner).toBe('node-test');
    expect(r.text).toMatch(/^test at math\.test\.mjs:6:3\n✖ adds large numbers/);
    expect(r.text).toContain('13 !== 12');
    expect(r.text).not.toContain('ℹ pass');
    expect(r.text).not.toContain('node:internal');
  });

  it('vitest, with its colors: the FAIL block with the diff and the code frame', () => {
    const r = failingPart(sample('vitest-color.txt'));
    expect(r.runner).toBe('vitest');
    expect(r.text).toMatch(
      /^FAIL {2}math\.test\.ts > add > adds large numbers\nAssertionError: expected 13 to be 12/,
    );
    expect(r.text).toContain('❯ math.test.ts:5:55');
    expect(r.text).not.toContain('\x1b['); // colors stripped
    expect(r.text).not.toContain('Test Files');
    expect(r.text).not.toContain('⎯');
  });

  it('jest: the "●" block, not the FAIL header or the totals', () => {
    const r = failingPart(sample('jest.txt'));
    expect(r.runner).toBe('jest');
    expect(r.text).toMatch(/^● add › adds large numbers/);
    expect(r.text).toContain('Expected: 12');
    expect(r.text).toContain('Received: 13');
    expect(r.text).toContain('at Object.toBe (src/math.test.js:5:55)');
    expect(r.text).not.toContain('Test Suites:');
    expect(r.text).not.toContain('PASS');
  });

  it('pytest: each failure\'s ">" and "E" lines and where, then the short summary; no source listing or header', () => {
    const r = failingPart(sample('pytest.txt'));
    expect(r.runner).toBe('pytest');
    expect(r.text).toContain(
      '>       assert result == 12\nE       assert 13 == 12\ntest_math.py:9: AssertionError',
    );
    expect(r.text).toContain("E       KeyError: 'missing'");
    expect(r.text).toContain('FAILED test_math.py::test_large - assert 13 == 12');
    expect(r.text).not.toContain('def test_large'); // the source listing is left out
    expect(r.text).not.toContain('platform linux');
    expect(r.text).not.toContain('2 failed, 2 passed');
  });

  it('cargo test: the panics with their messages, without the backtraces', () => {
    for (const file of ['cargo.txt', 'cargo-backtrace.txt']) {
      const r = failingPart(sample(file));
      expect(r.runner).toBe('cargo');
      expect(r.blocks).toBe(2);
      expect(r.text).toContain("thread 'tests::large'");
      expect(r.text).toContain(
        'panicked at src/lib.rs:9:18:\nassertion `left == right` failed: large inputs\n  left: 13\n right: 12',
      );
      expect(r.text).toContain('called `Option::unwrap()` on a `None` value');
      expect(r.text).not.toContain('rust_begin_unwind');
      expect(r.text).not.toContain('test result:');
    }
  });

  it("go test: the innermost failing tests with their messages, plain and -v; panics with the test's frames", () => {
    for (const file of ['go.txt', 'go-nonverbose.txt']) {
      const r = failingPart(sample(file));
      expect(r.runner).toBe('go');
      expect(r.text).toContain(
        '--- FAIL: TestAddLarge (0.00s)\n    math_test.go:12: add(10, 2) = 13; want 12',
      );
      expect(r.text).toContain(
        '--- FAIL: TestTable/many (0.00s)\n    math_test.go:25: got [7 8 10], want [7 8 9]',
      );
      expect(r.text).not.toContain('--- FAIL: TestTable (0.00s)'); // the parent adds nothing
      expect(r.text).not.toContain('PASS');
    }
    const p = failingPart(sample('go-panic.txt'));
    expect(p.text).toContain('panic: runtime error: index out of range [3] with length 3');
    expect(p.text).toContain('/home/me/mathy/math_test.go:31');
    expect(p.text).not.toContain('/usr/local/go/src/testing/testing.go');
  });

  it('compiler and lint errors, and a Python traceback', () => {
    const tsc = failingPart(sample('tsc-eslint.txt'));
    expect(tsc.runner).toBe('errors');
    expect(tsc.text).toBe(
      "src/model.ts(14,7): error TS2322: Type 'string' is not assignable to type 'number'.\n\nsrc/train.ts(3,10): error TS2305: Module '\"./model.js\"' has no exported member 'Layer'.",
    );
    const eslint = failingPart(sample('eslint.txt'));
    expect(eslint.text).toBe(
      "/home/me/app/src/train.ts\n  12:5   error    'unused' is assigned a value but never used  @typescript-eslint/no-unused-vars",
    );
    const py = failingPart(sample('python-traceback.txt'));
    expect(py.text).toMatch(
      /^Traceback \(most recent call last\):[\s\S]*AssertionError: torch\.Size\(\[4, 64\]\)$/,
    );
    expect(py.text).not.toContain('checking shapes');
  });

  it('falls back to the tail for output it does not know', () => {
    const r = failingPart(sample('lint-plain.txt'));
    expect(r).toEqual({
      runner: 'tail',
      text: 'running lint\nlint: params.sh:2 unexpected BROKEN',
      blocks: 0,
    });
    const long = Array.from({ length: 100 }, (_, i) => `line ${i}`).join('\n');
    expect(failingPart(long).text.split('\n')).toEqual(
      Array.from({ length: 15 }, (_, i) => `line ${85 + i}`),
    );
  });

  it('stays within its limits: long blocks are cut, later blocks are counted, not shown', () => {
    const many = Array.from(
      { length: 30 },
      (_, i) =>
        `not ok ${i + 1} - test ${i}\n  ---\n  error: 'boom ${i}'\n${Array.from({ length: 30 }, (_, k) => `  detail ${k}`).join('\n')}\n  ...`,
    ).join('\n');
    const r = failingPart(many, { maxLines: 40, maxChars: 2000 });
    expect(r.blocks).toBe(30);
    expect(r.text.split('\n').length).toBeLessThanOrEqual(42);
    expect(r.text.length).toBeLessThanOrEqual(2100);
    expect(r.text).toContain("error: 'boom 0'");
    expect(r.text).toContain('more lines)');
    expect(r.text).toMatch(/\(\d+ more failing blocks left out\)$/);
    const huge = failingPart(`not ok 1 - x\n  error: '${'y'.repeat(10_000)}'`, { maxChars: 1000 });
    expect(huge.text.length).toBeLessThanOrEqual(1000);
  });
});
