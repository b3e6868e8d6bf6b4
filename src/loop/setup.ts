/**
 * Opening a run: find the repository and program, create the branch and ledger rows for a new
 * tag or resume an existing one, and refuse clearly when something would be unsafe.
 */
import { createHash } from 'node:crypto';
import {
  accessSync,
  appendFileSync,
  constants,
  existsSync,
  mkdirSync,
  readFileSync,
  rmSync,
} from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { pidAlive } from '../executors/proc.js';
import { Ledger } from '../ledger/ledger.js';
import type { RunRow } from '../ledger/types.js';
import { UserError } from '../program/errors.js';
import { loadProgram, type Program } from '../program/program.js';
import {
  ensureIdentity,
  git,
  gitCommonDir,
  headCommit,
  repoRoot,
  readRef,
} from '../workspace/git.js';
import { hashFiles, missingFiles, resolveProtected, type Hashes } from '../workspace/protect.js';
import { Worktree } from '../workspace/worktree.js';
import { runPaths, STATE_DIR, type RunPaths } from './context.js';

export interface OpenRunOptions {
  cwd: string;
  program?: string;
  tag?: string;
  maxExperiments?: number;
  maxHours?: number;
  parallel?: number;
  /** Overrides `budget:` (seconds) for this invocation. */
  budget?: number;
  /**
   * Only measure the run's pending re-run requests (`measureReruns`): the run must exist, and a
   * run whose baseline failed is left as it is rather than started afresh.
   */
  rerunsOnly?: boolean;
}

/** Called once the program and ledger are known and before anything is created, so bad settings stop the run early. */
export type Prepare<T> = (info: {
  program: Program;
  programDirAbs: string;
  ledger: Ledger;
  tag: string;
  repo: string;
}) => Promise<T>;

export interface OpenedRun<T = unknown> {
  prepared: T;
  repo: string;
  paths: RunPaths;
  program: Program;
  programDir: string;
  ledger: Ledger;
  run: RunRow;
  resumed: boolean;
  protectedHashes: Hashes;
  /** The run's state and stop reason before this start (null: a new run). */
  before: Pick<RunRow, 'state' | 'stop_reason'> | null;
}

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];

/** The default tag is the date, as in the original setup (`nov28`). */
function defaultTag(now = new Date()): string {
  return `${MONTHS[now.getMonth()]}${now.getDate()}`;
}

function validateTag(tag: string): string {
  if (
    !/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(tag) ||
    tag.includes('..') ||
    tag.endsWith('.lock')
  ) {
    throw new UserError(
      `invalid tag "${tag}": use letters, digits, '.', '_' and '-' (it becomes the branch autoresearch/${tag})`,
      '--tag nov28-lr',
    );
  }
  return tag;
}

function programLocation(
  repo: string,
  cwd: string,
  program?: string,
): { file: string; dir: string } {
  const file = resolve(cwd, program ?? 'program.md');
  const dir = relative(repo, dirname(file)).split('\\').join('/');
  if (dir.startsWith('..'))
    throw new UserError(
      `${file} is outside the repository ${repo}`,
      'run autoresearch inside the repository that holds program.md',
    );
  return { file, dir };
}

/** Keeps a path the harness writes out of `git status` without touching the user's .gitignore. */
async function excludeFromGit(repo: string, line: string, comment: string): Promise<void> {
  const exclude = join(await gitCommonDir(repo), 'info', 'exclude');
  const current = existsSync(exclude) ? readFileSync(exclude, 'utf8') : '';
  if (current.split('\n').some((l) => l.trim() === line)) return;
  mkdirSync(dirname(exclude), { recursive: true });
  appendFileSync(
    exclude,
    `${current && !current.endsWith('\n') ? '\n' : ''}# ${comment}\n${line}\n`,
  );
}

/**
 * `results_tsv:` puts the file in the user's checkout: refuse to overwrite a file git tracks, and
 * keep the untracked one out of `git status` (and so out of a careless `git add -A`).
 */
async function prepareResultsTsv(repo: string, program: Program): Promise<void> {
  const path = program.config.results_tsv;
  if (!path) return;
  const rel = relative(repo, resolve(repo, path)).split('\\').join('/');
  if ((await git(repo, ['ls-files', '--', `:(literal)${rel}`])).trim()) {
    throw new UserError(
      `results_tsv: ${rel} is tracked by git; each run rewrites it, which would show as your change`,
      `untrack it (git rm --cached ${rel} && git commit -m "untrack results.tsv") or set another path in ${program.file}`,
    );
  }
  await excludeFromGit(
    repo,
    `/${rel.replace(/[*?[\]\\!# ]/g, '\\$&')}`,
    'autoresearch results.tsv (results_tsv: in program.md)',
  );
}

/** Another harness on the same run is alive when its PID exists and it beat recently. */
export function liveHarness(run: RunRow, now = Date.now()): number | null {
  if (!run.pid || run.pid === process.pid || !pidAlive(run.pid)) return null;
  return run.heartbeat_at && now - run.heartbeat_at < 30_000 ? run.pid : null;
}

export async function openRun<T>(opts: OpenRunOptions, prepare: Prepare<T>): Promise<OpenedRun<T>> {
  const repo = await repoRoot(opts.cwd);
  const location = programLocation(repo, opts.cwd, opts.program);
  const program = loadProgram(location.file);
  if (opts.budget !== undefined) {
    if (opts.budget > program.config.timeout) {
      throw new UserError(
        `--budget ${opts.budget}s is longer than the hard timeout (${program.config.timeout}s)`,
        `raise \`timeout:\` in ${program.file} or pass a shorter --budget`,
      );
    }
    program.config.budget = opts.budget;
  }
  await ensureIdentity(repo);
  await excludeFromGit(repo, `/${STATE_DIR}/`, 'autoresearch state (ledger, worktrees, logs)');
  await prepareResultsTsv(repo, program);
  const tag = validateTag(opts.tag ?? defaultTag());
  let paths = runPaths(repo, tag);
  const ledger = new Ledger(paths.ledger);
  try {
    let run = ledger.getRun(tag);
    if (!run && opts.rerunsOnly)
      throw new UserError(`no run ${tag} in the ledger`, `autoresearch run --tag ${tag}`);
    if (run && !opts.rerunsOnly && baselineFailed(ledger, run)) {
      // A run whose baseline never worked has nothing worth keeping: start it again from HEAD.
      await discardRun(repo, ledger, run);
      run = undefined;
    }
    const prepared = await prepare({
      program,
      programDirAbs: dirname(location.file),
      ledger,
      tag,
      repo,
    });
    const base = run?.base_commit ?? (await headCommit(repo));
    await checkUntracked(repo, base, location.dir, program);
    const resumed = Boolean(run);
    const before = run ? { state: run.state, stop_reason: run.stop_reason } : null;
    if (run) {
      const other = liveHarness(run);
      if (other)
        throw new UserError(
          `run ${tag} is already running in process ${other}`,
          `autoresearch stop --tag ${tag}   (or watch it: autoresearch status --tag ${tag})`,
        );
      if (run.program_path !== relative(repo, location.file)) {
        throw new UserError(
          `run ${tag} belongs to ${run.program_path}, not ${relative(repo, location.file)}`,
          `pick another tag: --tag ${tag}-2`,
        );
      }
      // The worktrees stay where the run started them, whatever program.md says now.
      paths = runPaths(repo, tag, run.work_dir, program.config.results_tsv);
    } else {
      paths = runPaths(
        repo,
        tag,
        workDirFor(repo, tag, program, dirname(location.file)),
        program.config.results_tsv,
      );
      run = await createRun(repo, paths, program, location, tag, ledger, base);
    }
    ledger.updateRun(tag, {
      pid: process.pid,
      heartbeat_at: Date.now(),
      state: 'running',
      stop_reason: null,
      config_json: JSON.stringify(program.config),
    });
    run = ledger.getRun(tag)!;
    // A new start runs: stop and pause requests belonged to the previous harness.
    for (const f of [paths.stopFile, paths.pauseFile]) if (existsSync(f)) rmSync(f);
    return {
      prepared,
      repo,
      paths,
      program,
      programDir: location.dir,
      ledger,
      run,
      resumed,
      protectedHashes: JSON.parse(run.protected_json) as Hashes,
      before,
    };
  } catch (e) {
    ledger.close();
    throw e;
  }
}

async function createRun(
  repo: string,
  paths: RunPaths,
  program: Program,
  location: { file: string; dir: string },
  tag: string,
  ledger: Ledger,
  base: string,
): Promise<RunRow> {
  const branch = `autoresearch/${tag}`;
  if (await readRef(repo, `refs/heads/${branch}`)) {
    throw new UserError(
      `branch ${branch} already exists but the ledger has no run ${tag}`,
      `use another tag (--tag ${tag}-2) or delete the branch: git branch -D ${branch}`,
    );
  }
  await checkProtectedClean(repo, location.dir, program);
  // Hash protected files as the run's first worktree sees them (the base commit, not the user's edits).
  const slot0 = new Worktree(repo, paths.slot(0));
  await slot0.reset(base);
  const programDirAbs = join(slot0.path, location.dir);
  const files = await resolveProtected(programDirAbs, program.config.protected);
  const hashes = hashFiles(programDirAbs, files);
  const missing = missingFiles(hashes);
  if (missing.length > 0) {
    throw new UserError(
      `protected file ${missing.join(', ')} is not in the last commit (untracked or ignored?); experiments run on committed files`,
      `git add ${missing.map((m) => join(location.dir, m)).join(' ')} && git commit -m "add protected files"`,
    );
  }
  await git(repo, ['update-ref', `refs/heads/${branch}`, base, '']);
  const now = Date.now();
  const run: RunRow = {
    tag,
    branch,
    created_at: now,
    updated_at: now,
    program_path: relative(repo, location.file),
    program_dir: location.dir,
    base_commit: base,
    metric_name: program.config.metric.name,
    goal: program.config.metric.goal,
    config_json: JSON.stringify(program.config),
    protected_json: JSON.stringify(hashes),
    state: 'running',
    stop_reason: null,
    pid: process.pid,
    heartbeat_at: now,
    work_dir: paths.workDir === paths.runDir ? null : paths.workDir,
    sandbox_json: null,
    drift_json: null,
  };
  ledger.createRun(run);
  return run;
}

/**
 * With `slurm.shared_dir`, a run's worktrees and experiment folders go to
 * <shared_dir>/<repo name>-<hash of its path>/<tag>, so that compute nodes see what they run and
 * two repositories (or two clones of one) never share a folder. Null: under .autoresearch/<tag>.
 */
function workDirFor(
  repo: string,
  tag: string,
  program: Program,
  programDirAbs: string,
): string | null {
  const shared = program.config.executor === 'slurm' ? program.config.slurm.shared_dir : undefined;
  if (!shared) return null;
  const root = resolve(programDirAbs, shared);
  const dir = join(
    root,
    `${basename(repo)}-${createHash('sha256').update(repo).digest('hex').slice(0, 8)}`,
    tag,
  );
  try {
    mkdirSync(dir, { recursive: true });
    accessSync(dir, constants.W_OK);
  } catch (e) {
    throw new UserError(
      `slurm.shared_dir: cannot create a folder for the run in ${root}: ${(e as Error).message}`,
      `create ${root} and make it writable, or change slurm.shared_dir in ${program.file}`,
    );
  }
  return dir;
}

/** Uncommitted edits to protected files would make the user's evaluator differ from the run's. */
async function checkProtectedClean(
  repo: string,
  programDir: string,
  program: Program,
): Promise<void> {
  if (program.config.protected.length === 0) return;
  const cwd = join(repo, programDir);
  const out = await git(
    cwd,
    ['status', '--porcelain=v1', '--', ...program.config.protected.map((p) => `:(glob)${p}`)],
    { allowFail: true },
  );
  const dirty = out
    .split('\n')
    .filter(Boolean)
    .map((l) => l.slice(3));
  if (dirty.length > 0) {
    throw new UserError(
      `protected files have uncommitted changes: ${dirty.join(', ')}. The run starts from the last commit, so its evaluator would differ from yours`,
      `commit them (git commit -am "update evaluator") or put them aside (git stash)`,
    );
  }
}

/**
 * `hidden:` and `keep_ignored:` paths come from the checkout, never from git: a tracked hidden file
 * would be readable through git's objects (and in every worktree), and a tracked kept path would
 * be covered by its mount.
 */
async function checkUntracked(
  repo: string,
  base: string,
  programDir: string,
  program: Program,
): Promise<void> {
  const prefix = programDir ? `${programDir}/` : '';
  for (const key of ['hidden', 'keep_ignored'] as const) {
    const paths = program.config[key];
    if (paths.length === 0) continue;
    const tracked = (
      await git(repo, [
        'ls-tree',
        '-r',
        '--name-only',
        '-z',
        base,
        '--',
        ...paths.map((p) => prefix + p.replace(/^\.\//, '').replace(/\/$/, '')),
      ])
    )
      .split('\0')
      .filter(Boolean);
    if (tracked.length > 0) {
      const why =
        key === 'hidden'
          ? 'agents and runs could read it through git'
          : 'the sandbox mounts it from your checkout over the tracked files';
      throw new UserError(
        `${key}: ${tracked.slice(0, 3).join(', ')}${tracked.length > 3 ? ` and ${tracked.length - 3} more` : ''} is tracked by git, and ${why}`,
        `untrack it and ignore it: git rm -r --cached ${tracked[0]} && echo '/${tracked[0]}' >> .gitignore && git commit -m "untrack ${tracked[0]}"`,
      );
    }
  }
}

/**
 * Nothing of the run is worth keeping: no candidate ran, and it failed (a baseline that did not
 * work ends it so), or its baseline is recorded as not kept (the harness was killed before it
 * could mark the run failed). Not while another harness runs it.
 */
function baselineFailed(ledger: Ledger, run: RunRow): boolean {
  if (liveHarness(run) || ledger.countCandidates(run.tag) > 0) return false;
  const baseline = ledger.getExperiment(run.tag, 0);
  return run.state === 'failed' || (baseline?.state === 'recorded' && baseline.status !== 'keep');
}

/** Refs first: killed in between, the ledger still has the run and the next start discards it again. */
async function discardRun(repo: string, ledger: Ledger, run: RunRow): Promise<void> {
  await git(repo, ['update-ref', '-d', `refs/heads/${run.branch}`], { allowFail: true });
  const refs = await git(
    repo,
    ['for-each-ref', '--format=%(refname)', `refs/autoresearch/${run.tag}/`],
    { allowFail: true },
  );
  for (const ref of refs.split('\n').filter(Boolean))
    await git(repo, ['update-ref', '-d', ref], { allowFail: true });
  ledger.deleteRun(run.tag);
}
