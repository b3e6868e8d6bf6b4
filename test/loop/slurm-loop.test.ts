import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import { cli, cliAsync, exited, gitIn, ledgerRows, makeRepo, waitFor } from '../helpers/repo.js';
import { slurmCluster, type Cluster } from '../helpers/slurm.js';

let cluster: Cluster;
beforeAll(() => {
  cluster = slurmCluster();
  if (cluster.skip) console.warn(`[slurm-loop] skipping: ${cluster.skip}`);
}, 300_000);
afterAll(() => cluster?.release());

const need = (ctx: TestContext) => {
  if (cluster.skip) ctx.skip(cluster.skip);
};

function slurmRepo(exp: string): string {
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
agent: { name: command, command: 'echo VALUE=$((5 - AUTORESEARCH_EXPERIMENT_ID)) > params.sh' }
---
`,
  });
}

describe('the loop on a real Slurm cluster', () => {
  it('runs every experiment as a job, records the job id, and parses the metrics', (ctx) => {
    need(ctx);
    const repo = slurmRepo('source ./params.sh\necho "job $SLURM_JOB_ID"\necho "score: $VALUE"\n');
    const r = cli(repo, ['run', '--tag', 's', '-n', '2'], cluster.env);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const rows = ledgerRows(repo, 's') as Array<{ status: string; primary_value: number; process_json: string; log_path: string }>;
    expect(rows.map((x) => [x.status, x.primary_value])).toEqual([['keep', 5], ['keep', 4], ['keep', 3]]);
    for (const x of rows) {
      const jobId = (JSON.parse(x.process_json) as { jobId: string }).jobId;
      expect(jobId).toMatch(/^\d+$/);
      expect(readFileSync(x.log_path, 'utf8')).toContain(`job ${jobId}`);
    }
    expect(gitIn(repo, 'show', 'autoresearch/s:params.sh')).toBe('VALUE=3');
  }, 120_000);

  it('reattaches after kill -9: the job that kept running is recorded, not run twice', async (ctx) => {
    need(ctx);
    const repo = slurmRepo('source ./params.sh\n[ "$VALUE" = 4 ] && sleep 4\necho "score: $VALUE"\n');
    const env = { ...cluster.env };
    const child = cliAsync(repo, ['run', '--tag', 'r', '-n', '1'], env);
    await waitFor(() => ledgerRows(repo, 'r').some((x) => x.id === 1 && x.state === 'running' && (x as unknown as { process_json: string | null }).process_json), 60_000, 'job 1 to be submitted');
    child.kill('SIGKILL');
    await exited(child);
    const again = cli(repo, ['run', '--tag', 'r', '-n', '1'], env);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/experiment 1: was in flight when the harness stopped; following job \d+ to its end/);
    const rows = ledgerRows(repo, 'r');
    expect(rows.map((x) => [x.id, x.status, x.primary_value])).toEqual([
      [0, 'keep', 5],
      [1, 'keep', 4],
    ]);
  }, 120_000);
});
