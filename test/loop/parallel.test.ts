import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cliAsync, exited, gitIn, ledgerRows, makeRepo, waitFor } from '../helpers/repo.js';
import { runHere } from '../helpers/run.js';
import { WAITING } from '../helpers/shell.js';
import { tempDir } from '../helpers/temp.js';

/** The sum of the numbers in v/*, by builtins (no process per file). */
const SUM =
  'total=0; for f in v/*; do [ -e "$f" ] && read -r n <"$f" && total=$((total + n)); done\n';

// Each proposal adds a file v/<id>; the score is the sum of the ids present, so a later proposal
// beats an earlier incumbent, and two slots regularly finish against a moved incumbent. Experiment
// 3 always does, however fast the machine: experiments 1 and 2 finish only once it is committed
// (so it is built on the baseline), and it waits until the branch has moved (a first keep, of 1
// or 2), and beats either (the worktree shares the repository's refs, which a sealed run may
// read). Each run logs its slot's device and when it held it (sealed runs share no writable
// folder to lock in).
const EXP = `#!/bin/bash
${WAITING}echo "slot $AUTORESEARCH_SLOT device $CUDA_VISIBLE_DEVICES"
echo "held \${EPOCHREALTIME/./}"
nap 0.$((RANDOM % 4 + 1))
case "$AUTORESEARCH_EXPERIMENT_ID" in 1 | 2)
  until ref autoresearch/p/3 third; do nap; done
esac
if [ "$AUTORESEARCH_EXPERIMENT_ID" = 3 ]; then
  ref heads/main start
  until ref heads/autoresearch/p now && [ "$now" != "$start" ]; do nap; done
fi
${SUM}echo "released \${EPOCHREALTIME/./}"
echo "score: $total"
`;

describe('parallel slots', () => {
  it('keeps one ledger and one branch consistent, re-basing winners onto a moved incumbent, each slot on its own device', async () => {
    const repo = makeRepo({
      'exp.sh': EXP,
      'v/0': '0\n',
      'program.md': `---
metric: { name: score, goal: maximize, deterministic: true }
verify_rebased: true
run: bash exp.sh
budget: 10s
editable: ["v/*"]
protected: [exp.sh]
devices: [a, b, c]
agent: { name: command, command: 'echo $AUTORESEARCH_EXPERIMENT_ID > v/$AUTORESEARCH_EXPERIMENT_ID; echo "TITLE: add $AUTORESEARCH_EXPERIMENT_ID"' }
---
`,
    });
    const { output } = await runHere(repo, { tag: 'p', maxExperiments: 4 });
    expect(output).toContain('(3 slots, up to 4 experiments)'); // one slot per device by default
    const rows = ledgerRows(repo, 'p');
    expect(rows.map((x) => x.id)).toEqual([...Array(5).keys()]); // no id twice, none missing
    expect(rows.every((x) => x.state === 'recorded')).toBe(true);
    const slots = new Set(rows.slice(1).map((x) => (x as unknown as { slot: number }).slot));
    expect(slots.size).toBe(3);
    // The branch is a first-parent chain of exactly the kept commits, in the order they were kept.
    const kept = rows
      .filter((x) => x.status === 'keep' && x.id > 0)
      .sort(
        (a, b) =>
          (a as unknown as { recorded_at: number }).recorded_at -
          (b as unknown as { recorded_at: number }).recorded_at,
      );
    const chain = gitIn(repo, 'rev-list', '--first-parent', 'autoresearch/p')
      .split('\n')
      .reverse()
      .slice(1);
    expect(chain).toEqual(kept.map((k) => k.candidate_commit));
    // A re-based keep carries every earlier kept change plus its own.
    const head = gitIn(repo, 'ls-tree', '--name-only', 'autoresearch/p', 'v/').split('\n').sort();
    expect(head).toEqual(['v/0', ...kept.map((k) => `v/${k.id}`)].sort());
    const rebased = rows.filter((x) => x.reason?.includes('re-based onto experiment'));
    expect(rebased.length).toBeGreaterThan(0);
    for (const x of rebased) {
      expect(x.candidate_commit).not.toBe(gitIn(repo, 'rev-parse', `refs/autoresearch/p/${x.id}`));
      // verify_rebased (the default for a noisy metric): a re-based winner is measured again first.
      expect(x.reason).toContain('re-measured');
    }
    expect(kept.length).toBeGreaterThan(1);
    // Changes to different files never conflict.
    expect(rows.filter((x) => x.reason?.includes('conflicts'))).toEqual([]);

    // Every run had its slot's own device.
    const held: Record<string, Array<[number, number]>> = {};
    for (const x of rows.filter((e) => e.id > 0)) {
      const slot = (x as unknown as { slot: number }).slot;
      const log = readFileSync(x.log_path!, 'utf8');
      const devices = [...log.matchAll(/^slot (\d+) device (\w+)$/gm)];
      expect(devices.length, `experiment ${x.id}`).toBeGreaterThan(0);
      for (const d of devices) expect(d.slice(1)).toEqual([String(slot), ['a', 'b', 'c'][slot]]);
      const spans = (held[devices[0]![2]!] ??= []);
      const from = [...log.matchAll(/^held (\d+)$/gm)].map((m) => Number(m[1]));
      const to = [...log.matchAll(/^released (\d+)$/gm)].map((m) => Number(m[1]));
      expect(to.length).toBe(from.length);
      from.forEach((f, i) => spans.push([f, to[i]!]));
    }
    // No two runs ever held the same device at the same time.
    for (const spans of Object.values(held)) {
      spans.sort((a, b) => a[0] - b[0]);
      for (let i = 1; i < spans.length; i++) expect(spans[i]![0]).toBeGreaterThan(spans[i - 1]![1]);
    }
    await expect(runHere(repo, { tag: 'p2', parallel: 4 })).rejects.toThrow(
      '--parallel 4 but only 3 devices',
    );
  });
});

describe('crashes with several experiments in flight', () => {
  it('kill -9 with several experiments in flight: resume finishes each exactly once', async () => {
    // Candidates hold until the test has killed the harness (a file they may read, not write).
    const release = join(tempDir('ar-release-'), 'go');
    const repo = makeRepo({
      'exp.sh': `${WAITING}if [ "$AUTORESEARCH_EXPERIMENT_ID" -gt 0 ]; then until [ -e "${release}" ]; do nap; done; fi\n${SUM}echo "score: $total"\n`,
      'v/0': '0\n',
      'program.md': `---
metric: { name: score, goal: maximize, deterministic: true }
run: bash exp.sh
budget: 10s
editable: ["v/*"]
protected: [exp.sh]
agent: { name: command, command: 'echo $AUTORESEARCH_EXPERIMENT_ID > v/$AUTORESEARCH_EXPERIMENT_ID' }
---
`,
    });
    const child = cliAsync(repo, ['run', '--tag', 'k', '-j', '3', '-n', '4']);
    await waitFor(
      () => ledgerRows(repo, 'k').filter((x) => x.state === 'running' && x.id > 0).length >= 2,
      120_000,
      'two experiments in flight',
    );
    child.kill('SIGKILL');
    await exited(child);
    writeFileSync(release, '');
    const unfinished = ledgerRows(repo, 'k').filter((x) => x.state !== 'recorded');
    // Experiments that were running are finished on resume; an agent caught proposing is recorded as interrupted.
    const inFlight = unfinished.filter((x) => x.state !== 'proposing').map((x) => x.id);
    const proposing = unfinished.filter((x) => x.state === 'proposing').map((x) => x.id);
    expect(inFlight.length).toBeGreaterThanOrEqual(2);
    await runHere(repo, { tag: 'k', parallel: 3, maxExperiments: 4 });
    const rows = ledgerRows(repo, 'k');
    expect(rows.every((x) => x.state === 'recorded')).toBe(true);
    expect(rows.map((x) => x.id)).toEqual([...Array(rows.length).keys()]);
    // The interrupted ones were finished, not dropped, and the count stops at 4.
    for (const id of inFlight) expect(rows[id]!.status).not.toBe('interrupted');
    for (const id of proposing) expect(rows[id]!.status).toBe('interrupted');
    expect(rows.filter((x) => x.id > 0 && x.status !== 'interrupted')).toHaveLength(4);
    const kept = rows.filter((x) => x.status === 'keep');
    expect(gitIn(repo, 'rev-parse', 'autoresearch/k')).toBe(
      kept
        .sort(
          (a, b) =>
            (a as unknown as { recorded_at: number }).recorded_at -
            (b as unknown as { recorded_at: number }).recorded_at,
        )
        .at(-1)!.candidate_commit,
    );
  });
});

/**
 * A deterministic maximize program of run `tag` whose experiments `held` run until the next
 * candidate is committed (its ref, which a sealed run may read): only a loop that proposes while
 * an experiment runs gets past them.
 */
function pipelineRepo(
  tag: string,
  held: string,
  score: string,
  files: Record<string, string>,
  editable: string,
  agentWrites: string,
): string {
  const hold = `${WAITING}id=$AUTORESEARCH_EXPERIMENT_ID
case "$id" in ${held})
  until ref "autoresearch/${tag}/$((id + 1))" next; do nap; done
esac
`;
  return makeRepo({
    'exp.sh': `${hold}${score}`,
    ...files,
    'program.md': `---
metric: { name: score, goal: maximize, deterministic: true }
run: bash exp.sh
budget: 10s
editable: [${editable}]
protected: [exp.sh]
agent: { name: command, command: 'echo $AUTORESEARCH_EXPERIMENT_ID > ${agentWrites}' }
---
`,
  });
}

describe('pipelining', () => {
  it('prepares the next candidate while the current one runs, and keeps the ledger and branch consistent', async () => {
    const repo = pipelineRepo(
      'pl',
      '1 | 2',
      `${SUM}echo "score: $total"\n`,
      { 'v/0': '0\n' },
      '"v/*"',
      'v/$AUTORESEARCH_EXPERIMENT_ID',
    );
    const { output } = await runHere(repo, { tag: 'pl', pipeline: true, maxExperiments: 3 });
    const rows = ledgerRows(repo, 'pl') as Array<{
      id: number;
      status: string;
      state: string;
      proposed_at: number;
      finished_at: number;
      reason: string | null;
      candidate_commit: string;
      primary_value: number;
    }>;
    expect(rows.map((x) => x.id)).toEqual([0, 1, 2, 3]);
    expect(rows.every((x) => x.state === 'recorded')).toBe(true);
    // Experiment k+1 was being proposed before experiment k had finished running.
    for (let k = 1; k < 3; k++) expect(rows[k + 1]!.proposed_at).toBeLessThan(rows[k]!.finished_at);
    // Every candidate adds a file, so each beats the incumbent of its time. Each was proposed while
    // the one before it ran, against an incumbent that was replaced meanwhile, so it was carried
    // onto the new incumbent before it ran: it was measured with every earlier file (0+1+...+k).
    const kept = rows.filter((x) => x.status === 'keep' && x.id > 0);
    expect(kept.length).toBe(3);
    expect(rows.map((x) => x.primary_value)).toEqual([0, 1, 3, 6]);
    expect(output).toMatch(
      /experiment \d: carried onto experiment \d, kept while it waited to run/,
    );
    expect(
      gitIn(repo, 'ls-tree', '--name-only', 'autoresearch/pl', 'v/').split('\n').sort(),
    ).toEqual(['v/0', 'v/1', 'v/2', 'v/3']);
  });

  it('skips a prepared candidate whose change no longer applies to the new incumbent, and proposes again from there', async () => {
    // Every proposal rewrites the same line, so a candidate prepared before the previous keep conflicts with it.
    // Experiment 1 runs until 2 is prepared, so 2 is always built on the baseline it replaces.
    const repo = pipelineRepo(
      'pc',
      '1',
      'read -r v <v\necho "score: $v"\n',
      { v: '0\n' },
      'v',
      'v',
    );
    await runHere(repo, { tag: 'pc', pipeline: true, maxExperiments: 3 });
    const rows = ledgerRows(repo, 'pc') as Array<{
      id: number;
      status: string;
      reason: string | null;
      parent_commit: string;
      primary_value: number | null;
    }>;
    const conflicted = rows.filter((x) => x.status === 'skipped');
    expect(conflicted.length).toBeGreaterThan(0);
    for (const x of conflicted) {
      expect(x.reason).toMatch(
        /^its change no longer applies on top of experiment \d+, kept while it waited to run; the next proposal starts from there$/,
      );
      expect(x.primary_value).toBeNull(); // never run
      // The next proposal was made against the incumbent that replaced its parent.
      const next = rows.find((y) => y.id === x.id + 1);
      if (next) expect(next.parent_commit).not.toBe(x.parent_commit);
    }
    // Whatever ran was measured on top of the incumbent of its moment, and the branch only moved forward.
    const kept = rows.filter((x) => x.status === 'keep').map((x) => x.primary_value!);
    expect(kept).toEqual([...kept].sort((a, b) => a - b));
    expect(gitIn(repo, 'show', 'autoresearch/pc:v')).toBe(String(Math.max(...kept)));
  });
});
