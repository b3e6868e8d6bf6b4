/** Plain git, each call one short process started by the launcher's kept shell (util/launcher.ts). */
import { existsSync, readdirSync, readFileSync, type Dirent } from 'node:fs';
import { join, sep } from 'node:path';
import { UserError } from '../program/errors.js';
import { launch } from '../util/launcher.js';

class GitError extends Error {
  constructor(
    readonly args: string[],
    readonly code: number | null,
    readonly stderr: string,
  ) {
    super(
      `git ${args.filter((a) => !a.startsWith('--git-dir=') && !a.startsWith('--work-tree=')).join(' ')} failed (${code}): ${stderr.trim().split('\n').slice(-3).join(' | ')}`,
    );
    this.name = 'GitError';
  }
}

/**
 * The identity harness commits use, per repository root: a program embedding the loop may run
 * in repositories configured differently, and a process-wide answer would sign one repository's
 * commits with what was decided for another (or leave them unsigned, and failing).
 */
const identities = new Map<string, Record<string, string>>();

const FALLBACK_IDENTITY = {
  GIT_AUTHOR_NAME: 'autoresearch',
  GIT_AUTHOR_EMAIL: 'autoresearch@localhost',
  GIT_COMMITTER_NAME: 'autoresearch',
  GIT_COMMITTER_EMAIL: 'autoresearch@localhost',
};

/** Harness commits need an identity; in a repository without one configured, sign as autoresearch. */
export async function ensureIdentity(cwd: string): Promise<void> {
  if (identities.has(cwd)) return;
  const email = await git(cwd, ['config', 'user.email'], { allowFail: true });
  identities.set(cwd, email.trim() ? {} : FALLBACK_IDENTITY);
}

/** The identity decided for the repository `cwd` is in (its root or a folder under it). */
function identityFor(cwd: string): Record<string, string> {
  for (const [root, env] of identities)
    if (cwd === root || cwd.startsWith(root.endsWith(sep) ? root : root + sep)) return env;
  return {};
}

export interface GitOptions {
  allowFail?: boolean;
  input?: string;
  env?: Record<string, string>;
}

/**
 * Options for every harness git call: no fsmonitor (a config value git would run as a command)
 * and no hooks (`worktree add` would run post-checkout): the harness's git never runs code the
 * repository's settings name.
 */
const SAFE = ['-c', 'core.fsmonitor=false', '-c', 'core.hooksPath=/dev/null'];

export async function git(cwd: string, args: string[], opts: GitOptions = {}): Promise<string> {
  const r = await launch('git', [...SAFE, ...args], {
    cwd,
    maxBuffer: 256 * 1024 * 1024,
    input: opts.input,
    env: {
      ...process.env,
      ...identityFor(cwd),
      ...opts.env,
      GIT_TERMINAL_PROMPT: '0',
      LC_ALL: 'C',
    },
  });
  if (r.code !== 0 && !opts.allowFail) throw new GitError(args, r.code, r.stderr);
  return r.code !== 0 ? '' : r.stdout;
}

/** Like git() but returns the exit code instead of throwing (for merge-tree, which exits 1 on conflict). */
export function gitStatus(
  cwd: string,
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  return launch('git', [...SAFE, ...args], {
    cwd,
    maxBuffer: 64 * 1024 * 1024,
    env: { ...process.env, ...identityFor(cwd), LC_ALL: 'C' },
  });
}

const commonDirs = new Map<string, string>();

/** The repository's root; its shared .git folder is asked in the same process (gitCommonDir). */
export async function repoRoot(cwd: string): Promise<string> {
  const out = await git(
    cwd,
    ['rev-parse', '--show-toplevel', '--path-format=absolute', '--git-common-dir'],
    { allowFail: true },
  );
  const [root, common] = out.split('\n');
  if (!root || !common) {
    throw new UserError(
      `${cwd} is not inside a git repository: autoresearch records every candidate as a git commit.`,
      'git init && git add -A && git commit -m "initial"',
    );
  }
  commonDirs.set(root, common);
  return root;
}

export async function headCommit(cwd: string): Promise<string> {
  const out = await git(cwd, ['rev-parse', '--verify', '-q', 'HEAD^{commit}'], { allowFail: true });
  if (!out.trim())
    throw new UserError(
      'the repository has no commits yet; the baseline is a commit.',
      'git add -A && git commit -m "initial"',
    );
  return out.trim();
}

export async function resolveRef(cwd: string, ref: string): Promise<string | null> {
  const out = await git(cwd, ['rev-parse', '--verify', '-q', `${ref}^{commit}`], {
    allowFail: true,
  });
  return out.trim() || null;
}

/**
 * The repository's shared .git folder, asked once per folder and process: a run asks it for every
 * worktree and ref check, and where a repository keeps its .git does not change while it runs.
 */
export async function gitCommonDir(cwd: string): Promise<string> {
  let common = commonDirs.get(cwd);
  if (!common) {
    common = (await git(cwd, ['rev-parse', '--path-format=absolute', '--git-common-dir'])).trim();
    commonDirs.set(cwd, common);
  }
  return common;
}

export interface DiffStat {
  files: number;
  added: number;
  deleted: number;
  paths: string[];
}

export async function diffStat(cwd: string, from: string, to: string): Promise<DiffStat> {
  return numstat(await git(cwd, ['diff', '--numstat', '-z', '--no-renames', from, to]));
}

function numstat(out: string): DiffStat {
  const stat: DiffStat = { files: 0, added: 0, deleted: 0, paths: [] };
  for (const entry of out.split('\0').filter(Boolean)) {
    const [a, d, ...rest] = entry.split('\t');
    stat.files++;
    stat.added += Number(a) || 0;
    stat.deleted += Number(d) || 0;
    stat.paths.push(rest.join('\t'));
  }
  return stat;
}

/**
 * The diff stat and the `--unified=0` patch between two commits, from one git process: git writes
 * the NUL-terminated numstat, one NUL, then the patch (nothing at all when the trees are equal).
 * No external diff or textconv: the harness's git never runs a command the repository names.
 */
export async function diffWithPatch(
  cwd: string,
  from: string,
  to: string,
): Promise<{ stat: DiffStat; patch: string }> {
  const out = await git(cwd, [
    'diff',
    '--numstat',
    '--patch',
    '--unified=0',
    '-z',
    '--no-color',
    '--no-ext-diff',
    '--no-textconv',
    '--no-renames',
    from,
    to,
  ]);
  const end = out.indexOf('\0\0');
  if (end < 0) return { stat: numstat(out), patch: '' };
  return { stat: numstat(out.slice(0, end + 1)), patch: out.slice(end + 2) };
}

/**
 * Refs under `prefixes` (e.g. `refs/autoresearch/nov28/`, or one full ref name) and their commits,
 * read from the repository's files as git stores them (loose files over packed-refs), with no git
 * process: the loop checks its refs at every decision. Falls back to `git for-each-ref` for a
 * repository that keeps refs another way (reftable) or a ref that is symbolic.
 */
export async function listRefs(repo: string, prefixes: string[]): Promise<Map<string, string>> {
  const common = await gitCommonDir(repo);
  const viaGit = async () => {
    const out = await git(repo, ['for-each-ref', '--format=%(objectname) %(refname)', ...prefixes]);
    return new Map(
      out
        .split('\n')
        .filter(Boolean)
        .map((l) => [l.slice(l.indexOf(' ') + 1), l.slice(0, l.indexOf(' '))] as [string, string]),
    );
  };
  if (existsSync(join(common, 'reftable'))) return viaGit();
  const refs = new Map<string, string>();
  const wanted = (name: string) =>
    prefixes.some((p) => (p.endsWith('/') ? name.startsWith(p) : name === p));
  try {
    for (const line of readFileSync(join(common, 'packed-refs'), 'utf8').split('\n')) {
      if (!line || line.startsWith('#') || line.startsWith('^')) continue;
      const [sha, name] = line.split(' ');
      if (sha && name && wanted(name)) refs.set(name, sha);
    }
  } catch {
    // no packed refs
  }
  const loose = (name: string): boolean => {
    let text: string;
    try {
      text = readFileSync(join(common!, name), 'utf8').trim();
    } catch {
      return true;
    }
    if (!/^[0-9a-f]{40,64}$/.test(text)) return false;
    refs.set(name, text);
    return true;
  };
  for (const prefix of prefixes) {
    if (!prefix.endsWith('/')) {
      if (!loose(prefix)) return viaGit();
      continue;
    }
    const stack = [prefix.slice(0, -1)];
    while (stack.length > 0) {
      const dir = stack.pop()!;
      let entries: Dirent[];
      try {
        entries = readdirSync(join(common, dir), { withFileTypes: true });
      } catch {
        continue;
      }
      for (const e of entries) {
        const name = `${dir}/${e.name}`;
        if (e.isDirectory()) stack.push(name);
        else if (e.isFile() && !e.name.endsWith('.lock') && !loose(name)) return viaGit();
      }
    }
  }
  return refs;
}

/** The commit of one full ref name (`refs/heads/...`), read like listRefs; null when there is none. */
export async function readRef(repo: string, ref: string): Promise<string | null> {
  return (await listRefs(repo, [ref])).get(ref) ?? null;
}
