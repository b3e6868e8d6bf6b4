/** `meter:` and `cache:` in program.md, what a command's meter counts, and the run's spend. */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Ledger } from '../../src/ledger/ledger.js';
import { emptyExperiment } from '../../src/loop/experiment.js';
import { meterReading, metersCommand } from '../../src/loop/meter.js';
import { parseMetricOutput } from '../../src/metrics/parse.js';
import { ProgramError } from '../../src/program/errors.js';
import { parseProgram } from '../../src/program/program.js';
import { tempDir } from '../helpers/temp.js';
import { runRow } from '../helpers/rows.js';

const program = (extra: string) => `---
metric: { name: score, goal: maximize }
run: node run.mjs
editable: [prompts]
${extra}
---
`;

function errorOf(extra: string): ProgramError {
  try {
    parseProgram(program(extra), 'program.md');
  } catch (e) {
    expect(e).toBeInstanceOf(ProgramError);
    return e as ProgramError;
  }
  throw new Error('expected a ProgramError');
}

describe('meter: and cache: in program.md', () => {
  it('reads the meter and the cache roles (cache: true is eval and holdout)', () => {
    const p = parseProgram(
      program(
        'eval: node eval.mjs\nmeter: { usd: eval_cost_usd, tokens: eval_tokens }\ncache: true',
      ),
      'program.md',
    );
    expect(p.config.meter).toEqual({ usd: 'eval_cost_usd', tokens: 'eval_tokens' });
    expect(p.config.cache).toEqual({ roles: ['eval', 'holdout'] });
    expect(parseProgram(program(''), 'program.md').config.cache).toBeNull();
  });

  it('refuses a meter naming nothing, a typo, and a cache for run or without eval/holdout', () => {
    expect(errorOf('meter: {}').message).toMatch(/meter.*name at least one metric/s);
    const typo = errorOf('meter: { dollars: cost }');
    expect(typo.message).toContain('meter.dollars');
    expect(typo.message).toContain('usd, tokens');
    const run = errorOf('eval: node eval.mjs\ncache: { roles: [eval, run] }');
    expect(run.message).toContain('cache.roles.1');
    expect(run.message).toContain('could forge cached answers');
    const none = errorOf('cache: true');
    expect(none.message).toMatch(/program\.md:5.*cache.*has none/s);
    expect(none.message).toContain('eval:');
  });
});

describe('the meter of one command', () => {
  it('counts eval and holdout; run only when there is no protected eval', () => {
    expect(metersCommand('eval', true)).toBe(true);
    expect(metersCommand('holdout', true)).toBe(true);
    expect(metersCommand('run', true)).toBe(false);
    expect(metersCommand('run', false)).toBe(true);
    expect(metersCommand('checks', false)).toBe(false);
  });

  it('reads the named metrics; refuses negative and unreadable values instead of subtracting them', () => {
    const meter = { usd: 'cost', tokens: 'tokens' };
    expect(meterReading(meter, parseMetricOutput('METRIC cost=0.25 tokens=1200\n'))).toEqual({
      usd: 0.25,
      tokens: 1200,
      refused: [],
    });
    const bad = meterReading(meter, parseMetricOutput('METRIC cost=-3 tokens=12ms\n'));
    expect(bad.usd).toBe(0);
    expect(bad.tokens).toBe(0);
    expect(bad.refused).toHaveLength(2);
    expect(bad.refused[0]).toMatch(/^cost: -3 is not a spend/);
    expect(meterReading({ usd: 'cost' }, parseMetricOutput('no metrics\n'))).toEqual({
      usd: 0,
      tokens: 0,
      refused: [],
    });
  });
});

describe('Ledger.spend', () => {
  it("adds what the experiments' commands metered, the baseline's included, to the agent's spend", () => {
    const ledger = new Ledger(join(tempDir('ar-meter-'), 'ledger.sqlite'));
    ledger.createRun(runRow('t', { goal: 'maximize' }));
    ledger.insertExperiment({ ...emptyExperiment('t', 0, 'baseline', 'abc'), id: 0 });
    ledger.insertExperiment({
      ...emptyExperiment('t', 0, 'llm', 'abc'),
      id: 1,
      cost_usd: 1,
      input_tokens: 100,
      output_tokens: 10,
    });
    const command = (id: number, kind: 'run' | 'eval') => ({
      run_tag: 't',
      experiment_id: id,
      kind,
      started_at: 1,
      wall_seconds: 1,
      exit_code: 0,
      signal: null,
      timed_out: 0,
      sealed: 0,
      log_path: null,
    });
    ledger.addCommand(command(0, 'eval'), { usd: 0.5, tokens: 1000 });
    ledger.addCommand(command(1, 'eval'), { usd: 0.25, tokens: 500 });
    ledger.addCommand(command(1, 'run'));
    expect(ledger.spend('t')).toEqual({
      usd: 1.75,
      tokens: 1610,
      priced: 1,
      proposals: 1,
      measuredUsd: 0.75,
      measuredTokens: 1500,
    });
    expect(ledger.getExperiment('t', 1)?.measured_cost_usd).toBe(0.25);
    ledger.close();
  });
});
