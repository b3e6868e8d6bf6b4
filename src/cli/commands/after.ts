/**
 * After the run: `runs` (every run of the repository), `diff` (what an experiment or the best
 * changed) and `apply` (bring it to your branch). They read the ledger only; `apply` writes to the
 * user's checkout through src/workspace/apply.ts. The modules they need load in their actions, so
 * `--help` and the other commands start without them.
 */
import type { Command } from 'commander';
import type { LedgerReader } from '../../ledger/reader.js';
import type { RunOverview } from '../../loop/runs.js';
import { UserError } from '../../program/errors.js';
import { TAG_OPTION } from '../options.js';

const WHICH = ['[id]', 'an experiment id, or best (default): everything the run kept'] as const;

async function withReader<T>(fn: (reader: LedgerReader) => Promise<T>): Promise<T> {
  const { openLedger } = await import('../../ledger/reader.js');
  const reader = await openLedger(process.cwd());
  try {
    return await fn(reader);
  } finally {
    reader.close();
  }
}

function ago(ms: number, now = Date.now()): string {
  const s = Math.max(0, (now - ms) / 1000);
  if (s < 90) return `${Math.round(s)} s ago`;
  if (s < 90 * 60) return `${Math.round(s / 60)} min ago`;
  if (s < 36 * 3600) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} d ago`;
}

async function runsTable(runs: RunOverview[]): Promise<string> {
  const { fmtPct, fmtValue } = await import('../format.js');
  const header = [
    'tag',
    'program',
    'state',
    'experiments',
    'best',
    'improvement',
    'spend',
    'last activity',
  ];
  const rows = runs.map((r) => [
    r.tag,
    r.program,
    r.pid ? `${r.state} (pid ${r.pid})` : r.state,
    String(r.experiments),
    r.bestExperiment ? `${fmtValue(r.best)} (#${r.bestExperiment})` : fmtValue(r.best),
    fmtPct(r.improvementPct) || '—',
    r.spend.tokens > 0 || r.spend.usd > 0 ? `$${r.spend.usd.toFixed(2)}` : '—',
    ago(r.lastActivity),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  return [header, ...rows]
    .map((cells) =>
      cells
        .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

export function registerAfter(program: Command): void {
  program
    .command('runs')
    .description(
      'list every run of this repository: state, experiments, best, improvement over baseline, spend, last activity',
    )
    .option('--json', 'machine-readable output')
    .option('-q, --quiet', 'only the tags, one a line')
    .addHelpText(
      'after',
      `
States: running and paused (a live harness), stopped (by you; \`autoresearch run --tag <tag>\`
resumes it), finished (a stop condition was reached), failed (the baseline did not work),
crashed (the harness died; \`run --tag <tag>\` resumes it).

Examples:
  autoresearch runs
  autoresearch runs --json | jq '.[] | select(.state == "finished") | .tag'`,
    )
    .action(async (o: { json?: boolean; quiet?: boolean }) => {
      const { runsOverview } = await import('../../loop/runs.js');
      const runs = await withReader(runsOverview);
      if (o.json) {
        const out = runs.map((r) => ({
          ...r,
          createdAt: new Date(r.createdAt).toISOString(),
          lastActivity: new Date(r.lastActivity).toISOString(),
        }));
        process.stdout.write(JSON.stringify(out, null, 2) + '\n');
      } else if (o.quiet) process.stdout.write(runs.map((r) => `${r.tag}\n`).join(''));
      else if (runs.length === 0) process.stdout.write('no runs yet (autoresearch run)\n');
      else process.stdout.write((await runsTable(runs)) + '\n');
    });

  program
    .command('diff')
    .argument(...WHICH)
    .description(
      "show an experiment's change against its parent commit, or the best against the run's base commit",
    )
    .option(...TAG_OPTION)
    .option('--stat', 'only the files changed and the lines added and removed')
    .addHelpText(
      'after',
      `
Examples:
  autoresearch diff                  # everything the latest run kept, against where it started
  autoresearch diff 12 --stat        # the files experiment 12 changed
  autoresearch diff best --tag nov28 | git apply   # the best as a patch on your working tree`,
    )
    .action(async (which: string | undefined, o: { tag?: string; stat?: boolean }) => {
      const [{ pickRun, pickChange }, { git }] = await Promise.all([
        import('../../loop/runs.js'),
        import('../../workspace/git.js'),
      ]);
      const out = await withReader(async (reader) => {
        const change = await pickChange(reader, pickRun(reader, o.tag), which);
        await requireCommits(reader.repo, [change.from, change.commit]);
        const color = process.stdout.isTTY ? '--color=always' : '--no-color';
        const args = ['diff', '--no-ext-diff', color, ...(o.stat ? ['--stat'] : [])];
        return git(reader.repo, [...args, change.from, change.commit, '--']);
      });
      process.stdout.write(out);
    });

  program
    .command('apply')
    .argument(...WHICH)
    .description(
      'bring an experiment (default: the best) to your current branch: a fast-forward when possible, else a merge commit; or --squash, or --branch',
    )
    .option(...TAG_OPTION)
    .option(
      '--squash',
      "one new commit on your branch whose message lists the kept changes and what each gained, instead of the run's history",
    )
    .option('--branch <name>', 'create a branch at the commit instead; your branch stays as it is')
    .addHelpText(
      'after',
      `
Your uncommitted work is never touched: apply refuses, naming the files, when it would change a
file with local changes. Hooks and filters of the run's tree never run (the agent wrote it).

Examples:
  autoresearch apply                       # the latest run's best onto your branch
  autoresearch apply best --squash         # as one commit: "autoresearch nov28: val_bpb 1.02 -> 0.97 (+4.90%), 6 kept changes"
  autoresearch apply 12 --branch try-12    # experiment 12 on a new branch, to look at first`,
    )
    .action(
      async (which: string | undefined, o: { tag?: string; squash?: boolean; branch?: string }) => {
        if (o.squash && o.branch)
          throw new UserError(
            '--squash and --branch do not go together',
            "apply --branch <name> creates a branch at the run's commit; apply --squash makes one commit on your branch",
          );
        await withReader((reader) => applyChange(reader, which, o));
      },
    );
}

async function requireCommits(repo: string, commits: string[]): Promise<void> {
  const { commitExists } = await import('../../workspace/apply.js');
  for (const c of commits)
    if (!(await commitExists(repo, c)))
      throw new UserError(
        `commit ${c.slice(0, 10)} is no longer in the repository (the run was cleaned and git collected it)`,
        'autoresearch clean --keep-best keeps the best commit of a run',
      );
}

async function applyChange(
  reader: LedgerReader,
  which: string | undefined,
  o: { tag?: string; squash?: boolean; branch?: string },
): Promise<void> {
  const [runs, apply, { applyMessage }, { fmtValue }] = await Promise.all([
    import('../../loop/runs.js'),
    import('../../workspace/apply.js'),
    import('../apply-message.js'),
    import('../format.js'),
  ]);
  const run = runs.pickRun(reader, o.tag);
  const change = await runs.pickChange(reader, run, which);
  await requireCommits(reader.repo, [change.commit]);
  const what = `${change.label} of run ${run.tag} (${change.commit.slice(0, 10)}: ${change.experiment.title ?? ''}, ${run.metric_name} ${fmtValue(change.experiment.primary_value)})`;
  const { state, pid } = runs.activityOf(reader.repo, run);
  if (pid)
    process.stderr.write(
      `warning: run ${run.tag} is ${state} (pid ${pid}): its best may still change; this applies ${change.label} as it is now\n`,
    );
  if (change.offFront) process.stderr.write(`warning: ${change.offFront}\n`);
  else if (change.experiment.status !== 'keep')
    process.stderr.write(
      `warning: experiment ${change.experiment.id} was not kept (${change.experiment.status ?? change.experiment.state}${change.experiment.reason ? `: ${change.experiment.reason.split('\n')[0]}` : ''})\n`,
    );
  const checkout = reader.repo;
  if (o.branch) {
    await apply.createBranch(checkout, o.branch, change.commit);
    process.stdout.write(`created branch ${o.branch} at ${what}\n`);
    return;
  }
  const incoming = await apply.incomingCommits(checkout, change.commit);
  const included = change.rows.filter(
    (r) => r.id > 0 && r.candidate_commit !== null && incoming.has(r.candidate_commit),
  );
  const r = await apply.applyCommit(checkout, change.commit, {
    squash: o.squash,
    message: (kind) => applyMessage(change, included, kind),
    notOnto: reader.runs().map((r) => r.branch),
  });
  const files = r.files.length ? `; files: ${r.files.join(', ')}` : '';
  const line = {
    'up-to-date': `${r.branch} already has ${what}; nothing to do`,
    'fast-forward': `${r.branch} fast-forwarded to ${what}${files}`,
    merge: `merged ${what} into ${r.branch} as ${r.after.slice(0, 10)}${files}`,
    squash: `committed ${what} on ${r.branch} as one commit ${r.after.slice(0, 10)}${files}`,
  }[r.kind];
  process.stdout.write(line + '\n');
}
