/**
 * What one short git call costs the machine when Node starts it (execFile: fork of the harness's
 * process) and when the launcher's kept shell starts it (src/util/launcher.ts), from a process of
 * the size `autoresearch run` has and from one the size of a test worker running the loop
 * in-process; through the shell both ways it sets the command's environment: exporting it itself
 * (its usual way) and with `env -i` (taken for a name a shell cannot export: one exec more).
 * Machine CPU is the busy time of all CPUs (/proc/stat) over the calls: it counts the
 * fork's copy-on-write faults in both processes, which neither process's own CPU time shows.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { median } from '../policy/stats.js';
import { launch } from '../util/launcher.js';
import { benchGit, perCall } from './fixture.js';

const CALLS = 100;
const ROUNDS = 4;

const MODES = ['node', 'env', 'launcher'] as const;
type Mode = (typeof MODES)[number];
const BY: Record<Mode, string> = {
  node: 'Node (execFile)',
  env: 'shell, env -i',
  launcher: 'shell, exported',
};

function call(mode: Mode, repo: string): Promise<string> {
  const args = ['rev-parse', 'HEAD'];
  // A name no shell can export sends the call through `env -i`.
  const env = { ...process.env, LC_ALL: 'C', ...(mode === 'env' ? { 'NOT-A-NAME': '1' } : {}) };
  if (mode !== 'node')
    return launch('git', args, { cwd: repo, env, maxBuffer: 1 << 20 }).then((r) => r.stdout);
  return new Promise((resolve, reject) =>
    execFile('git', args, { cwd: repo, env }, (e, out) => (e ? reject(e) : resolve(out))),
  );
}

/** Per call: machine CPU ms (null without /proc/stat) and wall ms, over CALLS sequential calls. */
function measure(mode: Mode, repo: string): Promise<{ cpu: number | null; wall: number }> {
  return perCall(CALLS, async () => {
    // The harness works between its git calls: young objects, as a loop's bookkeeping makes.
    const junk: object[] = [];
    for (let j = 0; j < 20_000; j++) junk.push({ j });
    if ((await call(mode, repo)).length !== 41) throw new Error('git rev-parse HEAD failed');
  });
}

export async function benchLauncher(): Promise<string> {
  const repo = mkdtempSync(join(tmpdir(), 'ar-bench-launch-'));
  const held: object[] = [];
  try {
    benchGit(repo, 'init', '-q');
    benchGit(repo, 'commit', '-q', '--allow-empty', '-m', 'bench');
    const lines = [
      `One \`git rev-parse HEAD\` (${CALLS} in a row, ${ROUNDS} interleaved rounds, medians): machine CPU ms (all CPUs, /proc/stat) and wall ms per call`,
      'process RSS   started by         CPU ms  wall ms   CPU ratio',
    ];
    for (const grow of [0, 200]) {
      // Live objects, as a test worker holding the suite's modules and runs has.
      for (let i = 0; i < grow * 8000; i++) held.push({ a: i, b: `x${i}`, c: [i] });
      const rss = `${Math.round(process.memoryUsage().rss / 2 ** 20)} MB`;
      const got: Record<Mode, Array<{ cpu: number | null; wall: number }>> = {
        node: [],
        env: [],
        launcher: [],
      };
      await measure('launcher', repo); // the shell started, as in a run
      for (let r = 0; r < ROUNDS; r++)
        for (const mode of MODES) got[mode].push(await measure(mode, repo));
      const cpu = (m: Mode) => {
        const xs = got[m].map((x) => x.cpu).filter((x): x is number => x !== null);
        return xs.length ? median(xs) : null;
      };
      const fmt = (x: number | null) => (x === null ? '   n/a' : x.toFixed(1).padStart(6));
      for (const mode of MODES) {
        const ratio =
          mode !== 'node' && cpu('node') && cpu(mode) ? cpu(mode)! / cpu('node')! : null;
        const wall = median(got[mode].map((x) => x.wall)).toFixed(1);
        const vs = ratio === null ? '' : `   ${ratio.toFixed(2)}x`;
        lines.push(
          `${rss.padEnd(13)} ${BY[mode].padEnd(17)} ${fmt(cpu(mode))}  ${wall.padStart(7)}${vs}`,
        );
      }
    }
    return lines.join('\n');
  } finally {
    held.length = 0;
    rmSync(repo, { recursive: true, force: true });
  }
}
