/**
 * `init --probe`: runs the experiment command once, here, the way `run` will (bash -c, the
 * budget in AUTORESEARCH_TIME_BUDGET, killed past it with its whole process tree), and reads its
 * output with the harness's own metric parser, so the names proposed are names `run` will find.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalExecutor } from '../../executors/local.js';
import { experimentEnvironment } from '../../loop/environment.js';
import { describeRefusal, type ParsedMetrics } from '../../metrics/parse.js';
import { graceSeconds } from '../../program/schema.js';
import { count } from '../../util/words.js';

export interface ProbeResult {
  metrics: ParsedMetrics;
  exitCode: number | null;
  timedOut: boolean;
  wallSeconds: number;
  /** The output's last lines, to show when it printed no metric. */
  tail: string;
}

export async function probeRun(
  command: string,
  cwd: string,
  budgetSeconds: number,
): Promise<ProbeResult> {
  const dir = mkdtempSync(join(tmpdir(), 'autoresearch-probe-'));
  try {
    const logPath = join(dir, 'run.log');
    const grace = graceSeconds(budgetSeconds, { percent: 10 });
    const result = await new LocalExecutor({ containment: 'process-group' }).run({
      experimentId: 0,
      command,
      cwd,
      env: experimentEnvironment({
        base: process.env,
        allow: [],
        secrets: [],
        set: {},
        budgetSeconds,
        experimentId: 0,
        runTag: 'probe',
        measurement: 0,
      }),
      budgetSeconds,
      timeoutSeconds: budgetSeconds + grace,
      killGraceSeconds: 5,
      logPath,
      logHeadBytes: 64 * 1024,
      logTailBytes: 64 * 1024,
    });
    const tail = readFileSync(logPath, 'utf8').trimEnd().split('\n').slice(-8).join('\n');
    return {
      metrics: result.metrics ?? { values: {}, refused: {}, truncated: false },
      exitCode: result.exitCode,
      timedOut: result.timedOut,
      wallSeconds: result.wallSeconds,
      tail,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** What the probe found, for people: each metric and its value, refusals with their fix. */
export function describeProbe(r: ProbeResult): string {
  const how = r.timedOut
    ? `killed after ${r.wallSeconds.toFixed(1)}s (past the budget)`
    : `exit ${r.exitCode ?? 'by a signal'} after ${r.wallSeconds.toFixed(1)}s`;
  const names = Object.entries(r.metrics.values);
  const lines = [`probe: ${how}; ${count(names.length, 'metric')} printed`];
  for (const [name, value] of names) lines.push(`  ${name} = ${value}`);
  for (const [name, refusal] of Object.entries(r.metrics.refused))
    lines.push(`  not read: ${describeRefusal(name, refusal)}`);
  if (names.length === 0)
    lines.push(
      `  its last lines:\n${r.tail.replace(/^/gm, '    | ')}`,
      '  print the metric as `name: value` or `METRIC name=value`, e.g. `val_loss: 0.93`',
    );
  return lines.join('\n');
}
