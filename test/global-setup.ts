/**
 * One Slurm cluster for the whole test run. CI starts one and exports SLURM_CONF; elsewhere it is
 * started here once (scripts/slurm-local.sh: needs root and apt-get or slurm-wlm installed) and
 * stopped at the end, so test files running in parallel never start or stop it under each other.
 * When it cannot be had, AUTORESEARCH_SLURM_UNAVAILABLE tells the Slurm tests why they skip.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isAlive } from './helpers/processes.js';

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

/**
 * Test runs of several checkouts share the cluster: each holds a lease (a file named by its pid)
 * while it runs, and the last one to leave stops a cluster that a test run started. Stopping it
 * while another run's jobs are in it would fail that run's Slurm tests.
 */
const LEASES = join(BASE, 'leases');
const STARTED_BY_TESTS = join(BASE, 'started-by-tests');

function othersHoldLeases(): boolean {
  const names = existsSync(LEASES) ? readdirSync(LEASES) : [];
  return names.some((n) => Number(n) !== process.pid && isAlive(Number(n)));
}

export default function setup(): () => void {
  if (process.env.SLURM_CONF && answers()) return () => {};
  const running =
    spawnSync('bash', [SCRIPT, 'status', BASE], { encoding: 'utf8', timeout: 30_000 }).status === 0;
  const r = spawnSync('bash', [SCRIPT, 'start', BASE], { encoding: 'utf8', timeout: 280_000 });
  const conf = /^export SLURM_CONF=(.*)$/m.exec(r.stdout ?? '')?.[1]?.replace(/^'(.*)'$/, '$1');
  if (r.status !== 0 || !conf) {
    process.env.AUTORESEARCH_SLURM_UNAVAILABLE = `no Slurm cluster: scripts/slurm-local.sh start failed: ${(r.stderr || String(r.error ?? '')).trim().split('\n').slice(-2).join(' | ')}`;
    return () => {};
  }
  process.env.SLURM_CONF = conf;
  if (!running) writeFileSync(STARTED_BY_TESTS, `${process.pid}\n`);
  mkdirSync(LEASES, { recursive: true });
  const lease = join(LEASES, String(process.pid));
  writeFileSync(lease, '');
  return () => {
    rmSync(lease, { force: true });
    // A cluster someone started by hand (no marker) is theirs to stop.
    if (othersHoldLeases() || !existsSync(STARTED_BY_TESTS)) return;
    rmSync(STARTED_BY_TESTS, { force: true });
    spawnSync('bash', [SCRIPT, 'stop', BASE], { encoding: 'utf8', timeout: 60_000 });
  };
}
