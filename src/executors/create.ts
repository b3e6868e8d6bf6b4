/** Picks the executor a program asks for; the Slurm one is loaded only when used. */
import type { Program } from '../program/program.js';
import type { Executor } from './executor.js';
import { LocalExecutor } from './local.js';

export async function createExecutor(program: Program, env: NodeJS.ProcessEnv): Promise<Executor> {
  const c = program.config;
  if (c.executor === 'local') return new LocalExecutor();
  const { SlurmExecutor } = await import('./slurm.js');
  const slurmEnv: Record<string, string> = {};
  for (const key of ['SLURM_CONF', 'PATH']) if (env[key]) slurmEnv[key] = env[key]!;
  return new SlurmExecutor({
    partition: c.slurm.partition,
    gres: c.slurm.gres,
    account: c.slurm.account,
    time: c.slurm.time,
    sbatch: c.slurm.sbatch,
    pollSeconds: c.slurm.poll,
    env: slurmEnv,
  });
}
