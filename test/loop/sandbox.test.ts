/**
 * The sandbox where it is missing, unprivileged, or turned off: the run says "unsealed" and why,
 * `sandbox: required` refuses, an unprivileged user is sealed too, and without the sandbox the
 * harness's own checks still catch what they can (moved refs, hidden changes, orphaned agents).
 */
import { chmodSync, cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { detectSandbox } from '../../src/sandbox/detect.js';
import { processesNamed } from '../helpers/processes.js';
import {
  alive,
  cliAsync,
  exited,
  gitIn,
  ledgerRows,
  makeRepo,
  ROOT,
  waitFor,
} from '../helpers/repo.js';
import { tempDir } from '../helpers/temp.js';
import { cliHere } from '../helpers/cli-here.js';
import { runHere } from '../helpers/run.js';

const sealed = (await detectSandbox()).sealed;

const program = (extra: string) => `---
metric: { name: score, goal: minimize, deterministic: true }
run: bash exp.sh
budget: 5s
editable: [params.sh]
protected: [exp.sh]
${extra}---
`;

const EXP =
  'source ./params.sh\nsource ./helper.sh\n[ -f boost.txt ] && { echo "score: 0"; exit 0; }\necho "score: $((VALUE - BONUS))"\n';

function fakeBwrap(body: string): string {
  const file = join(tempDir('ar-bwrap-'), 'bwrap');
  writeFileSync(file, `#!/bin/sh\n${body}\n`);
  chmodSync(file, 0o755);
  return file;
}

describe('without a working sandbox', () => {
  it('the run warns that it is unsealed and why, works, and status says so; `sandbox: required` refuses to start', async () => {
    // As on a distribution that restricts user namespaces: bwrap is there but cannot sandbox.
    const bwrap = fakeBwrap(
      '[ "$1" = --version ] && { echo "bubblewrap 0.9.0"; exit 0; }\necho "bwrap: setting up uid map: Permission denied" >&2\nexit 1',
    );
    const repo = makeRepo({
      'exp.sh': EXP,
      'params.sh': 'VALUE=5\n',
      'helper.sh': 'BONUS=0\n',
      'program.md': program('agent: { name: command, command: "echo VALUE=4 > params.sh" }\n'),
    });
    const env = { ...process.env, AUTORESEARCH_BWRAP: bwrap };
    const { output } = await runHere(repo, { tag: 'u', maxExperiments: 1, env });
    expect(output).toContain(
      'warning: sandbox: UNSEALED: bubblewrap cannot create a sandbox here: bwrap: setting up uid map: Permission denied',
    );
    expect(output).toContain('user namespaces are probably restricted');
    expect(ledgerRows(repo, 'u').map((x) => x.status)).toEqual(['keep', 'keep']);
    expect((await cliHere(repo, ['status'])).stdout).toMatch(
      /sandbox {6}UNSEALED: bubblewrap cannot create a sandbox here/,
    );

    writeFileSync(
      join(repo, 'program.md'),
      program('agent: { name: command, command: "echo VALUE=4 > params.sh" }\nsandbox: required\n'),
    );
    gitIn(repo, 'commit', '-q', '-am', 'required');
    await expect(runHere(repo, { tag: 'q', env })).rejects.toThrow(
      'sandbox: required, but bubblewrap cannot create a sandbox here',
    );
    expect(gitIn(repo, 'branch', '--list', 'autoresearch/q')).toBe(''); // nothing was created
    // What the CLI makes of it: one line and exit code 2.
    const missing = await cliHere(repo, ['run', '--tag', 'q', '--no-dashboard'], {
      AUTORESEARCH_BWRAP: '/nonexistent/bwrap',
    });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain(
      'autoresearch: sandbox: required, but /nonexistent/bwrap does not run',
    );
  });
});

describe("sandbox: off (the harness's own checks, which hold without the sandbox too)", () => {
  const AGENT = String.raw`#!/bin/bash
TAG=$(basename "$(cd "$AUTORESEARCH_WORKSPACE/../.." && pwd)")
case $AUTORESEARCH_EXPERIMENT_ID in
1) echo boost.txt >> "$(git rev-parse --git-common-dir)/info/exclude"; echo 0 > boost.txt; echo "VALUE=5 # 1" > params.sh ;;
2) git update-index --skip-worktree helper.sh; echo "BONUS=5" > helper.sh; echo "VALUE=5 # 2" > params.sh ;;
3) git update-ref "refs/heads/autoresearch/$TAG" "$(git rev-list --max-parents=0 HEAD)"
   git update-ref -d "refs/autoresearch/$TAG/1"
   git update-ref "refs/autoresearch/$TAG/999" HEAD
   echo "VALUE=4" > params.sh ;;
*) exit 99 ;;
esac
`;

  it('files hidden from git are still seen, and moved refs are reported and restored from the ledger', async () => {
    const repo = makeRepo({
      'exp.sh': EXP,
      'params.sh': 'VALUE=5\n',
      'helper.sh': 'BONUS=0\n',
      'propose.sh': AGENT,
      'program.md': program('agent: { name: command, command: ./propose.sh }\nsandbox: off\n'),
    });
    chmodSync(join(repo, 'propose.sh'), 0o755);
    gitIn(repo, 'commit', '-q', '-am', 'executable');
    const { output } = await runHere(repo, { tag: 'o' });
    expect(output).toContain('warning: sandbox: UNSEALED: the program sets `sandbox: off`');
    const rows = ledgerRows(repo, 'o');
    expect(rows.map((x) => x.status)).toEqual(['keep', 'invalid', 'invalid', 'keep']);
    expect(rows[1]!.reason).toContain('boost.txt (not editable)'); // .git/info/exclude does not hide it
    expect(rows[2]!.reason).toContain('helper.sh (not editable)'); // nor does skip-worktree
    expect(output).toMatch(
      /before deciding experiment 3: refs\/heads\/autoresearch\/o was moved to \w+; restored to \w+/,
    );
    expect(output).toMatch(/refs\/autoresearch\/o\/1 was deleted; restored/);
    expect(output).toMatch(/refs\/autoresearch\/o\/999 appeared .*; removed/);
    expect(gitIn(repo, 'rev-parse', 'autoresearch/o')).toBe(rows[3]!.candidate_commit);
    expect(gitIn(repo, 'rev-parse', 'refs/autoresearch/o/1')).toBe(rows[1]!.candidate_commit);
  });
});

describe.each([['off'], ['auto']])(
  'an agent still running when the harness is killed (sandbox: %s)',
  (mode) => {
    it.skipIf(mode === 'auto' && !sealed)(
      'is gone before the resumed run does anything',
      async () => {
        const flag = join(tempDir('ar-agent-'), 'behave');
        const marker = `ar-agent-orphan-${mode}-${process.pid}`;
        // Until the test creates the flag, the agent leaves a writer behind and hangs.
        const agent = `#!/bin/bash\nif [ -e "${flag}" ]; then echo "VALUE=4" > params.sh; exit 0; fi\nsetsid bash -c 'exec -a ${marker} sleep 600' &\nsleep 600\n`;
        const repo = makeRepo({
          'exp.sh': EXP,
          'params.sh': 'VALUE=5\n',
          'helper.sh': 'BONUS=0\n',
          'propose.sh': agent,
          'program.md': program(
            `agent: { name: command, command: ./propose.sh }\nsandbox: ${mode}\nstop: { experiments: 1 }\n`,
          ),
        });
        chmodSync(join(repo, 'propose.sh'), 0o755);
        gitIn(repo, 'commit', '-q', '-am', 'executable');
        const child = cliAsync(repo, ['run', '--tag', 'k', '--no-dashboard']);
        const orphan = await waitFor(
          () => processesNamed(marker)[0],
          120_000,
          'the agent to start its writer',
        );
        child.kill('SIGKILL');
        await exited(child);
        if (mode === 'auto') {
          await waitFor(() => !alive(orphan), 120_000, 'the sealed agent to die with its harness');
        } else {
          expect(alive(orphan)).toBe(true);
        }
        writeFileSync(flag, '');
        const again = await runHere(repo, { tag: 'k' });
        expect(alive(orphan)).toBe(false);
        if (mode === 'off')
          expect(again.output).toMatch(
            /experiment 1: killed \d+ process\(es\) of the agent interrupted while proposing/,
          );
        expect(ledgerRows(repo, 'k').map((x) => [x.id, x.status])).toEqual([
          [0, 'keep'],
          [1, 'interrupted'],
          [2, 'keep'],
        ]);
      },
    );
  },
);

describe.skipIf(!sealed || process.getuid?.() !== 0)('an unprivileged user', () => {
  it('is sealed too (bubblewrap through user namespaces): its worktree only, no state, nothing outlives it', async () => {
    // The executor and the sandbox need no packages: a copy of dist/ that `nobody` can read.
    const base = tempDir('ar-nobody-');
    chmodSync(base, 0o755);
    cpSync(join(ROOT, 'dist'), join(base, 'dist'), { recursive: true });
    const work = join(base, 'repo');
    const worktree = join(work, '.autoresearch', 't', 'slots', '0');
    mkdirSync(worktree, { recursive: true });
    writeFileSync(join(work, '.autoresearch', 'ledger.sqlite'), 'the ledger\n');
    writeFileSync(join(work, 'answers.txt'), 'hidden\n');
    writeFileSync(
      join(base, 'run.mjs'),
      `import { LocalExecutor } from './dist/executors/local.js';
import { Sandbox } from './dist/sandbox/sandbox.js';
import { detectSandbox } from './dist/sandbox/detect.js';
const support = await detectSandbox();
if (!support.sealed) { console.log('UNSEALED ' + support.reason); process.exit(3); }
const sandbox = new Sandbox(support, { repo: ${JSON.stringify(work)}, programDir: '', stateDir: ${JSON.stringify(join(work, '.autoresearch'))}, workDir: ${JSON.stringify(join(work, '.autoresearch', 't'))}, hidden: ['answers.txt'], keepIgnored: [], protectedFiles: [] });
const tmp = sandbox.tempDir('run-0');
const seal = sandbox.seal({ role: 'run', root: ${JSON.stringify(worktree)}, cwd: ${JSON.stringify(worktree)}, tmp, network: false });
const command = 'id -u; echo ok > mine.txt && echo wrote-worktree; echo x > ../../../../pwned 2>/dev/null || echo checkout-refused; cat ../../../ledger.sqlite 2>/dev/null || echo ledger-hidden; cat ../../../../answers.txt 2>/dev/null || echo answers-hidden; setsid bash -c "exec -a ar-nobody-escapee sleep 600" & echo started';
const r = await new LocalExecutor().run({ experimentId: 1, command, cwd: ${JSON.stringify(worktree)}, env: { PATH: process.env.PATH, ...seal.env }, budgetSeconds: 10, timeoutSeconds: 20, killGraceSeconds: 1, logPath: ${JSON.stringify(join(base, 'run.log'))}, logHeadBytes: 65536, logTailBytes: 65536, seal: { prefix: seal.prefix, isolatesNetwork: seal.isolatesNetwork } });
console.log('exit', r.exitCode);
`,
    );
    spawnSync('chown', ['-R', 'nobody:nogroup', base]);
    const r = spawnSync(
      'setpriv',
      ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, join(base, 'run.mjs')],
      { cwd: base, encoding: 'utf8', timeout: 60_000 },
    );
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('exit 0');
    const log = readFileSync(join(base, 'run.log'), 'utf8');
    expect(log.split('\n')).toEqual(
      expect.arrayContaining([
        '65534',
        'wrote-worktree',
        'checkout-refused',
        'ledger-hidden',
        'answers-hidden',
      ]),
    );
    expect(readFileSync(join(worktree, 'mine.txt'), 'utf8')).toBe('ok\n');
    expect(processesNamed('ar-nobody-escapee')).toEqual([]);
  });
});
