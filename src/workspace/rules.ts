/**
 * The rules a candidate must follow, as pure functions: which changed paths are allowed.
 * Patterns are relative to the program's folder; git paths are relative to the repository root.
 */
import picomatch from 'picomatch';
import { posix } from 'node:path';

export interface RuleViolation {
  path: string;
  rule:
    | 'outside-editable'
    | 'protected'
    | 'nested-git'
    | 'symlink-outside'
    | 'too-large'
    | 'special-file';
  /** The symlink's target, the file's size. */
  detail?: string;
}

/** Turns a repository-relative path into a program-relative one, or null when outside the program's folder. */
export function toProgramPath(repoPath: string, programDir: string): string | null {
  if (!programDir) return repoPath;
  const prefix = programDir.endsWith('/') ? programDir : programDir + '/';
  return repoPath.startsWith(prefix) ? repoPath.slice(prefix.length) : null;
}

export function makeMatcher(patterns: string[]): (path: string) => boolean {
  if (patterns.length === 0) return () => false;
  // A plain folder name such as `src` or `src/` means everything under it.
  const expanded = patterns.flatMap((p) => {
    const clean = posix.normalize(p.replace(/^\.\//, ''));
    return picomatch.scan(clean).isGlob
      ? [clean]
      : [clean.replace(/\/$/, ''), `${clean.replace(/\/$/, '')}/**`];
  });
  return picomatch(expanded, { dot: true });
}

/** Checks every changed path against editable and protected; protected wins over editable. */
export function checkChangedPaths(
  changed: string[],
  programDir: string,
  editable: string[],
  protectedPatterns: string[],
): RuleViolation[] {
  const isEditable = makeMatcher(editable);
  const isProtected = makeMatcher(protectedPatterns);
  const violations: RuleViolation[] = [];
  for (const repoPath of changed) {
    const rel = toProgramPath(repoPath, programDir);
    if (rel !== null && isProtected(rel)) violations.push({ path: repoPath, rule: 'protected' });
    else if (rel === null || !isEditable(rel))
      violations.push({ path: repoPath, rule: 'outside-editable' });
  }
  return violations;
}

const WHY: Record<RuleViolation['rule'], (v: RuleViolation) => string> = {
  protected: () => 'protected',
  'outside-editable': () => 'not editable',
  'nested-git': () => 'a nested .git: git would not record what is inside it',
  'symlink-outside': (v) => `a symlink pointing outside the worktree: ${v.detail ?? ''}`,
  'too-large': (v) => `${v.detail ?? 'too large'}, over max_file_bytes`,
  'special-file': () => 'not a regular file, folder or symlink',
};

export function describeViolations(violations: RuleViolation[], editable: string[]): string {
  const first = violations.slice(0, 5).map((v) => `${v.path} (${WHY[v.rule](v)})`);
  const more = violations.length > 5 ? ` and ${violations.length - 5} more` : '';
  return `changed files outside the rules: ${first.join(', ')}${more}; editable: ${editable.join(', ')}`;
}
