import { describe, expect, it } from 'vitest';
import { checkPrimary, parseMetricsFromOutput, parseMetricsJson } from '../../src/metrics/parse.js';

describe('metric parsing', () => {
  it('reads the summary block of the original training script', () => {
    const out = `step 100 loss 3.2\n---\nval_bpb:          0.997900\ntraining_seconds: 300.1\npeak_vram_mb:     45060.2\nnum_steps:        953\n`;
    const m = parseMetricsFromOutput(out);
    expect(m.val_bpb).toBe(0.9979);
    expect(m.training_seconds).toBe(300.1);
    expect(m.peak_vram_mb).toBe(45060.2);
    expect(m.num_steps).toBe(953);
  });

  it('reads METRIC lines with several pairs; METRIC wins over summary lines; last occurrence wins', () => {
    const out = 'loss: 5\nMETRIC loss=4 acc=0.5\nMETRIC loss=3.5e-1\nloss: 9\n';
    const m = parseMetricsFromOutput(out);
    expect(m.loss).toBe(0.35);
    expect(m.acc).toBe(0.5);
  });

  it('parses nan and inf so they become crashes, not silent misses', () => {
    const m = parseMetricsFromOutput('val_bpb: nan\nother: inf\nneg: -inf\n');
    expect(Number.isNaN(m.val_bpb)).toBe(true);
    expect(m.other).toBe(Infinity);
    expect(m.neg).toBe(-Infinity);
    expect(checkPrimary(m, 'val_bpb')).toEqual({ ok: false, reason: 'metric val_bpb is NaN' });
    expect(checkPrimary(m, 'other')).toMatchObject({ ok: false });
    expect(checkPrimary(m, 'missing')).toEqual({ ok: false, reason: 'metric missing not found in the output' });
  });

  it('ignores prose that merely contains a colon', () => {
    const m = parseMetricsFromOutput('Note: the run took 3 steps\nresult: ok\nwarning: 3 things\n');
    expect(m).toEqual({});
  });

  it('handles CRLF output and numeric separators', () => {
    expect(parseMetricsFromOutput('score: 1_000\r\n').score).toBe(1000);
  });

  it('flattens JSON metric files and accepts numeric strings', () => {
    const m = parseMetricsJson('{"val": 1.5, "nested": {"p99_ms": "12.5", "label": "x"}, "bad": null}');
    expect(m).toEqual({ val: 1.5, 'nested.p99_ms': 12.5, bad: NaN });
  });

  it('reports the primary metric when finite', () => {
    expect(checkPrimary({ a: 2 }, 'a')).toEqual({ ok: true, value: 2 });
  });
});
