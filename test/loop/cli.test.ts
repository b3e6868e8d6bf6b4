import { readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { Ledger } from '../../src/ledger/ledger.js';
import { ledgerPath } from '../../src/loop/context.js';
import { findRun, isRefusal, rerun } from '../../src/loop/control.js';
import { measurementSeed } from '../../src/loop/environment.js';
import { processesNamed } from '../helpers/processes.js';
import { cliHere } from '../helpers/cli-here.js';
import { runHere } from '../helpers/run.js';
import { WAITING } from '../helpers/shell.js';
import {
  alive,
  cli,
  cliAsync,
  exited,
  gitIn,
  ledgerRows,
  makeRepo,
  readResultsTsv,
  waitFor,
  type LedgerExperiment,
} from '../helpers/repo.js';
import { tempDir } from '../helpers/temp.js';

// Experiments here print exact values: one run decides (the steering test below measures noise).
const program = (extra = '') => `---
metric: { name: score, goal: maximize, deterministic: true }
run: bash exp.sh
budget: 2s
editable: [params.sh]
protected: [exp.sh]
${extra}---
Raise the score.
`;

const EXP = `#!/bin/bash
source ./params.sh
[ -n "$SLOW" ] && { bash -c "exec -a $SLOW sleep 30" & wait; }
echo "score: $VALUE"
`;

describe('autoresearch CLI', () => {
  it('explains a bad program.md with file, line and fix, and starts nothing', async () => {
    const repo = makeRepo({
      'exp.sh': EXP,
      'params.sh': 'VALUE=1\n',
      'program.md': program().replace('budget: 2s', 'budgt: 2s'),
    });
    const r = await cliHere(repo, ['run', '--agent', 'command']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('autoresearch: program.md:4: budgt: unknown setting');
    expect(r.stderr).toContain('did you mean `budget`');
    expect(gitIn(repo, 'branch', '--list', 'autoresearch/*')).toBe('');
  });

  it('refuses outside a git repository with the command that fixes it', async () => {
    const dir = tempDir('ar-nogit-');
    writeFileSync(join(dir, 'program.md'), program());
    const r = await cliHere(dir, ['run']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('is not inside a git repository');
    expect(r.stderr).toContain('fix: git init && git add -A && git commit -m "initial"');
  });

  it('refuses a branch that already exists for a new tag, and dirty protected files', async () => {
    const repo = makeRepo({
      'exp.sh': EXP,
      'params.sh': 'VALUE=1\n',
      'program.md': program('agent: { name: command, command: "exit 99" }\n'),
    });
    gitIn(repo, 'branch', 'autoresearch/taken');
    const taken = await cliHere(repo, ['run', '--tag', 'taken']);
    expect(taken.code).toBe(2);
    expect(taken.stderr).toContain('git branch -D autoresearch/taken');
    writeFileSync(join(repo, 'exp.sh'), EXP + '# edited\n');
    const dirty = await cliHere(repo, ['run', '--tag', 'fresh']);
    expect(dirty.code).toBe(2);
    expect(dirty.stderr).toContain('protected files have uncommitted changes: exp.sh');
    expect(dirty.stderr).toContain('git stash');
  });

  it("status and results report a command agent's run and its spend; a raised limit resumes the run up to the spend cap", async () => {
    const repo = makeRepo({
      'exp.sh': EXP,
      'params.sh': 'VALUE=1\n',
      // Each proposal reports 1,200 tokens and $0.40 (the proposal file) and a title (a TITLE line).
      'program.md': program(
        `agent: { name: command, command: 'echo VALUE=$((AUTORESEARCH_EXPERIMENT_ID * 2)) > params.sh; echo "{\\"usage\\": {\\"input_tokens\\": 1000, \\"output_tokens\\": 200, \\"cost_usd\\": 0.4}}" > "$AUTORESEARCH_PROPOSAL"; test -f "$AUTORESEARCH_BRIEF" && echo TITLE: double $AUTORESEARCH_EXPERIMENT_ID' }\nstop: { spend_usd: 1, experiments: 10 }\n`,
      ),
    });
    // The runs in this process; status and results are the command line's.
    const { output } = await runHere(repo, { tag: 's', maxExperiments: 2 });
    expect(output).toContain('stopped: reached 2 experiments');
    // Not a terminal: one plain line per event.
    expect(output).toMatch(/#1 running: double 1/);
    const status = (await cliHere(repo, ['status'])).stdout;
    expect(status).toContain('run s on branch autoresearch/s: finished: reached 2 experiments');
    expect(status).toMatch(/best\s+4 at #2 \w+: double 2/);
    expect(status).toContain('+300.00% over baseline');
    expect(status).toContain('2 (2 keep)');
    expect(status).toMatch(
      /spend\s+\$0\.80 and 2,400 tokens so far; about \$3\.20 more for the 8 experiments left \(cap \$1\)/,
    );
    const json = JSON.parse((await cliHere(repo, ['results', '--json'])).stdout) as Array<{
      id: number;
      status: string;
      metrics: { score: number };
      title: string;
      input_tokens: number;
      output_tokens: number;
      cost_usd: number;
    }>;
    expect(json.map((e) => [e.id, e.status, e.metrics.score])).toEqual([
      [0, 'keep', 1],
      [1, 'keep', 2],
      [2, 'keep', 4],
    ]);
    expect(
      json.slice(1).map((x) => [x.title, x.input_tokens, x.output_tokens, x.cost_usd]),
    ).toEqual([
      ['double 1', 1000, 200, 0.4],
      ['double 2', 1000, 200, 0.4],
    ]);
    const table = (await cliHere(repo, ['results'])).stdout;
    expect(table.split('\n').filter((l) => /^\s+#\d/.test(l))).toHaveLength(3);
    // Raising the limit resumes the same run, until the spend reaches the cap.
    const more = await runHere(repo, { tag: 's', maxExperiments: 5 });
    expect(more.output).toContain('resuming run s');
    expect(more.output).toContain('stopped: spent $1.20, the cap is $1');
    expect(ledgerRows(repo, 's')).toHaveLength(4);
  });

  it('Ctrl-C kills the experiment tree and saves the run; the resumed run re-runs it, and `autoresearch abort` kills one experiment while the loop goes on', async () => {
    const marker = `ar-slow-${process.pid}-${Date.now()}`;
    const repo = makeRepo({
      // With SLOW set, every experiment is slow; experiment 1 (VALUE 2) always is.
      'exp.sh': EXP.replace('echo "score', '[ "$VALUE" = 2 ] && sleep 30\necho "score'),
      'params.sh': 'VALUE=1\n',
      'program.md': program(
        `agent: { name: command, command: "echo VALUE=$((AUTORESEARCH_EXPERIMENT_ID + 1)) > params.sh" }\nstop: { experiments: 1 }\nenv: { set: { SLOW: ${marker} } }\n`,
      ).replace('budget: 2s', 'budget: 60s'),
    });
    // The baseline is slow too: interrupt it while it runs.
    const child = cliAsync(repo, ['run', '--tag', 'c']);
    const sleepPid = await waitFor(
      () => processesNamed(marker)[0],
      120_000,
      'the experiment to start',
    );
    expect(alive(sleepPid)).toBe(true);
    child.kill('SIGINT');
    const { code } = await exited(child);
    expect(code).toBe(130);
    expect(alive(sleepPid)).toBe(false);
    expect(ledgerRows(repo, 'c')[0]!.state).toBe('committed');
    // Resume without the slow path: edit program.md (not part of the run's files).
    writeFileSync(
      join(repo, 'program.md'),
      readFileSync(join(repo, 'program.md'), 'utf8').replace(/env:.*\n/, ''),
    );
    // The resumed run in this process; `abort` from the command line, as from another shell.
    const again = runHere(repo, { tag: 'c' });
    await waitFor(
      () => ledgerRows(repo, 'c').some((r) => r.id === 1 && r.state === 'running'),
      120_000,
      'experiment 1 to run',
    );
    const started = Date.now();
    expect((await cliHere(repo, ['abort'])).stdout).toContain('aborting the experiments in flight');
    const { output } = await again;
    expect(Date.now() - started).toBeLessThan(20_000); // not the 30 s sleep
    expect(output).toContain('resuming run c');
    const rows = ledgerRows(repo, 'c');
    // The baseline ran again; an interrupted experiment does not count: the run goes on to its one.
    expect(rows.map((r) => [r.id, r.status])).toEqual([
      [0, 'keep'],
      [1, 'interrupted'],
      [2, 'keep'],
    ]);
    expect(rows[1]!.reason).toBe('aborted by the user (autoresearch abort)');
  });

  it('works without a git identity, reads a JSON metrics file and hides API keys from experiments', () => {
    const repo = makeRepo({
      'exp.sh': `#!/bin/bash\nsource ./params.sh\nprintf '{"eval": {"score": %s}, "keys": %s}' "$VALUE" "$(env | grep -c _API_KEY)" > out.json\n`,
      'params.sh': 'VALUE=3\n',
      'program.md': program(
        'agent: { name: command, command: "echo VALUE=$((${#ANTHROPIC_API_KEY} + 4)) > params.sh" }\nmetrics_file: out.json\n',
      ).replace('name: score', 'name: eval.score'),
    });
    gitIn(repo, 'config', '--unset', 'user.email');
    gitIn(repo, 'config', '--unset', 'user.name');
    // A process of its own: the harness settles on its git identity once per process.
    const r = cli(repo, ['run', '--tag', 'j', '-n', '1'], {
      ANTHROPIC_API_KEY: 'sk-secret',
      OPENAI_API_KEY: 'sk-other',
      GIT_CONFIG_GLOBAL: '/dev/null',
      GIT_CONFIG_NOSYSTEM: '1',
      GIT_AUTHOR_NAME: '',
      GIT_AUTHOR_EMAIL: '',
      GIT_COMMITTER_NAME: '',
      GIT_COMMITTER_EMAIL: '',
    });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const rows = ledgerRows(repo, 'j') as Array<LedgerExperiment & { metrics_json: string }>;
    // The agent saw the key (its value length 9 + 4 = 13); the experiments saw none.
    expect(rows.map((e) => e.primary_value)).toEqual([3, 13]);
    expect(rows.map((e) => (JSON.parse(e.metrics_json) as { keys: number }).keys)).toEqual([0, 0]);
    // Kept: the branch's tip is the candidate, committed under the harness's own name.
    expect(gitIn(repo, 'log', '-1', '--format=%an <%ae>', 'autoresearch/j')).toBe(
      'autoresearch <autoresearch@localhost>',
    );
  });

  it('--help teaches the workflow', async () => {
    const r = await cliHere(tmpdir(), ['--help']);
    expect(r.stdout).toContain('autoresearch init');
    expect(r.stdout).toContain('autoresearch run');
    const run = await cliHere(tmpdir(), ['run', '--help']);
    expect(run.stdout).toContain('--max-experiments');
    expect(run.stdout).toContain('resume');
  });
});

// What ends a run on its own: the loop in this process (what `autoresearch run` prints, without a
// Node start-up); the command line's exit codes and messages are the tests above.
describe('stop conditions', () => {
  it('stops after N agent failures in a row with a summary', async () => {
    const repo = makeRepo({
      'exp.sh': EXP,
      'params.sh': 'VALUE=1\n',
      'program.md': program(
        'agent: { name: command, command: "echo cannot reach the model >&2; exit 1" }\nstop: { agent_failures: 3 }\n',
      ),
    });
    const { output } = await runHere(repo, { tag: 'f' });
    expect(output).toContain('stopped: the agent failed 3 times in a row');
    const rows = ledgerRows(repo, 'f');
    expect(rows.map((x) => x.status)).toEqual(['keep', 'failed', 'failed', 'failed']);
    expect(rows[1]!.reason).toContain('cannot reach the model');
  });

  // The default (10 in a row) is parseProgram's, checked in test/unit/program.test.ts.
  it('stops after `stop.skips_in_a_row` skipped proposals instead of proposing nothing new forever', async () => {
    const repo = makeRepo({
      'exp.sh': EXP,
      'params.sh': 'VALUE=1\n',
      'program.md': program(
        'agent: { name: command, command: "true" }\nstop: { skips_in_a_row: 3 }\n',
      ),
    });
    const { output } = await runHere(repo, { tag: 'k' });
    expect(output).toContain(
      'stopped: 3 proposals in a row were skipped (duplicates or no change): the agent is not finding anything new',
    );
    const rows = ledgerRows(repo, 'k');
    expect(rows.map((x) => x.status)).toEqual(['keep', ...Array<string>(3).fill('skipped')]);
    expect(rows[1]!.reason).toBe('the agent made no change');
  });
});

describe('controls from another shell', () => {
  it('pause holds the loop after the experiment in flight, a note given meanwhile reaches the next brief, resume continues, stop ends the run after the experiment in flight', async () => {
    const hold = tempDir('ar-hold-');
    const repo = makeRepo({
      // Experiments 1 and 2 (VALUE 2 and 3) hold until the test releases them: files they may
      // read, not write.
      'exp.sh': `#!/bin/bash\n${WAITING}source ./params.sh\nif [ "$VALUE" -ge 2 ]; then until [ -e "${hold}/$VALUE" ]; do nap; done; fi\necho "score: $VALUE"\n`,
      'params.sh': 'VALUE=1\n',
      // The baseline runs twice: the brief reports the noise of repeated runs.
      'program.md': program(
        'agent: { name: command, command: "echo VALUE=$((AUTORESEARCH_EXPERIMENT_ID + 1)) > params.sh; echo TITLE: raise to $((AUTORESEARCH_EXPERIMENT_ID + 1))" }\nstop: { experiments: 4 }\nrepeats: { baseline: 2 }\n',
      ).replace('budget: 2s', 'budget: 600s'),
    });
    const running = (id: number) => () =>
      ledgerRows(repo, 'ps').some((r) => r.id === id && r.state === 'running');
    const child = cliAsync(repo, ['run', '--tag', 'ps']);
    onTestFinished(() => void child.kill('SIGKILL')); // a failed test leaves no loop behind

    // Pause while experiment 1 runs: the loop records it, then waits.
    await waitFor(running(1), 120_000, 'experiment 1 to run');
    expect((await cliHere(repo, ['pause'])).stdout).toContain(
      'pausing after the experiments in flight',
    );
    writeFileSync(join(hold, '2'), '');
    await waitFor(
      () => child.output().includes('paused: `autoresearch resume` continues'),
      120_000,
      'the loop to pause',
    );
    expect(ledgerRows(repo, 'ps').map((r) => [r.id, r.status])).toEqual([
      [0, 'keep'],
      [1, 'keep'],
    ]);
    // Meanwhile the paused loop, looking at the PAUSE file, starts nothing.
    expect((await cliHere(repo, ['status'])).stdout).toMatch(/: paused \(pid \d+/);
    expect(
      (await cliHere(repo, ['note', 'stop', 'raising', 'VALUE;', 'try', 'something', 'else']))
        .stdout,
    ).toContain('1 steering note');
    expect((await cliHere(repo, ['note', '--list'])).stdout).toBe(
      '1. stop raising VALUE; try something else\n',
    );
    expect(ledgerRows(repo, 'ps')).toHaveLength(2); // nothing new while paused
    expect((await cliHere(repo, ['resume'])).stdout).toContain('resumed');

    // Stop while experiment 2 runs: the loop ends after it.
    await waitFor(running(2), 120_000, 'experiment 2 to run');
    expect((await cliHere(repo, ['status'])).stdout).toMatch(
      /in flight\s+#2 raise to 3: running .* of 10m 00s/,
    );
    expect((await cliHere(repo, ['stop'])).stdout).toContain(
      'will stop after the experiment in flight',
    );
    writeFileSync(join(hold, '3'), '');
    const { code } = await exited(child);
    expect(code).toBe(0);
    expect(child.output()).toContain('stopped: stop requested');
    const rows = ledgerRows(repo, 'ps');
    expect(rows.every((r) => r.state === 'recorded')).toBe(true);
    // Nothing lost, and nothing after the experiment in flight.
    expect(rows.map((r) => [r.id, r.status])).toEqual([
      [0, 'keep'],
      [1, 'keep'],
      [2, 'keep'],
    ]);
    expect((await cliHere(repo, ['status'])).stdout).toContain('stopped: stop requested');
    expect((await cliHere(repo, ['stop'])).stdout).toContain('is not running');
    // The note reached the brief of the experiment after it, with the noise and the kept change.
    const brief = readFileSync(join(repo, '.autoresearch/ps/experiments/2/brief.md'), 'utf8');
    expect(brief).toContain('## Steering notes from the human');
    expect(brief).toContain('- stop raising VALUE; try something else');
    expect(brief).toContain('- measurement noise (standard deviation of repeated runs): 0');
    expect(brief).toContain('- kept changes since the baseline, oldest first:\n  - 1: raise to 2');
  });
});

describe('rerun of a run whose harness died', () => {
  it('is refused while what the dead harness started may still run; the request waits for the run', async () => {
    const repo = makeRepo({
      'exp.sh': EXP,
      'params.sh': 'VALUE=1\n',
      'program.md': program('agent: { name: command, command: "echo VALUE=2 > params.sh" }\n'),
    });
    const slow = `ar-dead-${process.pid}-${Date.now()}`;
    // The baseline runs at once; then the harness is killed while a candidate runs (exp.sh
    // waits when SLOW is set): its row still names the process it started.
    const first = cliAsync(repo, ['run', '--tag', 'd', '--no-dashboard']);
    await waitFor(() => ledgerRows(repo, 'd')[0]?.state === 'recorded', 60_000, 'the baseline');
    first.kill('SIGKILL');
    await exited(first);
    const again = cliAsync(repo, ['run', '--tag', 'd', '--no-dashboard'], { SLOW: slow });
    await waitFor(() => processesNamed(slow).length > 0, 60_000, 'a candidate to run');
    again.kill('SIGKILL');
    await exited(again);
    const r = await cliHere(repo, ['rerun', '0', '--tag', 'd']);
    expect(r.code).toBe(2); // an error the user fixes, with the fix
    expect(r.stderr).toMatch(/run d stopped while experiment \d+ ran/);
    expect(r.stderr).toContain('autoresearch run --tag d');
    const ledger = new Ledger(ledgerPath(repo));
    try {
      expect(ledger.getRun('d')).toMatchObject({ state: 'running', pid: null });
      expect(ledger.takeRerun('d')).toBe(0); // waiting for the next `run`
    } finally {
      ledger.close();
    }
  });
});

/** `autoresearch rerun <id>` without a Node start-up (the command line's own is checked above it). */
function rerunHere(repo: string, tag: string, id: number): string {
  const ledger = new Ledger(ledgerPath(repo));
  try {
    const target = findRun(repo, ledger, tag);
    if (isRefusal(target)) throw new Error(target.message);
    return rerun(target, id).message;
  } finally {
    ledger.close();
  }
}

describe('rerun', () => {
  it('measures an experiment again when asked: a finished run at once, a sequential and a pipelined run before their next proposal; its value becomes the mean of its runs', async () => {
    const tag = 'rerun';
    const repo = makeRepo({
      // Each run of the same commit prints a slightly different value, from the harness's
      // per-measurement seed: VALUE * 10 + seed % 5.
      'exp.sh': `#!/bin/bash\nsource ./params.sh\necho "score: $((VALUE * 10 + AUTORESEARCH_SEED % 5))"\n`,
      'params.sh': 'VALUE=1\n',
      'program.md': program('agent: { name: command, command: "echo VALUE=2 > params.sh" }\n'),
    });
    const seeded = (id: number, run: number) => measurementSeed(tag, id, run) % 5;
    const base = 10 + seeded(0, 0);
    const runs = [0, 1, 2, 3].map((n) => 20 + seeded(1, n));
    const mean = (n: number) => runs.slice(0, n).reduce((a, b) => a + b) / n;
    // Each repeat moves the mean, so the value shows it was taken in.
    expect(new Set([mean(1), mean(2), mean(3), mean(4)]).size).toBe(4);
    const expectValue = (value: number) => {
      expect(ledgerRows(repo, tag).map((r) => r.primary_value)).toEqual([base, value]);
      // results.tsv shows the mean too, not the first measurement.
      expect(
        readResultsTsv(repo, tag)
          .slice(1)
          .map((r) => r[1]),
      ).toEqual([base.toFixed(6), value.toFixed(6)]);
    };
    await runHere(repo, { tag, maxExperiments: 1 });
    expectValue(mean(1));
    const finished = () => {
      const ledger = new Ledger(ledgerPath(repo));
      try {
        const run = ledger.getRun(tag)!;
        return { state: run.state, stop_reason: run.stop_reason, pid: run.pid };
      } finally {
        ledger.close();
      }
    };
    const before = finished();
    expect(before).toEqual({ state: 'finished', stop_reason: 'reached 1 experiment', pid: null });
    // The run is finished: `rerun` measures at once, through the loop's own re-run, sealed.
    const now = await cliHere(repo, ['rerun', '1']);
    expect(now.code).toBe(0);
    expect(now.stdout).toContain(`run ${tag} is not running: measuring experiment 1 again now`);
    expect(now.stdout).toContain(
      `re-ran experiment 1: ${runs[1]} (its value is now ${mean(2)}, n=2)`,
    );
    expectValue(mean(2));
    expect(finished()).toEqual(before); // still finished, for the same reason
    expect((await cliHere(repo, ['rerun', '9'])).stderr).toContain('has no experiment 9');
    // A sequential run (this process) serves a request before anything else ...
    expect(rerunHere(repo, tag, 1)).toContain(
      'experiment 1 will be measured again when the run continues',
    );
    const again = await runHere(repo, { tag, maxExperiments: 1 });
    expect(again.output).toContain(
      `re-ran experiment 1: ${runs[2]} (its value is now ${Number(mean(3).toPrecision(7))}, n=3)`,
    );
    expectValue(mean(3));
    // ... and so does a pipelined one (the command line's --pipeline).
    expect(rerunHere(repo, tag, 1)).toContain('experiment 1 will be measured again');
    const piped = await cliHere(repo, ['run', '--tag', tag, '-n', '1', '--pipeline']);
    expect(piped.code).toBe(0);
    // The value printed has 7 significant digits.
    expect(piped.stdout).toContain(
      `re-ran experiment 1: ${runs[3]} (its value is now ${Number(mean(4).toPrecision(7))}, n=4)`,
    );
    expectValue(mean(4));
  });
});
