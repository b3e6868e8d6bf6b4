import Database from 'better-sqlite3';
import { existsSync, readdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import { cliAsync, exited, gitIn, ledgerRows, makeRepo, waitFor } from '../helpers/repo.js';
import { cliHere } from '../helpers/cli-here.js';
import { runHere } from '../helpers/run.js';
import { slurmCluster, type Cluster } from '../helpers/slurm.js';
import { detectSandbox } from '../../src/sandbox/detect.js';
import type { LoopEvent } from '../../src/loop/events.js';
import { tempDir } from '../helpers/temp.js';

const sandbox = await detectSandbox();

let cluster: Cluster;
beforeAll(() => {
  cluster = slurmCluster();
  if (cluster.skip) console.warn(`[slurm-loop] skipping: ${cluster.skip}`);
}, 300_000);
afterAll(() => cluster?.release());

const need = (ctx: TestContext) => {
  if (cluster.skip) ctx.skip(cluster.skip);
};

/** The loop in this process, its executor and experiments on the cluster. */
const runOnCluster = (repo: string, tag: string, maxExperiments: number) =>
  runHere(repo, { tag, maxExperiments, env: { ...process.env, ...cluster.env } });

function slurmRepo(exp: string, slurm = ''): string {
  return makeRepo({
    'exp.sh': exp,
    'params.sh': 'VALUE=5\n',
    'program.md': `---
metric: { name: score, goal: minimize, deterministic: true }
run: bash exp.sh
budget: 30s
timeout: 60s
editable: [params.sh]
protected: [exp.sh]
executor: slurm
${slurm}agent: { name: command, command: 'echo VALUE=$((5 - AUTORESEARCH_EXPERIMENT_ID)) > params.sh' }
---
`,
  });
}

// Two at a time: each test has its own repository and run; their jobs share the 2-CPU cluster.
describe.concurrent('the loop on a real Slurm cluster', () => {
  it('runs every experiment as a sealed job, records the job id, and parses the metrics', async (ctx) => {
    need(ctx);
    // The worktree is .autoresearch/<tag>/slots/<n>: four levels up is the user's checkout.
    const exp = [
      'source ./params.sh',
      'echo "job $SLURM_JOB_ID"',
      '{ echo pwned > ../../../../pwned-by-job.txt; } 2> /dev/null && echo "wrote the checkout"',
      'cat ../../../../answer.txt 2> /dev/null && echo "read the hidden file"',
      'echo "score: $VALUE"',
      '',
    ].join('\n');
    const repo = slurmRepo(exp, 'hidden: [answer.txt]\n');
    writeFileSync(join(repo, '.gitignore'), 'answer.txt\n');
    gitIn(repo, 'add', '-A');
    gitIn(repo, 'commit', '-q', '-m', 'ignore the answer');
    writeFileSync(join(repo, 'answer.txt'), 'the-answer-key\n');
    const { output } = await runOnCluster(repo, 's', 1);
    const rows = ledgerRows(repo, 's') as Array<{
      status: string;
      primary_value: number;
      process_json: string;
      log_path: string;
    }>;
    expect(rows.map((x) => [x.status, x.primary_value])).toEqual([
      ['keep', 5],
      ['keep', 4],
    ]);
    for (const x of rows) {
      const jobId = (JSON.parse(x.process_json) as { jobId: string }).jobId;
      expect(jobId).toMatch(/^\d+$/);
      expect(readFileSync(x.log_path, 'utf8')).toContain(`job ${jobId}`);
    }
    expect(gitIn(repo, 'show', 'autoresearch/s:params.sh')).toBe('VALUE=4');
    if (!sandbox.sealed) return ctx.skip(`this machine cannot seal: ${sandbox.reason}`);
    expect(output).toMatch(/^sandbox: sealed \(bubblewrap/m);
    for (const x of rows) {
      const log = readFileSync(x.log_path, 'utf8');
      expect(log).not.toContain('wrote the checkout');
      expect(log).not.toContain('read the hidden file');
      expect(log).not.toContain('the-answer-key');
    }
    expect(existsSync(join(repo, 'pwned-by-job.txt'))).toBe(false);
    const db = new Database(join(repo, '.autoresearch/ledger.sqlite'), { readonly: true });
    const commands = db
      .prepare("SELECT kind, sealed FROM commands WHERE run_tag = 's' AND kind = 'run'")
      .all();
    db.close();
    expect(commands).toEqual([
      { kind: 'run', sealed: 1 },
      { kind: 'run', sealed: 1 },
    ]);
  });

  it('reattaches after kill -9: the job that kept running is recorded, not run twice', async (ctx) => {
    need(ctx);
    // Job 1 runs until the resumed harness has found it (a file the job may read, not write).
    const release = join(tempDir('ar-release-'), 'go');
    const repo = slurmRepo(
      `source ./params.sh\nif [ "$VALUE" = 4 ]; then while [ ! -e "${release}" ]; do sleep 0.05; done; fi\necho "score: $VALUE"\n`,
    );
    const child = cliAsync(repo, ['run', '--tag', 'r', '-n', '1'], cluster.env);
    await waitFor(
      () =>
        ledgerRows(repo, 'r').some(
          (x) =>
            x.id === 1 &&
            x.state === 'running' &&
            (x as unknown as { process_json: string | null }).process_json,
        ),
      60_000,
      'job 1 to be submitted',
    );
    child.kill('SIGKILL');
    await exited(child);
    const following = (e: LoopEvent) => e.type === 'note' && e.text.includes('following job');
    const { output } = await runHere(repo, {
      tag: 'r',
      maxExperiments: 1,
      env: { ...process.env, ...cluster.env },
      onEvent: (e) => following(e) && writeFileSync(release, ''),
    });
    expect(output).toMatch(
      /experiment 1: was in flight when the harness stopped; following job \d+ to its end/,
    );
    const rows = ledgerRows(repo, 'r');
    expect(rows.map((x) => [x.id, x.status, x.primary_value])).toEqual([
      [0, 'keep', 5],
      [1, 'keep', 4],
    ]);
  });

  it('slurm.shared_dir: worktrees, logs and job files go there, the repository keeps only its ledger and requests', async (ctx) => {
    need(ctx);
    const shared = realpathSync(tempDir('ar-shared-'));
    const repo = slurmRepo(
      'source ./params.sh\necho "cwd $PWD"\necho "score: $VALUE"\n',
      `slurm: { shared_dir: "${shared}" }\n`,
    );
    const { output } = await runOnCluster(repo, 'sh', 0);
    const [own] = readdirSync(shared);
    const work = join(shared, own!, 'sh');
    expect(own).toMatch(/^ar-test-\w+-[0-9a-f]{8}$/);
    expect(output).toContain(`worktrees and logs in ${work}`);
    const rows = ledgerRows(repo, 'sh') as Array<{ id: number; status: string; log_path: string }>;
    expect(rows.map((x) => x.status)).toEqual(['keep']);
    for (const x of rows) {
      expect(x.log_path).toBe(join(work, 'experiments', String(x.id), 'run.log'));
      expect(readFileSync(x.log_path, 'utf8')).toMatch(new RegExp(`^cwd ${work}/slots/\\d+$`, 'm'));
    }
    expect(existsSync(join(repo, '.autoresearch', 'sh', 'slots'))).toBe(false);
    expect(existsSync(join(repo, '.autoresearch', 'sh', 'experiments'))).toBe(false);
    expect(existsSync(join(repo, '.autoresearch', 'sh', 'results.tsv'))).toBe(true);
    // A resumed run keeps its worktrees where they are, even if program.md now names another folder.
    const program = join(repo, 'program.md');
    writeFileSync(
      program,
      readFileSync(program, 'utf8').replace(shared, join(shared, 'elsewhere')),
    );
    await runOnCluster(repo, 'sh', 1);
    expect(readdirSync(shared)).toEqual([own]);
    expect(readFileSync(join(work, 'experiments', '1', 'run.log'), 'utf8')).toContain(
      `cwd ${work}/slots/0`,
    );
    expect((await cliHere(repo, ['status', '--tag', 'sh'])).stdout).toContain('keep');
  });

  it('slurm.shared_dir that cannot be created stops the run before anything starts, naming the folder', async (ctx) => {
    need(ctx);
    const repo = slurmRepo('echo "score: 1"\n', 'slurm: { shared_dir: exp.sh/shared }\n');
    const refused = runOnCluster(repo, 'bad', 1);
    await expect(refused).rejects.toThrow(
      `slurm.shared_dir: cannot create a folder for the run in ${join(realpathSync(repo), 'exp.sh', 'shared')}`,
    );
    await expect(refused).rejects.toThrow('fix: create');
    expect(gitIn(repo, 'branch', '--list', 'autoresearch/*')).toBe('');
  });

  it('job options the cluster refuses stop the run before anything starts, saying what to fix', async (ctx) => {
    need(ctx);
    const repo = slurmRepo('echo "score: 1"\n', 'slurm: { partition: no-such-partition }\n');
    const r = await cliHere(repo, ['run', '--tag', 'np', '-n', '1'], cluster.env);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /^autoresearch: sbatch does not accept the job options from program.md: .*partition/im,
    );
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(gitIn(repo, 'branch', '--list', 'autoresearch/*')).toBe('');
  });
});
