import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  cli,
  gitIn,
  ledgerRows,
  makeRepo,
  waitFor,
  type LedgerExperiment,
} from '../helpers/repo.js';
import { cliHere } from '../helpers/cli-here.js';
import { controlHere, runHere } from '../helpers/run.js';
import { WAITING } from '../helpers/shell.js';

const EXP = `#!/bin/bash
source ./knobs.sh
if [ "$N" -gt 7 ]; then echo "N too large" >&2; exit 1; fi
awk -v x="$X" -v n="$N" -v m="$MODE" 'BEGIN { b = (m == "fast") ? 0 : 0.5; printf "score: %.6f\\n", (x - 0.3)^2 + (n - 5)^2 / 10 + b }'
`;

const KNOBS = `# knobs the optimizer may change
X=0.9   # a float
N=2
MODE="slow"
`;

// The score is a pure function of the knobs: one run decides (the noise handling is tested elsewhere).
const program = (search: string, extra = '') => `---
metric: { name: score, goal: minimize, deterministic: true }
run: bash exp.sh
budget: 5s
editable: [knobs.sh]
protected: [exp.sh]
agent: tune
${search}${extra}---
`;

const SEARCH = `search:
  seed: 7
  params:
    X:    { file: knobs.sh, type: float, min: 0.01, max: 1.0, log: true }
    N:    { file: knobs.sh, type: int, min: 1, max: 10 }
    MODE: { file: knobs.sh, type: categorical, values: [slow, fast] }
`;

const UNSEEDED = SEARCH.replace('  seed: 7\n', '');

/** A short space-filling start (3 points; 6 for three knobs by default): the model proposes sooner. */
const shortStart = (search: string) => search.replace('search:\n', 'search:\n  initial: 3\n');

/**
 * A run scoring below 0.5 waits until the branch has moved from where it started (a first keep):
 * the worktree shares the repository's refs, which a sealed run may read.
 */
const AFTER_FIRST_KEEP = `${WAITING}if awk -v s="\${score#score: }" 'BEGIN { exit !(s < 0.5) }'; then
  ref heads/main start
  until ref heads/autoresearch/c now && [ "$now" != "$start" ]; do nap; done
fi
`;

/** Aborts experiments 1 and 2 from inside: the file `autoresearch abort` writes, then a long run. */
const ABORT_EARLY =
  'if [ "$AUTORESEARCH_EXPERIMENT_ID" -ge 1 ] && [ "$AUTORESEARCH_EXPERIMENT_ID" -le 2 ]; then sleep 30; fi\n';

function tuneRepo(search = SEARCH, extra = ''): string {
  return makeRepo({ 'exp.sh': EXP, 'knobs.sh': KNOBS, 'program.md': program(search, extra) });
}

describe('the tune agent', () => {
  it('rewrites only the declared assignments, titles the change, and improves the metric; `seed:` fixes the sequence across tags', async () => {
    const repo = tuneRepo(shortStart(SEARCH));
    await runHere(repo, { tag: 'a', maxExperiments: 7 });
    const rows = ledgerRows(repo, 'a');
    expect(rows).toHaveLength(8);
    const kept = rows.filter((x) => x.status === 'keep' && x.id > 0);
    expect(kept.length).toBeGreaterThan(0);
    expect(Math.min(...kept.map((k) => k.primary_value!))).toBeLessThan(rows[0]!.primary_value!);
    // Titles say what changed, e.g. "X 0.9 -> 0.27, N 2 -> 6, MODE slow -> fast".
    expect(rows[1]!.title).toMatch(/^(X 0\.9 -> [\d.e-]+|N 2 -> \d+|MODE slow -> fast)(, .+)?$/);
    // Every proposal rewrites the same lines with other numbers: not flagged as repeated ideas.
    expect(rows.every((r) => r.idea_sketch === null && r.novelty_json === null)).toBe(true);
    // The change is a real commit touching only the values, comments preserved.
    const diff = gitIn(
      repo,
      'diff',
      `${rows[1]!.parent_commit}`,
      `${rows[1]!.candidate_commit}`,
      '--',
      'knobs.sh',
    );
    expect(
      diff
        .split('\n')
        .filter((l) => /^[-+][^-+]/.test(l))
        .every((l) => /^[-+](X=\S+ {3}# a float|N=\d+|MODE="\w+")$/.test(l)),
    ).toBe(true);
    const head = gitIn(repo, 'show', 'autoresearch/a:knobs.sh');
    expect(head).toContain('# knobs the optimizer may change');
    // Crashes (N > 7) are recorded as crashes, and teach it: of the proposals the model guides
    // (after the space-filling start), fewer than half crash.
    const crashes = rows.filter((x) => x.status === 'crash');
    expect(crashes.length).toBeGreaterThan(0);
    for (const c of crashes) expect(c.reason).toContain('N too large');
    const guided = rows.filter((x) => x.id > 0 && JSON.parse(x.agent_meta_json!).source === 'tpe');
    expect(guided.length).toBeGreaterThan(3);
    expect(guided.filter((x) => x.status === 'crash').length).toBeLessThan(guided.length / 2);
    // `seed:` fixes the sequence: a run under another tag starts with the same proposal.
    await runHere(repo, { tag: 'b', maxExperiments: 1 });
    expect(firstConfig(repo, 'b'), 'seeded: the same first proposal').toEqual(
      firstConfig(repo, 'a'),
    );
  });

  it('continues the same sequence of proposals after kill -9 and resume (seeded from the tag: another tag explores another)', async () => {
    const straight = tuneRepo(shortStart(UNSEEDED));
    await runHere(straight, { tag: 's', maxExperiments: 3 });
    const resumed = tuneRepo(shortStart(UNSEEDED));
    expect(
      cli(resumed, ['run', '--tag', 's', '-n', '3'], { AUTORESEARCH_CRASH_AT: 'measured:1' }).code,
    ).toBeNull();
    await runHere(resumed, { tag: 's', maxExperiments: 3 });
    const titles = (repo: string) => ledgerRows(repo, 's').map((r) => [r.title, r.status]);
    expect(titles(resumed)).toEqual(titles(straight));
    const sources = ledgerRows(resumed, 's').map(
      (r) => r.agent_meta_json && JSON.parse(r.agent_meta_json).source,
    );
    // After the resume it went on with both the space-filling start and the model.
    expect(sources).toEqual([null, 'initial', 'initial', 'tpe']);
    // Unseeded, the tag seeds it: a run under another tag explores another sequence.
    await runHere(straight, { tag: 'b', maxExperiments: 1 });
    expect(firstConfig(straight, 'b'), 'another tag, another first proposal').not.toEqual(
      firstConfig(straight, 's'),
    );
  });

  it('retires a configuration the user aborted: the run goes on with new ones, never re-proposing it', async () => {
    // Experiments 1 and 2 would run for 30 s: the user aborts each while it runs.
    const repo = tuneRepo();
    writeFileSync(
      join(repo, 'exp.sh'),
      EXP.replace('source ./knobs.sh\n', `source ./knobs.sh\n${ABORT_EARLY}`),
    );
    gitIn(repo, 'commit', '-qam', 'abort the first experiments');
    const run = runHere(repo, { tag: 'ab', maxExperiments: 2 });
    for (const id of [1, 2]) {
      await waitFor(
        () => ledgerRows(repo, 'ab').some((x) => x.id === id && x.state === 'running'),
        120_000,
        `experiment ${id} to run`,
      );
      controlHere(repo, 'ab', 'abort');
      await waitFor(
        () => ledgerRows(repo, 'ab').some((x) => x.id === id && x.state === 'recorded'),
        120_000,
        `experiment ${id} to end`,
      );
    }
    expect((await run).result.reason).toBe('reached 2 experiments');
    const rows = ledgerRows(repo, 'ab').filter((x) => x.id > 0);
    const interrupted = rows.filter((x) => x.status === 'interrupted');
    expect(interrupted.map((x) => x.id)).toEqual([1, 2]);
    for (const x of interrupted) expect(x.reason).toBe('aborted by the user (autoresearch abort)');
    // Before, the aborted configuration came back at once and was skipped as a duplicate of it, in
    // a loop, until the experiment limit: here every proposal is a new configuration, none skipped.
    expect(rows.filter((x) => x.status === 'skipped')).toEqual([]);
    expect(rows.filter((x) => x.status !== 'interrupted')).toHaveLength(2);
    const configs = rows.map((x) => JSON.stringify(JSON.parse(x.agent_meta_json!).config));
    expect(new Set(configs).size).toBe(rows.length);
  });

  it('rejects a bad search space before anything runs, naming the line', async () => {
    const reversed = tuneRepo(SEARCH.replace('min: 1, max: 10', 'min: 10, max: 1'));
    const e1 = await refusal(reversed);
    expect(e1).toContain('program.md:12: search.params.N');
    expect(e1).toMatch(/swap them/);
    expect(gitIn(reversed, 'branch', '--list', 'autoresearch/*')).toBe('');

    const e2 = await refusal(tuneRepo(SEARCH.replace('MODE: { file', 'SPEED: { file')));
    expect(e2).toContain('search.params.SPEED');
    expect(e2).toContain('knobs.sh');
    expect(e2).toContain('MODE'); // suggests what is assigned there

    const e3 = await refusal(
      tuneRepo(SEARCH.replace('min: 0.01, max: 1.0', 'min: 0.01, max: 0.5')),
    );
    expect(e3).toContain('search.params.X');
    expect(e3).toContain('0.9');

    const none = makeRepo({ 'exp.sh': EXP, 'knobs.sh': KNOBS, 'program.md': program('') });
    expect(await refusal(none)).toContain('the tune agent needs a search space');
    // What the CLI makes of it: the message and exit code 2.
    const r = await cliHere(none, ['run', '--tag', 'x']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('the tune agent needs a search space');
  });
});

/** The configuration of the first proposal of run `tag`. */
function firstConfig(repo: string, tag: string): unknown {
  return JSON.parse(ledgerRows(repo, tag)[1]!.agent_meta_json!).config;
}

/** The error a run of `repo` is refused with before it starts. */
async function refusal(repo: string): Promise<string> {
  try {
    await runHere(repo, { tag: 'x' });
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('the run was not refused');
}

/** The knobs a commit holds, as the optimizer's configuration. */
function knobs(repo: string, commit: string) {
  const text = gitIn(repo, 'show', `${commit}:knobs.sh`);
  return {
    X: Number(/^X=(\S+)/m.exec(text)![1]),
    N: Number(/^N=(\d+)/m.exec(text)![1]),
    MODE: /^MODE="(\w+)"/m.exec(text)![1],
  };
}

/**
 * Runs `n` tune experiments, each but the last running until the next candidate is committed (its
 * ref, which a sealed run may read): proposals happen while others run.
 */
async function slowTuneRun(extra: string, n: number) {
  const hold = `${WAITING}id=$AUTORESEARCH_EXPERIMENT_ID
if [ "$id" -ge 1 ] && [ "$id" -lt ${n} ]; then
  until ref "autoresearch/t/$((id + 1))" next; do nap; done
fi
`;
  const repo = makeRepo({
    'exp.sh': EXP.replace('source ./knobs.sh\n', `source ./knobs.sh\n${hold}`),
    'knobs.sh': KNOBS,
    'program.md': program(SEARCH, extra),
  });
  const { output } = await runHere(repo, { tag: 't', maxExperiments: n });
  const rows = ledgerRows(repo, 't').filter((x) => x.id > 0);
  expect(rows).toHaveLength(n);
  // The only failures are the experiment's own crashes (N > 7): none waited past its budget.
  for (const x of rows.filter((y) => !['keep', 'discard'].includes(y.status!)))
    expect(x.reason, `experiment ${x.id}: ${x.status}`).toContain('N too large');
  return { repo, stdout: output, rows };
}

describe('the tune agent with parallel slots', () => {
  it('never proposes a configuration that another slot is running', async () => {
    const { repo, rows } = await slowTuneRun('slots: 2\n', 3);
    expect(rows.filter((x) => x.status === 'skipped')).toEqual([]);
    const configs = rows.map((x) =>
      JSON.stringify((JSON.parse(x.agent_meta_json!) as { config: unknown }).config),
    );
    expect(new Set(configs).size).toBe(3);
    // What each experiment ran, and what the branch holds, is exactly the configuration the
    // optimizer proposed and learns from, even for winners carried onto a newer incumbent.
    for (const x of rows)
      expect(knobs(repo, x.candidate_commit!), `experiment ${x.id}`).toEqual(
        JSON.parse(x.agent_meta_json!).config,
      );
    expect(rows.filter((x) => x.reason?.includes('conflicts'))).toEqual([]);
  });

  it('pipelined: a configuration prepared before a keep runs on the new incumbent exactly as proposed', async () => {
    const { repo, stdout, rows } = await slowTuneRun('pipeline: true\n', 2);
    // Each candidate was prepared while the one before it ran; after a keep it had to be carried.
    expect(stdout).toMatch(
      /experiment \d: carried onto experiment \d, kept while it waited to run/,
    );
    // A textual merge of two configurations conflicts (both rewrite X) and would lose the
    // candidate; the agent writes its configuration again instead, so none is skipped.
    expect(rows.filter((x) => x.status === 'skipped')).toEqual([]);
    for (const x of rows) {
      expect(knobs(repo, x.candidate_commit!), `experiment ${x.id}`).toEqual(
        JSON.parse(x.agent_meta_json!).config,
      );
      expect(x.parent_commit).toBe(x.incumbent_commit); // measured on top of the incumbent it was judged against
    }
  });

  it('parallel: a winner carried onto a newer incumbent keeps its configuration, measurements and outputs', async () => {
    // Seed 2 proposes a good configuration, then a much better one (score < 0.5) in the other
    // slot: two experiments. The better one runs only once the branch has moved (the first winner kept), whichever
    // slot either is in, so it is judged against a newer incumbent and carried onto it. The
    // holdout reads what the run wrote.
    const repo = makeRepo({
      'exp.sh': EXP.replace(
        /^awk .*\n$/m,
        (line) => `score=$(${line.trim()})\n${AFTER_FIRST_KEEP}echo "$score" | tee produced.txt\n`,
      ),
      'knobs.sh': KNOBS,
      'holdout.sh': 'cat produced.txt\n',
      'program.md': program(
        SEARCH.replace('seed: 7', 'seed: 2'),
        'slots: 2\nholdout: bash holdout.sh\nartifacts: [produced.txt]\n',
      ).replace('protected: [exp.sh]', 'protected: [exp.sh, holdout.sh]'),
    });
    await runHere(repo, { tag: 'c', maxExperiments: 2 });
    const rows = ledgerRows(repo, 'c') as Array<
      LedgerExperiment & { holdout_value: number | null }
    >;
    const carried = rows.filter((x) => x.reason?.includes('re-based onto experiment'));
    expect(carried.length).toBeGreaterThan(0);
    for (const x of carried) {
      // Re-applied, not merged: the same files it was measured with, so its measurement stands.
      expect(x.reason).toContain('(the files it was measured with)');
      expect(knobs(repo, x.candidate_commit!)).toEqual(JSON.parse(x.agent_meta_json!).config);
    }
    // Every keep got its holdout from its own outputs (carrying did not wipe the slot's worktree).
    // (The value is the mean of its runs, all equal here: equal up to the mean's rounding.)
    for (const x of rows.filter((y) => y.status === 'keep'))
      expect(x.holdout_value, `experiment ${x.id}`).toBeCloseTo(x.primary_value!, 12);
  });
});
