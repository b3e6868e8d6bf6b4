/** A Slurm cluster for tests: the one CI started (SLURM_CONF), or one started here with scripts/slurm-local.sh. */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from './repo.js';

export interface Cluster {
  env: Record<string, string>;
  skip: string | null;
  /** Stops the cluster if this call started it. */
  release: () => void;
}

const SCRIPT = join(ROOT, 'scripts/slurm-local.sh');

function answers(env: NodeJS.ProcessEnv): boolean {
  const r = spawnSync('sinfo', ['-h', '-o', '%T'], { env, encoding: 'utf8', timeout: 15_000 });
  return r.status === 0 && r.stdout.trim() !== '';
}

export function slurmCluster(): Cluster {
  const none = () => {};
  if (process.env.AUTORESEARCH_SLURM_UNAVAILABLE)
    return { env: {}, skip: process.env.AUTORESEARCH_SLURM_UNAVAILABLE, release: none };
  if (process.env.SLURM_CONF && answers(process.env))
    return { env: { SLURM_CONF: process.env.SLURM_CONF }, skip: null, release: none };
  const base = process.env.AUTORESEARCH_SLURM_BASE ?? '/tmp/autoresearch-slurm';
  const wasRunning =
    spawnSync('bash', [SCRIPT, 'status', base], { encoding: 'utf8', timeout: 30_000 }).status === 0;
  const r = spawnSync('bash', [SCRIPT, 'start', base], { encoding: 'utf8', timeout: 280_000 });
  if (r.status !== 0)
    return {
      env: {},
      skip: `no Slurm cluster: scripts/slurm-local.sh start failed: ${r.stderr.trim().split('\n').slice(-2).join(' | ')}`,
      release: none,
    };
  const release = wasRunning
    ? none
    : () => void spawnSync('bash', [SCRIPT, 'stop', base], { encoding: 'utf8', timeout: 60_000 });
  const env: Record<string, string> = {};
  for (const m of r.stdout.matchAll(/^export (\w+)=(.*)$/gm))
    env[m[1]!] = m[2]!.replace(/^'(.*)'$/, '$1');
  if (answers({ ...process.env, ...env })) return { env, skip: null, release };
  release();
  return { env: {}, skip: 'the local Slurm cluster does not answer sinfo', release: none };
}
