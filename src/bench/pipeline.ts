/**
 * Duty cycle: the fraction of wall time an experiment is running, with a simulated agent that
 * takes 20% and 100% of the experiment's time, sequential vs pipelined. Target: pipelined above
 * 95% when the agent is faster than the experiment.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { Ledger } from '../ledger/ledger.js';
import { startRun } from '../run.js';
import { benchRepo } from './fixture.js';

async function dutyCycle(
  runSeconds: number,
  agentSeconds: number,
  pipeline: boolean,
  experiments: number,
): Promise<number> {
  const repo = benchRepo('ar-duty-', {
    'v/0': '0\n',
    'program.md': `---\nmetric: { name: score, goal: maximize, deterministic: true }\nrun: 'sleep ${runSeconds}; echo "score: 1"'\nbudget: 60s\neditable: ["v/*"]\npipeline: ${pipeline}\nagent: { name: command, command: 'sleep ${agentSeconds}; echo $AUTORESEARCH_EXPERIMENT_ID > v/$AUTORESEARCH_EXPERIMENT_ID' }\n---\n`,
  });
  try {
    await startRun({ cwd: repo, tag: 'd', maxExperiments: experiments });
    const ledger = new Ledger(join(repo, '.autoresearch', 'ledger.sqlite'));
    const rows = ledger.listExperiments('d').filter((e) => e.id > 0);
    ledger.close();
    const running = rows.reduce((a, e) => a + (e.wall_seconds ?? 0), 0);
    const start = Math.min(...rows.map((e) => e.proposed_at));
    const end = Math.max(...rows.map((e) => e.recorded_at ?? 0));
    return running / ((end - start) / 1000);
  } finally {
    rmSync(repo, { recursive: true, force: true });
  }
}

export async function benchPipeline(runSeconds = 1, experiments = 8): Promise<string> {
  const lines = [
    `Duty cycle (fraction of wall time an experiment runs), ${experiments} experiments of ${runSeconds}s; target: pipelined > 95% when the agent is faster`,
    'agent latency  sequential  pipelined  ratio',
  ];
  for (const fraction of [0.2, 1.0]) {
    const seq = await dutyCycle(runSeconds, runSeconds * fraction, false, experiments);
    const pip = await dutyCycle(runSeconds, runSeconds * fraction, true, experiments);
    lines.push(
      `${`${fraction * 100}%`.padStart(13)}  ${`${(seq * 100).toFixed(1)}%`.padStart(10)}  ${`${(pip * 100).toFixed(1)}%`.padStart(9)}  ${(pip / seq).toFixed(2).padStart(5)}`,
    );
  }
  return lines.join('\n');
}
