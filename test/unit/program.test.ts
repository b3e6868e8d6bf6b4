import { describe, expect, it } from 'vitest';
import { graceSeconds } from '../../src/program/schema.js';
import { parseProgram } from '../../src/program/program.js';
import { ProgramError } from '../../src/program/errors.js';
import { parseDuration } from '../../src/program/duration.js';
import { decisionRule } from '../../src/mcp/describe.js';

const ok = `---
metric: { name: val_bpb, goal: minimize }
run: uv run train.py
budget: 5m
editable: [train.py]
protected: [prepare.py]
agent: command
---
# Directions
Try things.
`;

function errorOf(text: string): ProgramError {
  try {
    parseProgram(text, 'program.md');
  } catch (e) {
    expect(e).toBeInstanceOf(ProgramError);
    return e as ProgramError;
  }
  throw new Error('expected a ProgramError');
}

describe('parseProgram', () => {
  it('reads front matter and keeps the body for the agent', () => {
    const p = parseProgram(ok, 'program.md');
    expect(p.config.metric).toEqual({
      name: 'val_bpb',
      goal: 'minimize',
      deterministic: false,
      tolerance: 0,
    });
    // Noise is measured, not assumed: three baseline runs unless the metric is deterministic.
    expect(p.config.repeats).toEqual({ baseline: 3, max: 3, confirm: 2, refresh_incumbent: 5 });
    expect(p.config.decision).toEqual({ confidence: 0.95, min_effect: 0 });
    expect(p.config.limits).toEqual({ network: true });
    expect(p.config.budget).toBe(300);
    expect(p.config.timeout).toBe(600); // default: twice the budget
    expect(p.config.kill_grace).toBe(10);
    expect(p.config.slots).toBe(1);
    expect(p.config.stop.agent_failures).toBe(5);
    expect(p.config.stop.skips_in_a_row).toBe(10);
    // A noisy metric's winner carried onto a newer incumbent is measured again before it is kept.
    expect(p.config.verify_rebased).toBe(true);
    expect(p.body).toBe('# Directions\nTry things.\n');
  });

  it('runs a deterministic metric once and reads trust settings', () => {
    const p = parseProgram(
      ok
        .replace('goal: minimize }', 'goal: minimize, deterministic: true }')
        .replace(
          'agent: command',
          'agent: command\nchecks: npm test\neval: { run: python eval.py, timeout: 2m }\nconstraints: ["memory_gb <= 60", "p99_ms < 20"]\nlimits: { memory: 4GB, processes: 256, network: false }',
        ),
      'program.md',
    );
    expect(p.config.repeats).toEqual({ baseline: 1, max: 1, confirm: 2, refresh_incumbent: 5 });
    expect(p.config.verify_rebased).toBe(false);
    expect(p.config.checks).toBe('npm test');
    expect(p.config.eval).toEqual({ run: 'python eval.py', timeout: 120, reads_hidden: false });
    expect(p.config.constraints).toEqual(['memory_gb <= 60', 'p99_ms < 20']);
    expect(p.config.limits).toEqual({ memory: 4 * 1024 ** 3, processes: 256, network: false });
  });

  it('reads the sealing settings, with defaults that seal where possible', () => {
    const d = parseProgram(ok, 'program.md').config;
    expect([
      d.sandbox,
      d.hidden,
      d.keep_ignored,
      d.artifacts,
      d.max_file_bytes,
      d.budget_grace,
    ]).toEqual(['auto', [], [], [], 10 * 1024 ** 2, { percent: 10 }]);
    const p = parseProgram(
      ok.replace(
        'agent: command',
        'agent: command\nsandbox: required\nhidden: [data/holdout.jsonl]\nkeep_ignored: [node_modules]\nartifacts: [out/**]\nmax_file_bytes: 1MB\nbudget_grace: 30s\neval: { run: python eval.py, reads_hidden: true }',
      ),
      'program.md',
    ).config;
    expect([
      p.sandbox,
      p.hidden,
      p.keep_ignored,
      p.artifacts,
      p.max_file_bytes,
      p.budget_grace,
    ]).toEqual([
      'required',
      ['data/holdout.jsonl'],
      ['node_modules'],
      ['out/**'],
      1024 ** 2,
      { seconds: 30 },
    ]);
    expect(p.eval).toEqual({ run: 'python eval.py', reads_hidden: true });
    expect(graceSeconds(300, { percent: 10 })).toBe(30);
    expect(graceSeconds(10, { percent: 10 })).toBe(5); // at least 5 s
    expect(
      errorOf(ok.replace('agent: command', 'agent: command\nbudget_grace: lots')).message,
    ).toContain('10%');
    expect(
      errorOf(ok.replace('agent: command', 'agent: command\nsandbox: maybe')).message,
    ).toContain('required');
  });

  it('explains a malformed constraint and a bad size', () => {
    expect(
      errorOf(ok.replace('agent: command', 'agent: command\nconstraints: ["memory under 60"]'))
        .message,
    ).toContain('name <= number');
    expect(
      errorOf(ok.replace('agent: command', 'agent: command\nlimits: { memory: lots }')).message,
    ).toContain('4GB');
  });

  it('names the line and suggests the right key for a typo', () => {
    const e = errorOf(ok.replace('editable:', 'editabel:'));
    expect(e.line).toBe(5);
    expect(e.key).toBe('editabel');
    expect(e.message).toContain('program.md:5');
    expect(e.message).toContain('did you mean `editable`');
  });

  it('finds unknown keys inside nested settings', () => {
    const e = errorOf(ok.replace('agent: command', 'agent: command\nstop: { experimints: 3 }'));
    expect(e.key).toBe('stop.experimints');
    expect(e.line).toBe(8);
    expect(e.message).toContain('did you mean `experiments`');
  });

  it('reports a missing metric with what to write', () => {
    const e = errorOf(ok.replace('metric: { name: val_bpb, goal: minimize }\n', ''));
    expect(e.key).toBe('metric');
    expect(e.message).toContain('required setting is missing');
    expect(e.message).toContain('metric: { name: val_bpb, goal: minimize }');
  });

  it('reports a wrong type on its line', () => {
    const e = errorOf(ok.replace('editable: [train.py]', 'editable: train.py'));
    expect(e.line).toBe(5);
    expect(e.message).toMatch(/expected a list/);
  });

  it('reports a bad goal with the allowed values', () => {
    const e = errorOf(ok.replace('goal: minimize', 'goal: lower'));
    expect(e.key).toBe('metric.goal');
    expect(e.line).toBe(2);
    expect(e.message).toContain('"minimize", "maximize"');
  });

  it('reports YAML syntax errors with a line', () => {
    const e = errorOf(ok.replace('run: uv run train.py', 'run: [unclosed'));
    expect(e.message).toMatch(/YAML syntax/);
    expect(e.line).toBeGreaterThanOrEqual(3);
  });

  it('rejects a file without front matter and says how to write one', () => {
    const e = errorOf('# just prose\n');
    expect(e.line).toBe(1);
    expect(e.message).toContain('autoresearch init');
  });

  it('rejects a bad duration and a timeout shorter than the budget', () => {
    expect(errorOf(ok.replace('budget: 5m', 'budget: soon')).key).toBe('budget');
    const e = errorOf(ok.replace('budget: 5m', 'budget: 5m\ntimeout: 1m'));
    expect(e.key).toBe('timeout');
    expect(e.line).toBe(5);
  });

  it('a noisy metric needs room for its confirming runs: repeats.max >= repeats.confirm', () => {
    const e = errorOf(ok.replace('budget: 5m', 'budget: 5m\nrepeats: { max: 1 }'));
    expect(e.key).toBe('repeats.max');
    expect(e.line).toBe(5);
    expect(e.message).toMatch(
      /repeats\.max \(1\) is below repeats\.confirm \(2\).*\n  fix: set repeats\.max to at least 2/,
    );
    expect(errorOf(ok.replace('budget: 5m', 'budget: 5m\nrepeats: { confirm: 1 }')).key).toBe(
      'repeats.confirm',
    );
    expect(
      parseProgram(
        ok.replace('budget: 5m', 'budget: 5m\nrepeats: { confirm: 4, max: 6 }'),
        'program.md',
      ).config.repeats,
    ).toMatchObject({ confirm: 4, max: 6 });
    // A deterministic metric runs once: confirm does not apply.
    expect(
      parseProgram(
        ok
          .replace('goal: minimize }', 'goal: minimize, deterministic: true }')
          .replace('budget: 5m', 'budget: 5m\nrepeats: { max: 1 }'),
        'program.md',
      ).config.repeats.max,
    ).toBe(1);
  });

  it('rejects an unclosed front matter', () => {
    expect(errorOf('---\nmetric: x\n').message).toContain('never closed');
  });
});

describe('Pareto mode (metric: a list)', () => {
  const pareto = (
    more = '',
    metric = '[{ name: ms, goal: minimize }, { name: heap_mb, goal: minimize }]',
  ) => `---\nmetric: ${metric}\nrun: ./bench.sh\neditable: [a.c]\n${more}---\n`;

  it('lists every metric, the first being the primary one; one metric stays the scalar mode', () => {
    const p = parseProgram(pareto(), 'program.md');
    expect(p.config.pareto?.map((m) => [m.name, m.goal])).toEqual([
      ['ms', 'minimize'],
      ['heap_mb', 'minimize'],
    ]);
    expect(p.config.metric.name).toBe('ms');
    expect(p.config.repeats.max).toBe(3);
    expect(parseProgram(ok, 'program.md').config.pareto).toBeNull();
    // What an MCP session is told of the decision.
    expect(decisionRule(p.config)).toContain(
      'Pareto mode over ms (minimize), heap_mb (minimize): each candidate runs 3 times and is kept when no point of the front is as good on every metric',
    );
    const quiet =
      '[{ name: a, goal: minimize, deterministic: true }, { name: b, goal: maximize, deterministic: true }]';
    expect(parseProgram(pareto('', quiet), 'program.md').config.repeats).toMatchObject({
      baseline: 1,
      max: 1,
    });
  });

  it('names the key and the fix for a list that is not a front', () => {
    expect(errorOf(pareto('', '[{ name: ms, goal: minimize }]')).message).toMatch(
      /^program.md:2: metric: list at least two metrics for Pareto mode, or write one as `metric: \{ name: val_bpb/,
    );
    expect(
      errorOf(pareto('', '[{ name: ms, goal: minimize }, { name: ms, goal: maximize }]')).message,
    ).toContain('metric.1.name: ms is listed twice');
    expect(
      errorOf(pareto('', '[{ name: ms, goal: minimize }, { name: heap, goall: maximize }]'))
        .message,
    ).toContain('metric.1.goall: unknown setting\n  fix: did you mean `goal`?');
  });

  it('refuses the settings that need one metric, with the fix', () => {
    expect(errorOf(pareto('parents: islands\n')).message).toMatch(
      /^program.md:5: parents: islands keep one best[^\n]*\n  fix: use `parents: tree`/,
    );
    expect(errorOf(pareto('agent: tune\n')).message).toContain(
      'agent: the tune agent improves one metric',
    );
    expect(errorOf(pareto('simplicity: 0.1\n')).message).toContain(
      'simplicity: the simplicity penalty',
    );
    expect(errorOf(pareto('decision: { min_effect: 1 }\n')).message).toContain(
      '`tolerance:` in its entry of `metric:`',
    );
    expect(
      parseProgram(pareto('parents: tree\nconstraints: ["heap_mb <= 100"]\n'), 'program.md').config
        .parents.strategy,
    ).toBe('tree');
  });
});

describe('parseDuration', () => {
  it.each([
    ['300', 300],
    ['300s', 300],
    ['5m', 300],
    ['1h30m', 5400],
    ['1.5h', 5400],
    ['250ms', 0.25],
  ])('%s -> %d s', (text, seconds) => expect(parseDuration(text)).toBe(seconds));
  it('rejects junk', () => {
    expect(parseDuration('5 minutes')).toBeNull();
    expect(parseDuration('abc')).toBeNull();
    expect(parseDuration('')).toBeNull();
  });
});
