/**
 * One Slurm cluster for the whole test run. CI starts one and exports SLURM_CONF; elsewhere it is
 * started here once (scripts/slurm-local.sh: needs root and apt-get or slurm-wlm installed) and
 * stopped at the end, so test files running in parallel never start or stop it under each other.
 * When it cannot be had, AUTORESEARCH_SLURM_UNAVAILABLE tells the Slurm tests why they skip.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(new URL('../scripts/slurm-local.sh', import.meta.url));
const BASE = process.env.AUTORESEARCH_SLURM_BASE ?? '/tmp/autoresearch-slurm-tests';

function answers(): boolean {
  const r = spawnSync('sinfo', ['-h', '-o', '%T'], {
    env: process.env,
    encoding: 'utf8',
    timeout: 15_000,
  });
  return r.status === 0 && r.stdout.trim() !== '';
}

export default function setup(): () => void {
  if (process.env.SLURM_CONF && answers()) return () => {};
  // A cluster another test run (another checkout) started is used and left running: stopping
  // it here would pull it from under that run's jobs.
  const ours =
    spawnSync('bash', [SCRIPT, 'status', BASE], { encoding: 'utf8', timeout: 30_000 }).status !== 0;
  const r = spawnSync('bash', [SCRIPT, 'start', BASE], { encoding: 'utf8', timeout: 280_000 });
  const conf = /^export SLURM_CONF=(.*)$/m.exec(r.stdout ?? '')?.[1]?.replace(/^'(.*)'$/, '$1');
  if (r.status !== 0 || !conf) {
    process.env.AUTORESEARCH_SLURM_UNAVAILABLE = `no Slurm cluster: scripts/slurm-local.sh start failed: ${(r.stderr || String(r.error ?? '')).trim().split('\n').slice(-2).join(' | ')}`;
    return () => {};
  }
  process.env.SLURM_CONF = conf;
  return () => {
    if (ours) spawnSync('bash', [SCRIPT, 'stop', BASE], { encoding: 'utf8', timeout: 60_000 });
  };
}
