/**
 * Where an agent-owned session edits: a worktree of the run made for it
 * (`.autoresearch/<tag>/session`), at the incumbent, reset to the new incumbent after every
 * decision. The user's checkout is never touched, and the slots the loop measures in stay the
 * harness's own: a `try` takes the session's files as a tree, which the loop's agent applies to
 * the candidate's worktree.
 */
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { linkKeptIgnored } from '../sandbox/sandbox.js';
import { Worktree } from '../workspace/worktree.js';

export class SessionWorktree {
  private readonly wt: Worktree;
  /** The commit the files were last reset to (what a change is measured against). */
  base: string | null = null;

  /**
   * @param programDir the program's folder relative to the repository root ('' at the root)
   * @param keepIgnored `keep_ignored:` paths (relative to the program's folder): linked from the
   *   checkout, as in an unsealed slot, so the session sees the data its code reads
   * @param indexFile a private git index the harness owns (the session may use git in its worktree)
   */
  constructor(
    readonly repo: string,
    readonly path: string,
    private readonly programDir: string,
    private readonly keepIgnored: string[],
    private readonly indexFile: string,
  ) {
    this.wt = new Worktree(repo, path);
  }

  /** The program's folder inside the worktree: where `editable` paths resolve. */
  get programPath(): string {
    return join(this.path, this.programDir);
  }

  /**
   * At start: keep the files of a session that was at `incumbent` when its server ended (its
   * unfinished edits survive a restart); otherwise reset.
   */
  async open(incumbent: string): Promise<void> {
    const head = existsSync(join(this.path, '.git'))
      ? (await this.wt.git(['rev-parse', 'HEAD'], { allowFail: true })).trim()
      : '';
    if (head === incumbent) {
      this.base = incumbent;
      this.linkKept();
    } else await this.reset(incumbent);
  }

  /** Exactly `commit`'s files (untracked and ignored ones removed), `keep_ignored` linked again. */
  async reset(commit: string): Promise<void> {
    this.wt.touched(); // the session may have changed anything since the last reset
    await this.wt.reset(commit);
    this.base = commit;
    this.linkKept();
  }

  /**
   * The tree of the worktree's files as they are now: every change, to any file git does not
   * ignore (the loop judges them against editable and protected as it does any agent's), but not
   * the `keep_ignored` links.
   */
  async capture(): Promise<string> {
    if (!this.base) throw new Error('the session worktree is not ready');
    mkdirSync(dirname(this.indexFile), { recursive: true });
    rmSync(this.indexFile, { force: true });
    const env = { GIT_INDEX_FILE: this.indexFile };
    const prefix = this.programDir ? `${this.programDir}/` : '';
    const exclude = this.keepIgnored.map(
      (p) => `:(exclude,literal)${prefix}${p.replace(/\/$/, '')}`,
    );
    await this.wt.git(['read-tree', this.base], { env });
    await this.wt.git(['add', '-A', '--', '.', ...exclude], { env });
    return (await this.wt.git(['write-tree'], { env })).trim();
  }

  /** The tree of the commit the files were reset to: a capture equal to it is no change. */
  async baseTree(): Promise<string> {
    return this.wt.treeOf(this.base!);
  }

  /** Applies a unified diff (paths relative to the repository root) on top of the files. */
  async apply(diff: string): Promise<void> {
    const text = diff.endsWith('\n') ? diff : `${diff}\n`;
    await this.wt.git(['apply', '--whitespace=nowarn', '-'], { input: text });
  }

  private linkKept(): void {
    linkKeptIgnored(this.repo, this.programDir, this.keepIgnored, this.path);
  }
}
