type Files = Record<string, string>;

/**
 * A patch in git's format that turns files with `before` content into `after` content (files
 * only in `before` stay as they are). Each changed file is one hunk that replaces its whole
 * content, so the patch applies to any tree where those files have the `before` content, as a
 * scripted agent's ideas do. It is made from the contents alone, so no repository is needed
 * (the older form names one, unread): a scratch worktree and six git processes per patch cost
 * about 0.2 s of CPU each, in every test that scripts an agent.
 */
export function patchBetween(before: Files, after: Files): string;
export function patchBetween(repo: string, before: Files, after: Files): string;
export function patchBetween(...args: [Files, Files] | [string, Files, Files]): string {
  const [before, after] = args.length === 2 ? args : [args[1], args[2]];
  let patch = '';
  for (const path of Object.keys(after).sort()) {
    const from = before[path];
    const to = after[path]!;
    if (from === to) continue;
    patch += `diff --git a/${path} b/${path}\n`;
    if (from === undefined) patch += 'new file mode 100644\n';
    patch += `--- ${from === undefined ? '/dev/null' : `a/${path}`}\n+++ b/${path}\n`;
    const [old, now] = [lines(from ?? ''), lines(to)];
    patch += `@@ -${range(old.length)} +${range(now.length)} @@\n`;
    patch += hunkLines('-', from ?? '', old) + hunkLines('+', to, now);
  }
  return patch;
}

function lines(text: string): string[] {
  return text === '' ? [] : text.replace(/\n$/, '').split('\n');
}

/** A hunk's range of `n` lines that are the whole file ("0,0" for none). */
function range(n: number): string {
  return n === 0 ? '0,0' : `1,${n}`;
}

function hunkLines(sign: '-' | '+', text: string, of: string[]): string {
  const body = of.map((l) => `${sign}${l}\n`).join('');
  return text !== '' && !text.endsWith('\n') ? `${body}\\ No newline at end of file\n` : body;
}
