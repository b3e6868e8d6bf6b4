/**
 * What an experiment meters of its own spend (`meter:`) counts toward the run's caps, from the
 * protected evaluator only; and the `cache:` folder the evaluator keeps across experiments,
 * which the run cannot write.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { detectSandbox } from '../../src/sandbox/detect.js';
import { ledgerRows, makeRepo } from '../helpers/repo.js';
import { runHere, statusHere } from '../helpers/run.js';

const sealed = (await detectSandbox()).sealed;

/** The run writes its answer, and what it claims to have spent; `extra`: more of the run. */
const EXP = (extra = '') =>
  `source ./params.sh\necho $VALUE > out.txt\necho "eval_cost_usd: 100"\n${extra}`;

const program = (evalScript: string, extra: string) => `---
metric: { name: score, goal: maximize, deterministic: true }
run: bash exp.sh
eval: bash eval.sh
budget: 5s
editable: [params.sh]
protected: [exp.sh, eval.sh, 'holdout*']
artifacts: [out.txt]
agent: { name: command, command: 'echo VALUE=$((AUTORESEARCH_EXPERIMENT_ID + 1)) > params.sh' }
${extra}---
`;

describe('the spend an experiment meters', () => {
  it('stops the run at stop.spend_usd on what the protected eval metered, ignoring what the run printed', async () => {
    const evalScript =
      'echo "score: $(cat out.txt)"\necho "eval_cost_usd: 0.5"\necho "eval_tokens: 100"\n';
    const repo = makeRepo({
      'exp.sh': EXP(),
      'eval.sh': evalScript,
      'params.sh': 'VALUE=0\n',
      'program.md': program(
        evalScript,
        'meter: { usd: eval_cost_usd, tokens: eval_tokens }\nstop: { spend_usd: 1.2, experiments: 10 }\nholdout: bash holdout.sh\n',
      ),
      // The holdout measures with the experiment's budget (5s), not its own timeout.
      'holdout.sh': 'echo "score: $AUTORESEARCH_TIME_BUDGET"\n',
    });
    const { output } = await runHere(repo, { tag: 'm' });
    // Baseline $0.50, #1 $1.00, #2 $1.50: the cap is reached before a third proposal.
    expect(output).toContain('stopped: spent $1.50, the cap is $1.2');
    const rows = ledgerRows(repo, 'm') as Array<{
      id: number;
      measured_cost_usd: number;
      holdout_value: number | null;
    }>;
    expect(rows.map((r) => [r.id, r.measured_cost_usd])).toEqual([
      [0, 0.5],
      [1, 0.5],
      [2, 0.5],
    ]);
    expect(rows.map((r) => r.holdout_value)).toEqual([5, 5, 5]);
    expect(await statusHere(repo)).toMatch(
      /spend\s+\$1\.50 and 300 tokens so far \(\$1\.50 and 300 tokens metered by the experiments\)/,
    );
  });

  it.skipIf(!sealed)(
    'sealed: the eval keeps its cache across experiments; the run cannot write it',
    async () => {
      // The evaluator counts in its cache how many evaluations came before it.
      const evalScript =
        'n=$(cat "$AUTORESEARCH_CACHE/n" 2>/dev/null || echo 0)\necho $((n + 1)) > "$AUTORESEARCH_CACHE/n"\necho "seen: $n"\necho "score: $(cat out.txt)"\n';
      const forge =
        'echo "cache var: ${#AUTORESEARCH_CACHE}"\n(echo 7 > ../../cache/n) 2>/dev/null && echo "forged: 1" || echo "forged: 0"\n';
      const repo = makeRepo({
        'exp.sh': EXP(forge),
        'eval.sh': evalScript,
        'params.sh': 'VALUE=0\n',
        'program.md': program(evalScript, 'cache: { roles: [eval] }\nstop: { experiments: 2 }\n'),
      });
      await runHere(repo, { tag: 'c' });
      const rows = ledgerRows(repo, 'c') as Array<{ metrics_json: string }>;
      expect(rows.map((r) => JSON.parse(r.metrics_json).seen)).toEqual([0, 1, 2]);
      const cache = join(repo, '.autoresearch/c/cache/n');
      expect(readFileSync(cache, 'utf8').trim()).toBe('3');
      const log = readFileSync(join(repo, '.autoresearch/c/experiments/2/run.log'), 'utf8');
      expect(log).toContain('cache var: 0');
      expect(log).toContain('forged: 0');
      // The run ran in slots/0, so ../../cache was the cache's real path.
      expect(existsSync(join(repo, '.autoresearch/c/slots/0/out.txt'))).toBe(true);
    },
  );
});
