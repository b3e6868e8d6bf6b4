/**
 * `autoresearch clean`: remove what finished runs leave in git and on disk (worktrees, scratch
 * folders, the candidate refs, the run branch). The record stays unless --all: the run's folder
 * (results.tsv, logs, briefs) and its rows in the ledger. A run whose harness lives is refused.
 */
import type { Command } from 'commander';
import { dirname, join, relative } from 'node:path';
import type { RunRow } from '../../ledger/types.js';
import { UserError } from '../../program/errors.js';

interface CleanOptions {
  keepBest?: boolean;
  dryRun?: boolean;
  all?: boolean;
}

export function registerClean(program: Command): void {
  program
    .command('clean')
    .argument('[tag]', 'the run to clean (default: every run that is not running)')
    .description(
      "remove the worktrees, branch and refs/autoresearch/<tag>/* refs of finished runs; the ledger and the run's logs stay unless --all",
    )
    .option('--keep-best', 'keep the run branch autoresearch/<tag>: it holds the best commit')
    .option('--dry-run', 'list what would be removed; remove nothing')
    .option(
      '--all',
      "also remove the run's folder (results.tsv, logs, briefs) and its rows in the ledger: `runs` no longer lists it",
    )
    .addHelpText(
      'after',
      `
A running or paused run is refused (stop it first: autoresearch stop --tag <tag>). Without
--keep-best, the best commit stays reachable only until git collects it: apply it first, or keep it.

Examples:
  autoresearch clean --dry-run             # what every finished run would lose
  autoresearch clean nov28 --keep-best     # worktrees and candidate refs go, autoresearch/nov28 stays`,
    )
    .action(async (tag: string | undefined, o: CleanOptions) => {
      const { openLedger } = await import('../../ledger/reader.js');
      const { pickRun } = await import('../../loop/runs.js');
      const reader = await openLedger(process.cwd());
      const repo = reader.repo;
      let runs: RunRow[];
      try {
        runs = tag === undefined ? reader.runs() : [pickRun(reader, tag)];
      } finally {
        reader.close();
      }
      if (runs.length === 0) process.stdout.write('no runs in the ledger: nothing to clean\n');
      const removed: string[] = [];
      for (const run of runs)
        if (await cleanRun(repo, run, tag !== undefined, o)) removed.push(run.tag);
      if (o.all && !o.dryRun && removed.length > 0) {
        const { Ledger } = await import('../../ledger/ledger.js');
        const { ledgerPath } = await import('../../loop/context.js');
        const ledger = new Ledger(ledgerPath(repo));
        try {
          for (const t of removed) ledger.deleteRun(t);
        } finally {
          ledger.close();
        }
      }
    });
}

/** Cleans one run; false when it was left alone (its harness lives). */
async function cleanRun(
  repo: string,
  run: RunRow,
  named: boolean,
  o: CleanOptions,
): Promise<boolean> {
  const [{ activityOf }, { runPathsOf }, clean] = await Promise.all([
    import('../../loop/runs.js'),
    import('../../loop/context.js'),
    import('../../workspace/clean.js'),
  ]);
  const { state, pid } = activityOf(repo, run);
  if (pid) {
    const why = `run ${run.tag} is ${state} (harness pid ${pid})`;
    if (named)
      throw new UserError(
        `${why}: nothing was removed`,
        `autoresearch stop --tag ${run.tag}, then clean`,
      );
    process.stdout.write(`${why}: left alone\n`);
    return false;
  }
  const paths = runPathsOf(repo, run);
  const work = paths.workDir;
  const folders = o.all
    ? [paths.runDir, work]
    : [
        dirname(paths.slot(0)),
        dirname(paths.evalDir('x')),
        dirname(paths.indexFile('x')),
        join(work, 'tmp'),
      ];
  const l = await clean.leftoversOf(repo, {
    tag: run.tag,
    branch: run.branch,
    folders,
    keepBranch: o.keepBest,
  });
  const verb = o.dryRun ? 'would remove' : 'removed';
  const show = (p: string) => relative(process.cwd(), p) || '.';
  const branchRef = `refs/heads/${run.branch}`;
  const candidates = [...l.refs.keys()].filter((r) => r !== branchRef);
  const lines = [`run ${run.tag} (${state}${run.stop_reason ? `: ${run.stop_reason}` : ''}):`];
  for (const w of l.worktrees) lines.push(`  ${verb} worktree  ${show(w)}`);
  for (const f of l.folders) lines.push(`  ${verb} folder    ${show(f)}`);
  if (candidates.length)
    lines.push(`  ${verb} refs      ${candidates.length} under refs/autoresearch/${run.tag}/`);
  const branchAt = l.refs.get(branchRef);
  if (branchAt)
    lines.push(
      `  ${verb} branch    ${run.branch} (at ${branchAt.slice(0, 10)}; \`git branch <name> ${branchAt.slice(0, 10)}\` brings it back until git collects it)`,
    );
  else if (l.branchKept) lines.push(`  branch ${run.branch} ${l.branchKept}`);
  if (lines.length === 1) lines.push('  nothing to remove');
  if (!o.all)
    lines.push(
      `  kept: ${show(paths.runDir)} (results.tsv, logs, briefs) and the run in the ledger (--all removes them)`,
    );
  else lines.push(`  ${verb} the run's rows in the ledger`);
  if (!o.dryRun) await clean.removeLeftovers(repo, l);
  process.stdout.write(lines.join('\n') + '\n');
  return true;
}
