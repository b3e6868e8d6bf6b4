/**
 * SlurmExecutor against a real single-node Slurm cluster on localhost.
 *
 * With SLURM_CONF set and `sinfo` answering, that cluster is used (CI starts one with
 * scripts/slurm-local.sh and exports SLURM_CONF). Otherwise beforeAll starts one with
 * `scripts/slurm-local.sh start` (installing slurm-wlm with apt-get if needed) and stops it in
 * afterAll. When no cluster can be had, every test is skipped with the reason.
 */

import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import type { ExperimentSpec, ProcessHandle } from '../../src/executors/executor.js';
import {
  mapJobState,
  SlurmExecutor,
  type SlurmExecutionResult,
  type SlurmExecutorOptions,
} from '../../src/executors/slurm.js';
import {
  type JobInfo,
  parseJobcompRecord,
  parseSacct,
  parseScontrolJob,
  parseSize,
} from '../../src/executors/slurm-cli.js';
import { type JobStatus, renderParams } from '../../src/executors/slurm-job.js';
import { shellQuote } from '../../src/util/shell.js';
import { NODE_SEAL } from '../../src/executors/slurm-script.js';
import { detectSandbox } from '../../src/sandbox/detect.js';
import { Sandbox } from '../../src/sandbox/sandbox.js';
import { processesNamed } from '../helpers/processes.js';
import { omissionMarker } from '../../src/executors/log-sink.js';
import { parseMetricsFromOutput } from '../../src/metrics/parse.js';

const SCRIPT = fileURLToPath(new URL('../../scripts/slurm-local.sh', import.meta.url));
const BASE = process.env.AUTORESEARCH_SLURM_BASE ?? '/tmp/autoresearch-slurm';

let clusterEnv: Record<string, string> = {};
let skipReason: string | null = null;
let stopAtEnd = false;
let config = new Map<string, string>();
let hasGpus = false;
let root: string;

function slurmEnv(): NodeJS.ProcessEnv {
  return { ...process.env, ...clusterEnv };
}

function slurmCmd(command: string, args: string[]) {
  return spawnSync(command, args, { env: slurmEnv(), encoding: 'utf8', timeout: 30_000 });
}

function sinfoAnswers(env: NodeJS.ProcessEnv): boolean {
  const r = spawnSync('sinfo', ['-h', '-o', '%T'], { env, encoding: 'utf8', timeout: 15_000 });
  return r.status === 0 && r.stdout.trim() !== '';
}

beforeAll(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'ar-slurm-exec-'));
  if (process.env.AUTORESEARCH_SLURM_UNAVAILABLE) {
    // The test run's global setup could not start a cluster; it says why.
    skipReason = process.env.AUTORESEARCH_SLURM_UNAVAILABLE;
    console.warn(`[slurm.test] skipping: ${skipReason}`);
    return;
  }
  if (process.env.SLURM_CONF && sinfoAnswers(process.env)) {
    clusterEnv = { SLURM_CONF: process.env.SLURM_CONF };
  } else {
    const wasRunning =
      spawnSync('bash', [SCRIPT, 'status', BASE], { encoding: 'utf8', timeout: 30_000 }).status ===
      0;
    const r = spawnSync('bash', [SCRIPT, 'start', BASE], { encoding: 'utf8', timeout: 280_000 });
    if (r.status !== 0) {
      skipReason = `no Slurm cluster: SLURM_CONF is not set or does not answer, and scripts/slurm-local.sh start failed: ${(r.stderr || String(r.error)).trim().split('\n').slice(-3).join(' | ')}`;
      console.warn(`[slurm.test] skipping: ${skipReason}`);
      return;
    }
    stopAtEnd = !wasRunning;
    for (const m of r.stdout.matchAll(/^export (\w+)=(.*)$/gm))
      clusterEnv[m[1]!] = m[2]!.replace(/^'(.*)'$/, '$1');
    if (!sinfoAnswers(slurmEnv())) {
      skipReason = `the cluster started by scripts/slurm-local.sh does not answer sinfo (${r.stdout.trim()})`;
      console.warn(`[slurm.test] skipping: ${skipReason}`);
      return;
    }
  }
  const show = slurmCmd('scontrol', ['show', 'config']);
  for (const line of show.stdout.split('\n')) {
    const m = /^(\S+)\s*=\s?(.*)$/.exec(line);
    if (m) config.set(m[1]!, m[2]!.trim());
  }
  hasGpus = /Gres=\S*gpu:/.test(slurmCmd('scontrol', ['-o', 'show', 'nodes']).stdout);
}, 300_000);

afterAll(() => {
  if (root) fs.rmSync(root, { recursive: true, force: true });
  if (stopAtEnd) spawnSync('bash', [SCRIPT, 'stop', BASE], { encoding: 'utf8', timeout: 60_000 });
});

function requireCluster(ctx: TestContext): void {
  if (skipReason) ctx.skip(skipReason);
}

let counter = 0;
function makeSpec(command: string, overrides: Partial<ExperimentSpec> = {}): ExperimentSpec {
  const id = ++counter;
  const dir = path.join(root, `run-${id}`);
  fs.mkdirSync(dir);
  return {
    experimentId: 1000 + id,
    command,
    cwd: dir,
    env: { PATH: '/usr/local/bin:/usr/bin:/bin', AUTORESEARCH_EXPERIMENT_ID: String(1000 + id) },
    budgetSeconds: 5,
    timeoutSeconds: 30,
    killGraceSeconds: 1,
    logPath: path.join(dir, 'run.log'),
    logHeadBytes: 64 * 1024,
    logTailBytes: 64 * 1024,
    ...overrides,
  };
}

/**
 * A sealed experiment as a run lays it out: a checkout with a hidden file, its `.autoresearch/`
 * state (a ledger stand-in) holding the worktree and the log, and the run's sandbox around the
 * worktree. Null where this machine cannot seal.
 */
async function sealedSpec(
  command: string,
  overrides: Partial<ExperimentSpec> = {},
  network = true,
) {
  const support = await detectSandbox();
  if (!support.sealed) return null;
  const id = ++counter;
  const checkout = path.join(root, `checkout-${id}`);
  const stateDir = path.join(checkout, '.autoresearch');
  const workDir = path.join(stateDir, 'tag');
  const worktree = path.join(workDir, 'slots', '0');
  const logDir = path.join(workDir, 'experiments', String(id));
  for (const dir of [worktree, logDir]) fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(checkout, 'secret.txt'), 'the holdout answers\n');
  fs.writeFileSync(path.join(stateDir, 'ledger.sqlite'), 'ledger\n');
  const sandbox = new Sandbox(support, {
    repo: checkout,
    programDir: '',
    stateDir,
    workDir,
    hidden: ['secret.txt'],
    keepIgnored: [],
    protectedFiles: [],
  });
  const tmp = sandbox.tempDir('run-0');
  const seal = sandbox.seal({ role: 'run', root: worktree, cwd: worktree, tmp, network });
  const spec: ExperimentSpec = {
    ...makeSpec(command, overrides),
    cwd: worktree,
    logPath: path.join(logDir, 'run.log'),
    seal: { prefix: seal.prefix, isolatesNetwork: seal.isolatesNetwork },
  };
  spec.env = { ...spec.env, ...seal.env, CHECKOUT: checkout, STATE: stateDir };
  return { spec, checkout, stateDir, worktree, tmp };
}

function executor(options: SlurmExecutorOptions = {}): SlurmExecutor {
  return new SlurmExecutor({ env: clusterEnv, ...options });
}

function inQueue(jobId: string): boolean {
  return slurmCmd('squeue', ['-h', '-j', jobId, '-o', '%i']).stdout.trim() !== '';
}

/** Runs a spec in the background; resolves the job id from onStart, and the result later. */
function startInBackground(ex: SlurmExecutor, spec: ExperimentSpec, signal?: AbortSignal) {
  let resolveId!: (id: string) => void;
  const jobId = new Promise<string>((r) => (resolveId = r));
  const result = ex.run({ ...spec, onStart: (h: ProcessHandle) => resolveId(h.jobId!) }, signal);
  result.catch(() => {});
  return { jobId, result };
}

async function waitFor(cond: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return cond();
}

const startedFile = (spec: ExperimentSpec) => `${spec.logPath}.slurm/started`;

// Generous per-test limits: in CI other test files may share the 2-CPU cluster, so jobs can queue.
describe.concurrent('SlurmExecutor (real local cluster)', { timeout: 120_000 }, () => {
  it('runs a job: exit code, exactly spec.env, cwd, merged log with metric lines', async (ctx) => {
    requireCluster(ctx);
    const tricky = `it's "quoted" $HOME \`date\` \\ \n second line; $(exit 1)`;
    const spec = makeSpec(
      [
        'echo "stdout:$FOO"',
        'echo "stderr line" >&2',
        'pwd > where.txt',
        'printf %s "$FOO" > foo.txt',
        'env > env.txt',
        // The wrapper's environment (the command's parent is `timeout`, which the wrapper started).
        `tr '\\0' '\\n' < /proc/$PPID/environ > wrapper-env.txt`,
        'echo "METRIC val_loss=0.25 tokens_per_s=1200"',
      ].join('; '),
    );
    spec.env = { ...spec.env, FOO: tricky, CUDA_VISIBLE_DEVICES: 'from-harness' };
    // The harness's own environment reaches the Slurm clients only, never the job.
    const ex = executor({ env: { ...clusterEnv, AR_HARNESS_ONLY: 'must-not-leak' } });
    const handles: ProcessHandle[] = [];
    const t0 = Date.now();
    const r = (await ex.run({ ...spec, onStart: (h) => handles.push(h) })) as SlurmExecutionResult;
    const tEnd = Date.now();

    expect(handles).toHaveLength(1);
    expect(handles[0]!.jobId).toMatch(/^\d+$/);
    expect(r.jobId).toBe(handles[0]!.jobId);
    expect(r).toMatchObject({
      exitCode: 0,
      signal: null,
      timedOut: false,
      aborted: false,
      oomKilled: false,
      schedulerState: 'COMPLETED',
    });
    expect(r.containment).toBe(
      (config.get('ProctrackType') ?? '').includes('cgroup') ? 'cgroup' : 'process-group',
    );
    expect(r.wallSeconds).toBeGreaterThanOrEqual(0);
    expect(r.wallSeconds).toBeLessThan(60); // measured, not a made-up figure
    expect(r.startedAt).toBeGreaterThanOrEqual(t0 - 1000);
    expect(r.startedAt).toBeLessThanOrEqual(tEnd);
    expect(r.limitsApplied).toBeUndefined();

    const log = fs.readFileSync(spec.logPath, 'utf8');
    expect(log).toContain(`stdout:${tricky}`);
    expect(log).toContain('stderr line');
    expect(r.outputBytes).toBe(Buffer.byteLength(log));
    expect(r.droppedBytes).toBe(0);
    expect(parseMetricsFromOutput(log)).toMatchObject({ val_loss: 0.25, tokens_per_s: 1200 });

    expect(fs.readFileSync(path.join(spec.cwd, 'where.txt'), 'utf8').trim()).toBe(spec.cwd);
    expect(fs.readFileSync(path.join(spec.cwd, 'foo.txt'), 'utf8')).toBe(tricky);
    const env = fs.readFileSync(path.join(spec.cwd, 'env.txt'), 'utf8');
    expect(env).toContain('AUTORESEARCH_EXPERIMENT_ID=' + spec.experimentId);
    expect(env).toContain(`SLURM_JOB_ID=${r.jobId}`);
    expect(env).not.toContain('AR_HARNESS_ONLY');
    expect(env).not.toMatch(/^HOME=/m);
    expect(env).not.toMatch(/^SLURM_EXPORT_ENV=/m);
    // No GPUs requested: Slurm sets no CUDA_VISIBLE_DEVICES, so the harness's value stays.
    expect(env).toContain('CUDA_VISIBLE_DEVICES=from-harness');
    // Nor does anything of the harness's own environment reach the batch script (or the
    // controller's record of the job) besides PATH and the Slurm client's settings.
    const wrapperEnv = fs.readFileSync(path.join(spec.cwd, 'wrapper-env.txt'), 'utf8');
    expect(wrapperEnv).toContain(`SLURM_JOB_ID=${r.jobId}\n`);
    expect(wrapperEnv).not.toContain('AR_HARNESS_ONLY');

    // Latencies, for the record: submit -> command start, command end -> result.
    const status = fs.readFileSync(`${spec.logPath}.slurm/status`, 'utf8');
    const startMs = Number(/start_ms=(\d+)/.exec(status)![1]);
    const endMs = Number(/end_ms=(\d+)/.exec(status)![1]);
    console.log(
      `[slurm.test] latency: submit->start ${startMs - t0} ms, end->result ${tEnd - endMs} ms, total ${tEnd - t0} ms`,
    );
  });

  it('keeps the log bounded (head, omission marker, tail, exact byte counts), reads metrics from the whole output, reports FAILED with the exit code', async (ctx) => {
    requireCluster(ctx);
    const filler = `head -c 300000 /dev/zero | tr '\\0' x; echo`;
    const command = [
      'echo "METRIC total_µs=99 acc=0.1"',
      filler,
      'echo "total_µs: 17"',
      `printf 'acc: 0.2\\racc: 0.3\\n'`,
      'echo "n: 1,234"',
      'for i in $(seq 1 200); do echo "loss: $i"; done',
      filler,
      'echo about to fail',
      'exit 3',
    ].join('; ');
    const fill = 'x'.repeat(300_000) + '\n';
    const losses = Array.from({ length: 200 }, (_, i) => `loss: ${i + 1}\n`).join('');
    const output = Buffer.from(
      `METRIC total_µs=99 acc=0.1\n${fill}total_µs: 17\nacc: 0.2\racc: 0.3\nn: 1,234\n${losses}${fill}about to fail\n`,
    );
    const spec = makeSpec(command, { logHeadBytes: 1000, logTailBytes: 500 });
    const r = (await executor().run(spec)) as SlurmExecutionResult;
    expect(r).toMatchObject({
      exitCode: 3,
      signal: null,
      timedOut: false,
      aborted: false,
      schedulerState: 'FAILED',
    });

    const total = output.length;
    expect(r.outputBytes).toBe(total);
    expect(r.droppedBytes).toBe(total - 1000 - 500);
    const log = fs.readFileSync(spec.logPath, 'utf8');
    expect(log).toBe(
      Buffer.concat([
        output.subarray(0, 1000),
        Buffer.from(omissionMarker(total - 1500)),
        output.subarray(total - 500),
      ]).toString('utf8'),
    );
    expect(log).toContain('about to fail');

    // The metrics come from the whole output, also the middle the log drops.
    expect(log).not.toContain('total_µs: 17');
    expect(r.metrics!.values).toEqual({ total_µs: 17, acc: 0.3, loss: 200 });
    expect(r.metrics!.refused.n).toMatchObject({
      line: null,
      where: 'the output',
      text: 'n: 1,234',
    });
    // Only the last line of each name is kept on the node.
    expect(fs.readFileSync(`${spec.logPath}.slurm/metrics`, 'utf8')).toBe(
      'total_µs: 17\nacc: 0.3\nn: 1,234\nloss: 200\n',
    );
  });

  it('enforces a 2 s hard timeout inside the job (SIGTERM, then SIGKILL after the grace period)', async (ctx) => {
    requireCluster(ctx);
    const spec = makeSpec('echo started; sleep 60', { timeoutSeconds: 2, killGraceSeconds: 1 });
    // A command that ignores SIGTERM is killed after the grace period (both jobs at once).
    const stubborn = makeSpec(`trap '' TERM; echo stubborn; sleep 60`, {
      timeoutSeconds: 1,
      killGraceSeconds: 1,
    });
    const t0 = Date.now();
    const [r, s] = (await Promise.all([
      executor().run(spec),
      executor().run(stubborn),
    ])) as SlurmExecutionResult[];
    // Well under Slurm's own (minute-granular) limit, queue time included.
    expect(Date.now() - t0).toBeLessThan(45_000);
    expect(r).toMatchObject({ timedOut: true, aborted: false, exitCode: null, signal: 'SIGTERM' });
    expect(r!.wallSeconds).toBeGreaterThanOrEqual(1.9);
    expect(r!.wallSeconds).toBeLessThan(30); // killed, not the end of its 60 s sleep
    expect(fs.readFileSync(spec.logPath, 'utf8')).toContain('started');

    // SIGKILL a grace period after the timeout.
    expect(s).toMatchObject({ timedOut: true, exitCode: null, signal: 'SIGKILL' });
    expect(s!.wallSeconds).toBeGreaterThanOrEqual(1.9);
    expect(s!.wallSeconds).toBeLessThan(30);
  });

  it("seals a job: it writes only its worktree and temp folder, sees neither the run's state, hidden paths nor other jobs' output, has no network; a setsid child holding the output dies with it", async (ctx) => {
    requireCluster(ctx);
    const name = `ar-slurm-escapee-${process.pid}`;
    const command = [
      // An escapee in its own session, holding the output open.
      `setsid bash -c 'exec -a ${name} sleep 300' &`,
      'p=$!',
      `until [ "$(tr '\\0' '\\n' < /proc/$p/cmdline | head -n 1)" = ${name} ]; do sleep 0.05; done`,
      'echo "escapee in session $(cut -d" " -f6 /proc/$p/stat), mine $(cut -d" " -f6 /proc/$$/stat)"',
      'echo inside > inside.txt',
      'echo t > "$TMPDIR/t" && echo tmp-writable',
      '{ echo escaped > "$CHECKOUT/escaped.txt"; } 2> /dev/null || echo checkout-refused',
      '{ echo escaped > /tmp/ar-escaped-$AUTORESEARCH_EXPERIMENT_ID; } 2> /dev/null || echo tmp-refused',
      'cat "$STATE/ledger.sqlite" 2> /dev/null || echo state-unreadable',
      'cat "$CHECKOUT/secret.txt" 2> /dev/null || echo hidden-unreadable',
      // The folder of every job's output FIFOs on the node: there, but empty.
      'fifos=$(ls -A /tmp/autoresearch-jobs-$(id -u)) && echo "fifos: [$fifos]"',
      'echo "interfaces: $(tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d " " | tr "\\n" " ")"',
      'env > env.txt',
      'echo top-done',
      'kill -USR1 $$',
    ].join('\n');
    const sealed = await sealedSpec(command, { limits: { network: false } }, false);
    if (!sealed) return ctx.skip('bubblewrap cannot seal processes on this machine');
    const { spec, checkout, worktree } = sealed;
    const r = (await executor().run(spec)) as SlurmExecutionResult;
    const log = fs.readFileSync(spec.logPath, 'utf8');
    // bwrap reports the command killed by signal N as 128+N: mapped back to the signal.
    expect(r, log).toMatchObject({
      exitCode: null,
      signal: 'SIGUSR1',
      timedOut: false,
      schedulerState: 'FAILED',
    });
    expect(log).toContain('tmp-writable');
    expect(log).toContain('checkout-refused');
    expect(log).toContain('tmp-refused');
    expect(log).toContain('state-unreadable');
    expect(log).toContain('hidden-unreadable');
    expect(log).not.toContain('the holdout answers');
    expect(log).toContain('fifos: []');
    expect(log).toContain('interfaces: lo \n');
    expect(r.limitsApplied).toEqual({ memory: null, processes: null, network: 'netns' });
    expect(fs.readFileSync(path.join(worktree, 'inside.txt'), 'utf8')).toBe('inside\n');
    expect(fs.existsSync(path.join(checkout, 'escaped.txt'))).toBe(false);
    expect(fs.existsSync(`/tmp/ar-escaped-${spec.experimentId}`)).toBe(false);
    // Still exactly spec.env plus Slurm's variables.
    const env = fs.readFileSync(path.join(worktree, 'env.txt'), 'utf8');
    expect(env).toContain(`TMPDIR=${sealed.tmp}\n`);
    expect(env).toContain(`SLURM_JOB_ID=${r.jobId}\n`);
    expect(env).not.toMatch(/^(HOME|LC_ALL)=/m);

    // The escapee died with the sandbox, and the log is complete.
    const [, escapee, mine] = /escapee in session (\d+), mine (\d+)/.exec(log)!;
    expect(escapee).not.toBe(mine);
    expect(log).toContain('top-done');
    // Unsealed, the escapee would hold the output open and the end of the log would be lost.
    expect(log).not.toContain('still held open');
    expect(processesNamed(name)).toEqual([]);
  });

  it('keeps the kill grace for a sealed job on timeout: a TERM trap runs to its end; SIGKILL after the grace', async (ctx) => {
    requireCluster(ctx);
    const trap = `trap 'echo got-term; sleep 1; echo trap-done; exit 0' TERM; echo started; sleep 60 & wait`;
    const sealed = await sealedSpec(trap, { timeoutSeconds: 1, killGraceSeconds: 20 });
    if (!sealed) return ctx.skip('bubblewrap cannot seal processes on this machine');
    const stubborn = await sealedSpec(`trap '' TERM; echo stubborn; sleep 60`, {
      timeoutSeconds: 1,
      killGraceSeconds: 1,
    });
    // Both jobs at once.
    const [r, s] = await Promise.all([executor().run(sealed.spec), executor().run(stubborn!.spec)]);
    const log = fs.readFileSync(sealed.spec.logPath, 'utf8');
    expect(r, log).toMatchObject({
      timedOut: true,
      aborted: false,
      exitCode: null,
      signal: 'SIGTERM',
    });
    expect(log).toContain('got-term');
    expect(log).toContain('trap-done');
    expect(r!.wallSeconds).toBeLessThan(20);

    expect(s).toMatchObject({ timedOut: true, exitCode: null, signal: 'SIGKILL' });
    expect(s!.wallSeconds).toBeGreaterThanOrEqual(1.9);
  });

  it('a node that cannot seal fails the job before the command starts, saying why', async (ctx) => {
    requireCluster(ctx);
    const sealed = await sealedSpec('echo must-not-run');
    if (!sealed) return ctx.skip('bubblewrap cannot seal processes on this machine');
    const { spec } = sealed;
    // A source path this node does not have, as when the checkout is not on a shared filesystem.
    const prefix = spec.seal!.prefix;
    spec.seal = {
      ...spec.seal!,
      prefix: [
        ...prefix.slice(0, -1),
        '--ro-bind',
        '/nonexistent/autoresearch',
        path.join(spec.cwd, 'data'),
        '--',
      ],
    };
    const r = (await executor().run(spec)) as SlurmExecutionResult;
    const log = fs.readFileSync(spec.logPath, 'utf8');
    expect(r).toMatchObject({ exitCode: 2, schedulerState: 'FAILED' });
    expect(r.schedulerReason).toMatch(
      /^bubblewrap cannot seal the job on \S+: bwrap: Can't find source path \/nonexistent\/autoresearch.*; keep the repository on a filesystem the compute nodes share, or set `sandbox: off`/,
    );
    expect(log).toContain('[autoresearch: bubblewrap cannot seal the job on');
    expect(log).not.toContain('must-not-run');
  });

  it('cancels the job on abort, running or still queued, and waits until it is gone', async (ctx) => {
    requireCluster(ctx);
    const spec = makeSpec('echo running; sleep 60');
    const controller = new AbortController();
    const t0 = Date.now();
    const { jobId, result } = startInBackground(executor(), spec, controller.signal);
    const id = await jobId;
    // The head of the log is written while the job runs.
    const logShows = (text: string) => () =>
      fs.existsSync(spec.logPath) && fs.readFileSync(spec.logPath, 'utf8').includes(text);
    expect(await waitFor(logShows('running'), 45_000)).toBe(true);
    controller.abort();
    const r = (await result) as SlurmExecutionResult;
    expect(Date.now() - t0).toBeLessThan(45_000);
    expect(r).toMatchObject({
      aborted: true,
      timedOut: false,
      exitCode: null,
      schedulerState: 'CANCELLED',
      jobId: id,
    });
    expect(inQueue(id)).toBe(false);
    expect(fs.readFileSync(spec.logPath, 'utf8')).toContain('running');

    // Aborted as soon as it is submitted (most likely still pending).
    const early = makeSpec('echo should-not-matter; sleep 60');
    const c2 = new AbortController();
    const r2 = (await executor().run(
      { ...early, onStart: () => c2.abort() },
      c2.signal,
    )) as SlurmExecutionResult;
    expect(r2).toMatchObject({ aborted: true, schedulerState: 'CANCELLED' });
    expect(inQueue(r2.jobId!)).toBe(false);

    // Aborted before anything was submitted.
    const c3 = new AbortController();
    c3.abort();
    const r3 = (await executor().run(makeSpec('true'), c3.signal)) as SlurmExecutionResult;
    expect(r3).toMatchObject({ aborted: true, jobId: null });
  });

  it('reports OUT_OF_MEMORY as oomKilled with limits.memoryBytes (--mem)', async (ctx) => {
    requireCluster(ctx);
    const enforced =
      (config.get('TaskPlugin') ?? '').includes('cgroup') &&
      (config.get('ConstrainRAMSpace') ?? '').toLowerCase() === 'yes';
    if (!enforced)
      ctx.skip(
        'the cluster does not enforce memory (needs TaskPlugin=task/cgroup and ConstrainRAMSpace=yes)',
      );
    // `tail -c N` holds N bytes of a pipe in memory: 300 MB against a 50 MB limit.
    const spec = makeSpec(
      'echo allocating; head -c 300000000 /dev/zero | tail -c 300000000 > /dev/null',
      {
        limits: { memoryBytes: 50 * 1000 * 1000 },
      },
    );
    const r = (await executor().run(spec)) as SlurmExecutionResult;
    expect(r).toMatchObject({ oomKilled: true, timedOut: false, aborted: false });
    expect(r.schedulerReason).toMatch(/^out of memory/);
    // Slurm says OUT_OF_MEMORY when it counted the kill before the step ended, FAILED when the
    // kill raced the step's end (seen on a loaded machine); the job's own count decides then.
    expect(['OUT_OF_MEMORY', 'FAILED']).toContain(r.schedulerState);
    expect(fs.readFileSync(`${spec.logPath}.slurm/status`, 'utf8')).toMatch(/^oom_kills=[1-9]/m);
    expect(r.exitCode).not.toBe(0);
    expect(r.limitsApplied).toEqual({ memory: 'cgroup', processes: null, network: null });
    expect(r.peakMemoryBytes).not.toBeNull();
    expect(r.peakMemoryBytes!).toBeLessThanOrEqual(64 * 1024 * 1024);
  });

  it('reattaches to a job left behind by an earlier executor and gets its result', async (ctx) => {
    requireCluster(ctx);
    // The fresh executor's scontrol leaves a mark once it has answered a look at the job; the
    // job runs until then, so the reattach finds it running.
    const bin = fs.mkdtempSync(path.join(root, 'bin-'));
    const looked = path.join(bin, 'looked');
    const real = spawnSync('bash', ['-c', 'command -v scontrol'], {
      encoding: 'utf8',
    }).stdout.trim();
    fs.writeFileSync(
      path.join(bin, 'scontrol'),
      `#!/bin/bash\n${real} "$@"; rc=$?\ncase " $* " in *" show job "*) : > "${looked}" ;; esac\nexit $rc\n`,
      { mode: 0o755 },
    );
    const spec = makeSpec(
      'echo first; for i in $(seq 1200); do [ -e "$LOOKED" ] && break; sleep 0.05; done; echo reattached-output; exit 5',
    );
    spec.env = { ...spec.env, LOOKED: looked };
    // The "old harness": started the job and is never awaited or aborted.
    const old = startInBackground(executor(), spec);
    const jobId = await old.jobId;
    expect(await waitFor(() => fs.existsSync(startedFile(spec)), 45_000)).toBe(true);

    const fresh = executor({ env: { ...clusterEnv, PATH: `${bin}:${process.env.PATH}` } });
    const r = (await fresh.reattach({ jobId }, spec)) as SlurmExecutionResult;
    expect(r).not.toBeNull();
    expect(r).toMatchObject({
      exitCode: 5,
      schedulerState: 'FAILED',
      jobId,
      timedOut: false,
      aborted: false,
    });
    expect(fs.existsSync(looked)).toBe(true);
    const log = fs.readFileSync(spec.logPath, 'utf8');
    expect(log).toContain('first');
    expect(log).toContain('reattached-output');
    expect(r.outputBytes).toBe(Buffer.byteLength(log));

    // The abandoned follower agrees, and reattaching after the end gives the same result.
    expect((await old.result).exitCode).toBe(5);
    const again = await executor().reattach({ jobId }, spec);
    expect(again).toMatchObject({ exitCode: 5, outputBytes: r.outputBytes });
    expect(fs.readFileSync(spec.logPath, 'utf8')).toBe(log);

    // Nothing to reattach to: an unknown job, or a job id that belongs to another experiment.
    expect(await executor().reattach({ jobId: '999999999' }, makeSpec('true'))).toBeNull();
    expect(await executor().reattach({ jobId }, makeSpec('true'))).toBeNull();
    expect(await executor().reattach({}, makeSpec('true'))).toBeNull();
  });

  it('killLeftovers cancels a running job of the experiment, and only that', async (ctx) => {
    requireCluster(ctx);
    const spec = makeSpec('echo orphan; sleep 60');
    const bg = startInBackground(executor(), spec);
    const jobId = await bg.jobId;
    expect(await waitFor(() => fs.existsSync(startedFile(spec)), 45_000)).toBe(true);
    const ex = executor();
    // Another experiment's marker: not ours to cancel.
    expect(await ex.killLeftovers({ jobId }, { AUTORESEARCH_EXPERIMENT_ID: '424242' })).toBe(0);
    expect(inQueue(jobId)).toBe(true);
    const marker = {
      AUTORESEARCH_EXPERIMENT_ID: String(spec.experimentId),
      AUTORESEARCH_RUN_TAG: 'test',
    };
    expect(await ex.killLeftovers({ jobId }, marker)).toBe(1);
    expect(inQueue(jobId)).toBe(false);
    expect(await ex.killLeftovers({ jobId }, marker)).toBe(0);
    expect(await ex.killLeftovers({ pgid: 12345 }, marker)).toBe(0);
    // The (abandoned) follower sees a cancellation it did not ask for: a crash, not an abort.
    const r = (await bg.result) as SlurmExecutionResult;
    expect(r).toMatchObject({
      aborted: false,
      schedulerState: 'CANCELLED',
      exitCode: null,
      signal: 'SIGTERM',
    });
    expect(r.schedulerReason).toMatch(/outside/);
  });

  it('gives two concurrent --gres=gpu:1 jobs different CUDA_VISIBLE_DEVICES', async (ctx) => {
    requireCluster(ctx);
    if (!hasGpus)
      ctx.skip(
        'the cluster has no gres/gpu (scripts/slurm-local.sh could not create the fake GPU devices)',
      );
    const ex = executor({ gres: 'gpu:1' });
    // Each job waits (up to 45 s: other tests may share the cluster) until the other one runs
    // too, so both hold a GPU at once.
    const command =
      'echo "CVD=$CUDA_VISIBLE_DEVICES"; : > "$MARK_SELF"; for i in $(seq 450); do [ -e "$MARK_OTHER" ] && break; sleep 0.1; done; sleep 0.3';
    const specs = [makeSpec(command), makeSpec(command)];
    const marks = specs.map((s) => path.join(s.cwd, 'running'));
    specs.forEach(
      (s, i) =>
        (s.env = {
          ...s.env,
          CUDA_VISIBLE_DEVICES: '7',
          MARK_SELF: marks[i]!,
          MARK_OTHER: marks[1 - i]!,
        }),
    );
    const results = await Promise.all(specs.map((s) => ex.run(s)));
    for (const r of results) expect(r.exitCode).toBe(0);
    const devices = specs.map((s) => /CVD=(\S*)/.exec(fs.readFileSync(s.logPath, 'utf8'))?.[1]);
    expect(new Set(devices)).toEqual(new Set(['0', '1']));
    // They really ran at the same time.
    const [a, b] = results as [SlurmExecutionResult, SlurmExecutionResult];
    expect(
      a.startedAt < b.startedAt + b.wallSeconds * 1000 &&
        b.startedAt < a.startedAt + a.wallSeconds * 1000,
    ).toBe(true);
  });

  it('re-submits a job sbatch refused, and gives up with the reason after the last attempt', async (ctx) => {
    requireCluster(ctx);
    // An sbatch in front of the real one that refuses the first `failures` submissions, as a
    // controller does while it restarts.
    const bin = fs.mkdtempSync(path.join(root, 'bin-'));
    const real = spawnSync('bash', ['-c', 'command -v sbatch'], { encoding: 'utf8' }).stdout.trim();
    fs.writeFileSync(
      path.join(bin, 'sbatch'),
      `#!/bin/bash
n=$(cat "${bin}/count" 2>/dev/null || echo 0); echo $((n + 1)) > "${bin}/count"
if [ "$n" -lt "$(cat "${bin}/failures")" ]; then echo "sbatch: error: Batch job submission failed: Socket timed out on send/recv operation" >&2; exit 1; fi
exec ${real} "$@"
`,
      { mode: 0o755 },
    );
    const env = { ...clusterEnv, PATH: `${bin}:${process.env.PATH}` };
    fs.writeFileSync(path.join(bin, 'failures'), '2\n');
    const r = await executor({ env, submitRetryMs: [10, 10] }).run(makeSpec('echo ok'));
    expect(r.exitCode).toBe(0);
    expect(fs.readFileSync(path.join(bin, 'count'), 'utf8').trim()).toBe('3');
    fs.writeFileSync(path.join(bin, 'failures'), '99\n');
    fs.writeFileSync(path.join(bin, 'count'), '0\n');
    await expect(executor({ env, submitRetryMs: [10, 10] }).run(makeSpec('true'))).rejects.toThrow(
      /^sbatch refused the experiment 3 times, the last one with: sbatch: error: Batch job submission failed: Socket timed out/,
    );
    await expect(
      executor({ partition: 'no-such-partition', submitRetryMs: [] }).run(makeSpec('true')),
    ).rejects.toThrow(/sbatch refused the experiment 1 time, the last one with: .*partition/i);
  });

  it('check(): the controller answers and sbatch accepts the job options, else says what to fix', async (ctx) => {
    requireCluster(ctx);
    await expect(executor({ gres: 'gpu:1' }).check()).resolves.toBeUndefined();
    await expect(executor({ partition: 'no-such-partition' }).check()).rejects.toThrow(
      /^sbatch does not accept the job options from program.md: .*partition.*\n  fix: fix `slurm:`/is,
    );
    const noController = path.join(root, 'nowhere.conf');
    fs.writeFileSync(
      noController,
      'ClusterName=nowhere\nSlurmctldHost=localhost(127.0.0.1)\nSlurmctldPort=1\n',
    );
    await expect(executor({ env: { SLURM_CONF: noController } }).check()).rejects.toThrow(
      /^the Slurm controller does not answer: /,
    );
    await expect(executor({ env: { PATH: root } }).check()).rejects.toThrow(
      /^executor: slurm, but 'scontrol' not found/,
    );
  });
});

describe('Slurm job-state mapping and parsers (no cluster needed)', () => {
  const job = (state: string, extra: Partial<JobInfo> = {}): JobInfo => ({
    jobId: '42',
    name: 'autoresearch-1',
    state,
    reason: null,
    exitCode: 0,
    exitSignal: 0,
    submitTime: 1000,
    startTime: 2000,
    endTime: 5000,
    stdOut: null,
    nodeList: 'node7',
    source: 'scontrol',
    ...extra,
  });
  const status = (code: number, seconds = 1): JobStatus => ({
    jobId: '42',
    code,
    startMs: 10_000,
    endMs: 10_000 + seconds * 1000,
    headBytes: 0,
    restBytes: 0,
    peakBytes: null,
    oomKills: 0,
    readerDone: true,
  });

  it('maps each final state', () => {
    expect(mapJobState(job('COMPLETED'), status(0), true, false, 30, '42')).toMatchObject({
      exitCode: 0,
      signal: null,
      state: 'COMPLETED',
      reason: null,
    });
    expect(
      mapJobState(job('FAILED', { exitCode: 3 }), status(3), true, false, 30, '42'),
    ).toMatchObject({ exitCode: 3, signal: null, state: 'FAILED' });
    // Killed by a signal inside the job: bash reports 128+n.
    expect(mapJobState(job('FAILED'), status(139), true, false, 30, '42')).toMatchObject({
      exitCode: null,
      signal: 'SIGSEGV',
    });
    // The hard timeout inside the job (GNU timeout: 124, or 137 after SIGKILL), only once it is due.
    expect(mapJobState(job('FAILED'), status(124, 30), true, false, 30, '42')).toMatchObject({
      timedOut: true,
      signal: 'SIGTERM',
      exitCode: null,
    });
    expect(mapJobState(job('FAILED'), status(137, 31), true, false, 30, '42')).toMatchObject({
      timedOut: true,
      signal: 'SIGKILL',
    });
    expect(mapJobState(job('FAILED'), status(124, 2), true, false, 30, '42')).toMatchObject({
      timedOut: false,
      exitCode: 124,
    });
    // Slurm's own time limit (the backstop).
    expect(mapJobState(job('TIMEOUT'), null, true, false, 30, '42')).toMatchObject({
      timedOut: true,
      state: 'TIMEOUT',
      exitCode: null,
      signal: 'SIGTERM',
    });
    expect(mapJobState(job('OUT_OF_MEMORY'), status(137), true, false, 30, '42')).toMatchObject({
      oomKilled: true,
      signal: 'SIGKILL',
      state: 'OUT_OF_MEMORY',
    });
    expect(mapJobState(job('OUT_OF_MEMORY'), null, true, false, 30, '42')).toMatchObject({
      oomKilled: true,
      signal: 'SIGKILL',
    });
    // Slurm said FAILED, but the job's own cgroup counted a kill for memory: still out of memory.
    const raced = mapJobState(
      job('FAILED'),
      { ...status(137), oomKills: 1 },
      true,
      false,
      30,
      '42',
    );
    expect(raced).toMatchObject({ oomKilled: true, signal: 'SIGKILL', state: 'FAILED' });
    expect(raced.reason).toMatch(/^out of memory/);
    expect(mapJobState(job('FAILED'), status(137), true, false, 30, '42').oomKilled).toBeFalsy();
    expect(mapJobState(job('CANCELLED'), null, true, true, 30, '42')).toMatchObject({
      aborted: true,
      state: 'CANCELLED',
    });
    const foreign = mapJobState(job('CANCELLED'), null, true, false, 30, '42');
    expect(foreign).toMatchObject({ exitCode: null, signal: 'SIGTERM' });
    expect(foreign.aborted).toBeFalsy();
    expect(foreign.reason).toMatch(/outside/);
    const nodeFail = mapJobState(job('NODE_FAIL'), null, true, false, 30, '42');
    expect(nodeFail).toMatchObject({ exitCode: null, signal: null, state: 'NODE_FAIL' });
    expect(nodeFail.reason).toMatch(/node failed.*node7/);
    expect(mapJobState(job('PREEMPTED'), null, true, false, 30, '42').reason).toMatch(/preempted/);
    // The wrapper could not start (e.g. the work folder is not shared with the node).
    const early = mapJobState(job('FAILED', { exitCode: 2 }), null, false, false, 30, '42');
    expect(early).toMatchObject({ exitCode: 2, state: 'FAILED' });
    expect(early.reason).toMatch(/before the command started/);
    // The wrapper said why (a node that cannot seal, a missing working directory): that is the reason.
    const said = mapJobState(
      job('FAILED', { exitCode: 2 }),
      null,
      false,
      false,
      30,
      '42',
      'bubblewrap is not installed on node7: ...',
    );
    expect(said).toMatchObject({
      exitCode: 2,
      state: 'FAILED',
      reason: 'bubblewrap is not installed on node7: ...',
    });
    // Forgotten by Slurm: the status file decides; with nothing left, UNKNOWN.
    expect(mapJobState(null, status(0), true, false, 30, '42')).toMatchObject({
      exitCode: 0,
      state: 'COMPLETED',
    });
    expect(mapJobState(null, status(4), true, false, 30, '42')).toMatchObject({
      exitCode: 4,
      state: 'FAILED',
    });
    expect(mapJobState(null, null, true, false, 30, '42')).toMatchObject({
      exitCode: null,
      state: 'UNKNOWN',
    });
  });

  it('fits the sandbox to the node: its own bwrap and devices, no mounts for paths it lacks; says when bwrap is missing', async (ctx) => {
    const support = await detectSandbox();
    if (!support.sealed) return ctx.skip('bubblewrap cannot seal processes on this machine');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ar-node-seal-'));
    const hide = path.join(dir, 'fifos');
    fs.mkdirSync(hide);
    const fit = (prefix: string[], pathVar = '/usr/local/bin:/usr/bin:/bin') =>
      spawnSync(
        '/bin/bash',
        [
          '-c',
          `${NODE_SEAL}\n__ar_d=$1 __ar_hide=$2; shift 2; __ar_seal=("$@"); PATH=$__ar_path; __ar_node_seal; printf '%s\\n' "\${__ar_seal[@]}"`,
          'bash',
          dir,
          hide,
          ...prefix,
        ],
        {
          encoding: 'utf8',
          env: { __ar_path: pathVar },
          // Not a socket: bash would read ~/.bashrc, thinking it was started by sshd.
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
    const r = fit([
      '/nonexistent/bwrap',
      '--ro-bind',
      '/',
      '/',
      '--dev',
      '/dev',
      '--proc',
      '/proc',
      '--dev-bind-try',
      '/dev/harness-gpu',
      '/dev/harness-gpu',
      '--tmpfs',
      '/nonexistent/state',
      '--ro-bind',
      '/dev/null',
      '/nonexistent/secret',
      '--tmpfs',
      dir,
      '--bind',
      hide,
      hide,
      '--remount-ro',
      '/nonexistent/state',
      '--remount-ro',
      dir,
      '--unshare-pid',
      '--die-with-parent',
      '--chdir',
      dir,
      '--',
    ]);
    expect(r.stderr).toBe('');
    const nodeDevices = fs
      .readdirSync('/dev')
      .filter((n) => /^(nvidia.*|dri|kfd|infiniband|accel)$/.test(n))
      .flatMap((n) => ['--dev-bind-try', `/dev/${n}`, `/dev/${n}`]);
    expect(r.stdout.trimEnd().split('\n')).toEqual([
      spawnSync('bash', ['-c', 'command -v bwrap'], { encoding: 'utf8' }).stdout.trim(),
      '--ro-bind',
      '/',
      '/',
      '--dev',
      '/dev',
      ...nodeDevices,
      '--proc',
      '/proc',
      '--tmpfs',
      dir,
      '--bind',
      hide,
      hide,
      '--remount-ro',
      dir,
      '--unshare-pid',
      '--die-with-parent',
      '--chdir',
      dir,
      '--tmpfs',
      hide,
      '--remount-ro',
      hide,
      '--',
    ]);
    const missing = fit(['/nonexistent/bwrap', '--ro-bind', '/', '/', '--'], dir);
    expect(missing.status).toBe(2);
    expect(fs.readFileSync(path.join(dir, 'error'), 'utf8')).toMatch(
      /^bubblewrap is not installed on \S+: neither \/nonexistent\/bwrap nor bwrap on PATH; install it on the compute nodes .*`sandbox: off`/,
    );
    expect(missing.stderr).toMatch(/^\[autoresearch: bubblewrap is not installed on /);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('parses scontrol and jobcomp records, sizes, and quotes anything', () => {
    const line =
      'JobId=45887907 JobName=autoresearch-3 UserId=root(0) JobState=OUT_OF_MEMORY Reason=OutOfMemory ExitCode=0:125 ' +
      'SubmitTime=2026-11-28T17:28:33 StartTime=2026-11-28T17:28:34 EndTime=2026-11-28T17:28:40 NodeList=localhost StdOut=/x/slurm.out';
    const info = parseScontrolJob(line, '45887907')!;
    expect(info).toMatchObject({
      name: 'autoresearch-3',
      state: 'OUT_OF_MEMORY',
      reason: 'OutOfMemory',
      exitCode: 0,
      exitSignal: 125,
      nodeList: 'localhost',
    });
    expect(info.endTime! - info.startTime!).toBe(6000);
    expect(parseScontrolJob(line, '4588790')).toBeNull();
    const comp = [
      'JobId=7 UserId=root(0) GroupId=root(0) Name=old JobState=COMPLETED Partition=debug StartTime=2026-11-28T17:28:41 EndTime=2026-11-28T17:28:41 ExitCode=0:0',
      'JobId=7 UserId=root(0) GroupId=root(0) Name=autoresearch-9 JobState=FAILED Partition=debug StartTime=2026-11-28T17:28:42 EndTime=2026-11-28T17:28:45 NodeList=localhost ExitCode=3:0',
      '',
    ].join('\n');
    expect(parseJobcompRecord(comp, '7')).toMatchObject({
      name: 'autoresearch-9',
      state: 'FAILED',
      exitCode: 3,
      source: 'jobcomp',
    });
    expect(
      parseSacct(
        '12|autoresearch-4|CANCELLED by 0|0:15|2026-11-28T17:28:41|2026-11-28T17:28:42|2026-11-28T17:28:50|node1\n',
        '12',
      ),
    ).toMatchObject({
      name: 'autoresearch-4',
      state: 'CANCELLED',
      exitSignal: 15,
      source: 'sacct',
    });
    expect(parseSize('237832K')).toBe(237832 * 1024);
    expect(parseSize('1.5M')).toBe(1.5 * 1024 * 1024);
    expect(parseSize('')).toBeNull();
    const nasty = `a'b"c$d\`e\\f\ng; rm -rf /`;
    const r = spawnSync('bash', ['-c', `x=${shellQuote(nasty)}; printf %s "$x"`], {
      encoding: 'utf8',
    });
    expect(r.stdout).toBe(nasty);
    expect(() =>
      renderParams({
        command: 'a\0b',
        cwd: '/',
        env: {},
        logPath: '/x',
        headBytes: 1,
        tailBytes: 1,
        timeoutSeconds: 1,
        graceSeconds: 1,
      }),
    ).toThrow(/NUL/);
  });
});
