import { describe, expect, it } from 'vitest';
import {
  checkPrimary,
  MAX_LINE_BYTES,
  MAX_METRIC_NAMES,
  mergeMetrics,
  MetricStream,
  parseMetricOutput,
  parseMetricsJson,
} from '../../src/metrics/parse.js';
import { parseConstraint, violatedConstraint } from '../../src/loop/constraints.js';
import { parseProgram } from '../../src/program/program.js';

/** The reason the primary metric `name` of `output` is refused or missing. */
const crash = (output: string, name: string) => {
  const r = checkPrimary(parseMetricOutput(output), name);
  if (r.ok) throw new Error(`expected a refusal, got ${r.value}`);
  return r.reason;
};

describe('metric parsing', () => {
  it('reads the summary block of the original training script', () => {
    const out = `step 100 loss 3.2\n---\nval_bpb:          0.997900\ntraining_seconds: 300.1\npeak_vram_mb:     45060.2\nnum_steps:        953\n`;
    expect(parseMetricOutput(out)).toEqual({
      values: { val_bpb: 0.9979, training_seconds: 300.1, peak_vram_mb: 45060.2, num_steps: 953 },
      refused: {},
      truncated: false,
    });
  });

  it('reads METRIC lines with several pairs, separated by spaces or commas', () => {
    const m = parseMetricOutput(
      'METRIC loss=4 acc=0.5\nMETRIC a = 1, b=2,c=3.5e-1 , d=4 ,e=5\n',
    ).values;
    expect(m).toEqual({ loss: 4, acc: 0.5, a: 1, b: 2, c: 0.35, d: 4, e: 5 });
  });

  it('the last occurrence wins across METRIC and summary lines, whichever format comes last', () => {
    expect(parseMetricOutput('loss: 5\nMETRIC loss=4\nloss: 9\n').values.loss).toBe(9);
    expect(parseMetricOutput('loss: 5\nMETRIC loss=4\n').values.loss).toBe(4);
    expect(parseMetricOutput('METRIC loss=4\nloss = 3\n').values.loss).toBe(3);
  });

  it('reads names in any alphabet: total_µs, ошибка, 精度', () => {
    const m = parseMetricOutput('total_µs: 35\nошибка = 0.5\nMETRIC 精度=0.9 total_µs=34\n').values;
    expect(m).toEqual({ total_µs: 34, ошибка: 0.5, 精度: 0.9 });
    expect(checkPrimary(parseMetricOutput('total_µs: 35\n'), 'total_µs')).toEqual({
      ok: true,
      value: 35,
    });
  });

  it('a progress line rewritten with \\r: the text after the last \\r counts', () => {
    expect(parseMetricOutput('val: 0.9\rval: 0.5\rval: 0.4\n').values.val).toBe(0.4);
    // The final value without a trailing newline counts too, and CRLF lines are plain lines.
    expect(parseMetricOutput('score: 1\r\nscore: 2\r\nscore: 3').values.score).toBe(3);
  });

  it('refuses thousands separators instead of reading 1,234,567 as 1', () => {
    expect(crash('n: 1,234,567\n', 'n')).toBe(
      'metric n has thousands separators or a decimal comma on line 1 of the output ("n: 1,234,567"); print a plain number: `n: 1234567`',
    );
    expect(crash('METRIC n=1,234,567 acc=0.5\n', 'n')).toContain(
      'print a plain number: `METRIC n=1234567`',
    );
    expect(parseMetricOutput('METRIC n=1,234,567 acc=0.5\n').values).toEqual({ acc: 0.5 });
    expect(crash('METRIC n=1 234 567\n', 'n')).toContain('has text after its number');
    expect(crash('q = 1,5\n', 'q')).toContain('print a plain number: `q: 1.5`');
  });

  it('refuses units, percentages, hex, nan and inf, quoting the line with its number', () => {
    expect(crash('warmup\nval_ms: 12.5ms\n', 'val_ms')).toBe(
      'metric val_ms has a unit (ms) on line 2 of the output ("val_ms: 12.5ms"); print a plain number: `val_ms: 12.5`',
    );
    expect(crash('METRIC t=5 s\n', 't')).toContain('has text after its number');
    expect(crash('METRIC t=5s\n', 't')).toContain(
      'has a unit (s) on line 1 of the output ("METRIC t=5s"); print a plain number: `METRIC t=5`',
    );
    expect(crash('acc: 45%\n', 'acc')).toContain('is a percentage');
    expect(crash('h: 0x1f\n', 'h')).toContain(
      'is hexadecimal on line 1 of the output ("h: 0x1f"); print a plain number: `h: 31`',
    );
    expect(crash('loss: inf\n', 'loss')).toBe(
      'metric loss is not finite (inf) on line 1 of the output ("loss: inf"); print a finite number, or exit with a non-zero status when the run failed',
    );
    expect(crash('loss: nan\n', 'loss')).toContain('is not finite (nan)');
    expect(crash('loss: -Infinity\n', 'loss')).toContain('is not finite (-Infinity)');
    expect(crash('METRIC loss=NaN\n', 'loss')).toContain('is not finite (NaN)');
    expect(crash('big: 1e999\n', 'big')).toContain('is out of range');
    expect(crash('val: 0.99 (best so far)\n', 'val')).toContain('has text after its number');
    expect(crash('val: None\n', 'val')).toContain('is not a number (None)');
    expect(crash('missing: 1\n', 'val')).toBe('metric val not found in the output');
  });

  it('a refusal is an occurrence: the later of a number and a refusal wins', () => {
    expect(crash('val: 0.5\nval: 12ms\n', 'val')).toContain('line 2');
    expect(checkPrimary(parseMetricOutput('val: 12ms\nval: 0.5\n'), 'val')).toEqual({
      ok: true,
      value: 0.5,
    });
    expect(checkPrimary(parseMetricOutput('METRIC val=1,5\nval: 2\n'), 'val')).toEqual({
      ok: true,
      value: 2,
    });
  });

  it('quotes at most 200 characters of the line', () => {
    const reason = crash(`val: 1 ${'x'.repeat(500)}\n`, 'val');
    expect(reason).toContain(`"val: 1 ${'x'.repeat(192)}…"`);
    expect(reason).not.toContain('x'.repeat(193));
  });

  it('ignores prose, including prose after a colon, and keeps plain forms: 1_000, .5, 1e-05, +3', () => {
    expect(
      parseMetricOutput('Note: the run took 3 steps\nresult: ok\nINFO val: 3\nhttp://host:80\n')
        .values,
    ).toEqual({});
    expect(parseMetricOutput('Note: the run took 3 steps\n').refused).toEqual({});
    expect(parseMetricOutput('a: 1_000\nb: .5\nc: 1e-05\nd: +3\ne: -0.25\nf: 7.\n').values).toEqual(
      { a: 1000, b: 0.5, c: 0.00001, d: 3, e: -0.25, f: 7 },
    );
  });

  it('a metric on a line longer than the limit is refused, not read from its beginning', () => {
    const reason = crash(`val: 0.5${' '.repeat(MAX_LINE_BYTES)}x\n`, 'val');
    expect(reason).toContain(`is on a line longer than ${MAX_LINE_BYTES} bytes`);
    const wide = `METRIC val=0.5 ${'y'.repeat(MAX_LINE_BYTES)}\nok: 1\n`;
    expect(parseMetricOutput(wide).values).toEqual({ ok: 1 });
  });

  it('streams: chunks split anywhere (inside a UTF-8 name, between \\r and \\n) give the same metrics', () => {
    const out = Buffer.from(
      'total_µs: 10\r\nпрогресс: 1\rпрогресс: 2\nMETRIC 精度=0.5 total_µs=9\nend: 1',
    );
    const whole = parseMetricOutput(out.toString('utf8'));
    for (let size = 1; size <= 7; size++) {
      const s = new MetricStream();
      for (let i = 0; i < out.length; i += size) s.write(out.subarray(i, i + size));
      expect(s.end()).toEqual(whole);
    }
    expect(whole.values).toEqual({ total_µs: 9, прогресс: 2, 精度: 0.5, end: 1 });
  });

  it('keeps at most MAX_METRIC_NAMES names, and says so when the primary is not among them', () => {
    const s = new MetricStream();
    for (let i = 0; i < MAX_METRIC_NAMES + 5; i++) s.write(`m${i}: ${i}\n`);
    s.write('m0: -1\nval: 3\n');
    const r = s.end();
    expect(Object.keys(r.values)).toHaveLength(MAX_METRIC_NAMES);
    expect(r.values.m0).toBe(-1); // known names still update
    expect(r.truncated).toBe(true);
    expect(checkPrimary(r, 'val')).toMatchObject({
      ok: false,
      reason: expect.stringContaining(`only the first ${MAX_METRIC_NAMES} names were kept`),
    });
  });

  it('a metric called __proto__ or constructor is an ordinary name', () => {
    const r = parseMetricOutput('__proto__: 1\n');
    expect(Object.keys(r.values)).toEqual(['__proto__']);
    expect(checkPrimary(r, 'constructor')).toMatchObject({ ok: false });
  });

  it('flattens JSON metric files: numbers and numeric strings are read, unit strings and null refused', () => {
    const m = parseMetricsJson(
      '{"val": 1.5, "nested": {"p99_ms": "12.5", "label": "x", "t": "3ms"}, "bad": null, "total_µs": 4}',
    );
    expect(m.values).toEqual({ val: 1.5, 'nested.p99_ms': 12.5, total_µs: 4 });
    expect(Object.keys(m.refused)).toEqual(['nested.t', 'bad']);
    expect(checkPrimary(m, 'nested.t')).toEqual({
      ok: false,
      reason:
        'metric nested.t has a unit (ms) on the metrics file ("\\"nested.t\\": \\"3ms\\""); write a plain number: `"nested.t": 3`',
    });
  });

  it("the metrics file is applied after the output: its names replace the output's", () => {
    const merged = mergeMetrics(
      parseMetricOutput('a: 1\nb: 2ms\nc: 3\n'),
      parseMetricsJson('{"a": 10, "b": 20, "c": "3ms"}'),
    );
    expect(merged.values).toEqual({ a: 10, b: 20 });
    expect(Object.keys(merged.refused)).toEqual(['c']);
  });
});

describe('constraints on metrics', () => {
  it('a refused constraint metric is a violation that quotes the line', () => {
    const parsed = parseMetricOutput('score: 1\np99_ms: 12.5ms\n');
    const c = [parseConstraint('p99_ms <= 20')];
    expect(violatedConstraint(c, parsed.values, parsed.refused)).toBe(
      'constraint p99_ms <= 20 cannot be checked: p99_ms has a unit (ms) on line 2 of the output ("p99_ms: 12.5ms"); print a plain number: `p99_ms: 12.5`',
    );
    expect(violatedConstraint(c, { p99_ms: 10 })).toBeNull();
  });

  it('program.md accepts Unicode metric names in metric.name and in constraints', () => {
    const p = parseProgram(
      '---\nmetric: { name: total_µs, goal: minimize }\nrun: ./bench\neditable: [bench.c]\nconstraints: ["ошибка <= 0.1", "精度 >= 0.9"]\n---\n',
      'program.md',
    );
    expect(p.config.metric.name).toBe('total_µs');
    expect(p.config.constraints.map(parseConstraint).map((c) => c.metric)).toEqual([
      'ошибка',
      '精度',
    ]);
  });
});
