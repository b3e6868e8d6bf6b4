import * as fs from 'node:fs';
import { spawn, spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ExperimentSpec } from '../../src/executors/executor.js';
import { detectCgroupSupport, LocalExecutor } from '../../src/executors/local.js';
import { BoundedLog, omissionMarker } from '../../src/executors/log-sink.js';
import { cgroupParentDir } from '../../src/executors/cgroup.js';
import { specFactory } from '../helpers/spec.js';
import { isAlive, killQuietly, readPids } from '../helpers/processes.js';
import { tempDir } from '../helpers/temp.js';
import { waitFor } from '../helpers/repo.js';
import { detectSandbox } from '../../src/sandbox/detect.js';
import { sealIn } from '../helpers/seal.js';

const CGROUP = detectCgroupSupport();
const CGROUP_SKIP_REASON = 'cgroup v1 memory/pids/freezer hierarchies are not writable here';
if (!CGROUP) console.warn(`[local.test] skipping cgroup containment tests: ${CGROUP_SKIP_REASON}`);
/** Test title, with the skip reason spelled out when cgroups are unavailable. */
const cgTitle = (title: string) => (CGROUP ? title : `${title} [skipped: ${CGROUP_SKIP_REASON}]`);

const specs = specFactory('ar-local-exec-');
afterAll(() => specs.cleanup());
const makeSpec = specs.make;

const modes = ['process-group', 'cgroup'] as const;

describe.each(modes)('LocalExecutor (%s)', (mode) => {
  const unsupported = mode === 'cgroup' && !CGROUP;
  const exec = unsupported
    ? (null as unknown as LocalExecutor)
    : new LocalExecutor({ containment: mode });
  const t = (title: string, fn: () => Promise<void>) =>
    it.skipIf(unsupported)(unsupported ? `${title} [skipped: ${CGROUP_SKIP_REASON}]` : title, fn);

  t('passes the exit code through and reports the containment used', async () => {
    const r = await exec.run(makeSpec('exit 42'));
    expect(r.exitCode).toBe(42);
    expect(r.signal).toBeNull();
    expect(r.timedOut).toBe(false);
    expect(r.aborted).toBe(false);
    expect(r.containment).toBe(mode);
    expect(r.wallSeconds).toBeGreaterThan(0);
    expect(r.wallSeconds).toBeLessThan(60); // measured, not a made-up figure
    expect(Math.abs(r.startedAt - Date.now())).toBeLessThan(10_000);
  });

  t('reports the signal that ended the top process, and 127 for a missing command', async () => {
    const killed = await exec.run(makeSpec('kill -KILL $$'));
    expect(killed.exitCode).toBeNull();
    expect(killed.signal).toBe('SIGKILL');
    expect(killed.timedOut).toBe(false);
    const missingSpec = makeSpec('definitely-not-a-command-ar');
    const missing = await exec.run(missingSpec);
    expect(missing.exitCode).toBe(127);
    expect(fs.readFileSync(missingSpec.logPath, 'utf8')).toMatch(
      /^bash: line 1: definitely-not-a-command-ar: command not found/,
    );
  });

  t('passes exactly spec.env', async () => {
    process.env.AR_PARENT_ONLY = 'must-not-leak';
    try {
      const spec = makeSpec(
        'printf "%s|%s|%s\\n" "$AR_VAR" "${AR_PARENT_ONLY-unset}" "${HOME-unset}"; env',
        {
          env: { PATH: process.env.PATH ?? '/usr/bin:/bin', AR_VAR: "with spaces $and 'quotes'" },
        },
      );
      const r = await exec.run(spec);
      expect(r.exitCode).toBe(0);
      const lines = fs.readFileSync(spec.logPath, 'utf8').split('\n');
      expect(lines[0]).toBe("with spaces $and 'quotes'|unset|unset");
      const names = lines
        .slice(1)
        .filter((l) => l.includes('='))
        .map((l) => l.slice(0, l.indexOf('=')));
      // bash itself always sets PWD, SHLVL and _ (as a plain `bash -c` would).
      expect(new Set(names)).toEqual(new Set(['PATH', 'AR_VAR', 'PWD', 'SHLVL', '_']));
    } finally {
      delete process.env.AR_PARENT_ONLY;
    }
  });

  t('runs in spec.cwd', async () => {
    const spec = makeSpec('pwd -P');
    const r = await exec.run(spec);
    expect(r.exitCode).toBe(0);
    expect(fs.readFileSync(spec.logPath, 'utf8')).toBe(`${fs.realpathSync(spec.cwd)}\n`);
  });

  t('logs stdout and stderr, interleaved in order', async () => {
    const spec = makeSpec('echo out1; echo err1 >&2; echo out2; printf tail >&2');
    const r = await exec.run(spec);
    expect(r.exitCode).toBe(0);
    expect(fs.readFileSync(spec.logPath, 'utf8')).toBe('out1\nerr1\nout2\ntail');
    expect(r.outputBytes).toBe(19);
    expect(r.droppedBytes).toBe(0);
  });

  t('bounds a ~50 MB flood to head + marker + tail', async () => {
    const n = 6_500_000;
    const headBytes = 1001;
    const tailBytes = 3003;
    const spec = makeSpec(`seq 1 ${n}`, { logHeadBytes: headBytes, logTailBytes: tailBytes });
    const r = await exec.run(spec);
    expect(r.exitCode).toBe(0);
    let total = 0;
    for (let i = 1; i <= n; i++) total += String(i).length + 1;
    let head = '';
    for (let i = 1; head.length < headBytes; i++) head += `${i}\n`;
    let tail = '';
    for (let i = n; tail.length < tailBytes; i--) tail = `${i}\n${tail}`;
    head = head.slice(0, headBytes);
    tail = tail.slice(tail.length - tailBytes);
    const dropped = total - headBytes - tailBytes;
    expect(r.outputBytes).toBe(total);
    expect(r.droppedBytes).toBe(dropped);
    const content = fs.readFileSync(spec.logPath, 'latin1');
    expect(content).toBe(head + omissionMarker(dropped) + tail);
    expect(content).toContain(`[autoresearch: ${dropped} bytes omitted]`);
  });

  t('timeout kills the whole forked tree', async () => {
    const spec = makeSpec(
      [
        'for i in 1 2 3; do sleep 100 & echo $! >> pids; done',
        "bash -c 'sleep 100 & echo $! >> pids; wait' & echo $! >> pids",
        'echo started; wait',
      ].join('\n'),
      { timeoutSeconds: 1, killGraceSeconds: 30 },
    );
    const t0 = Date.now();
    const r = await exec.run(spec);
    const pids = readPids(path.join(spec.cwd, 'pids'));
    try {
      expect(r.timedOut).toBe(true);
      expect(r.aborted).toBe(false);
      expect(r.exitCode).toBeNull();
      expect(r.signal).toBe('SIGTERM');
      expect(Date.now() - t0).toBeLessThan(20_000); // SIGTERM sufficed: no wait for the 30 s grace
      expect(pids).toHaveLength(5);
      for (const pid of pids) expect(isAlive(pid), `pid ${pid}`).toBe(false);
      expect(fs.readFileSync(spec.logPath, 'utf8')).toBe('started\n');
    } finally {
      killQuietly(pids);
    }
  });

  t('SIGKILLs a tree that ignores SIGTERM after the grace period', async () => {
    const spec = makeSpec("trap '' TERM; sleep 100 & echo $! > pid; wait", {
      timeoutSeconds: 0.5,
      killGraceSeconds: 0.7,
    });
    const r = await exec.run(spec);
    const pid = readPids(path.join(spec.cwd, 'pid'));
    try {
      expect(r.timedOut).toBe(true);
      expect(r.signal).toBe('SIGKILL');
      expect(r.wallSeconds).toBeGreaterThanOrEqual(1.1);
      expect(r.wallSeconds).toBeLessThan(60); // killed, not the end of its 100 s sleep
      expect(isAlive(pid[0]!)).toBe(false);
    } finally {
      killQuietly(pid);
    }
  });

  t('abort via AbortSignal kills the tree', async () => {
    const spec = makeSpec('sleep 100 & echo $! > pid; wait');
    const controller = new AbortController();
    const running = exec.run(spec, controller.signal);
    // Aborted once the tree is there.
    await waitFor(
      () =>
        fs.existsSync(path.join(spec.cwd, 'pid')) &&
        readPids(path.join(spec.cwd, 'pid')).length > 0,
      120_000,
      'the tree to start',
    );
    controller.abort();
    const r = await running;
    const pid = readPids(path.join(spec.cwd, 'pid'));
    try {
      expect(r.aborted).toBe(true);
      expect(r.timedOut).toBe(false);
      expect(r.exitCode).toBeNull();
      expect(r.wallSeconds).toBeLessThan(60); // killed, not the end of its 100 s sleep
      expect(isAlive(pid[0]!)).toBe(false);
    } finally {
      killQuietly(pid);
    }
    const pre = new AbortController();
    pre.abort();
    const spec2 = makeSpec('echo should-not-run > ran');
    const r2 = await exec.run(spec2, pre.signal);
    expect(r2.aborted).toBe(true);
    expect(fs.existsSync(path.join(spec2.cwd, 'ran'))).toBe(false);
  });

  t('kills background children left behind when the top process exits', async () => {
    const spec = makeSpec(
      "sleep 100 & echo $! >> pids; (trap '' TERM; exec sleep 100) & echo $! >> pids; echo done; exit 0",
      { killGraceSeconds: 0.5 },
    );
    const r = await exec.run(spec);
    const pids = readPids(path.join(spec.cwd, 'pids'));
    try {
      expect(r.exitCode).toBe(0);
      expect(r.timedOut).toBe(false);
      expect(pids).toHaveLength(2);
      for (const pid of pids) expect(isAlive(pid), `pid ${pid}`).toBe(false);
      expect(fs.readFileSync(spec.logPath, 'utf8')).toBe('done\n');
    } finally {
      killQuietly(pids);
    }
  });

  t('measures the peak memory of the tree (~100 MB allocation)', async () => {
    const script =
      'const b = Buffer.alloc(100 * 1024 * 1024, 1); setTimeout(() => console.log(b[12345]), 500);';
    const spec = makeSpec(`"${process.execPath}" -e "$SCRIPT"; true`, {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', SCRIPT: script },
    });
    const r = await exec.run(spec);
    expect(r.exitCode).toBe(0);
    expect(fs.readFileSync(spec.logPath, 'utf8')).toBe('1\n');
    const mb = (r.peakMemoryBytes ?? 0) / (1024 * 1024);
    expect(mb).toBeGreaterThan(95);
    expect(mb).toBeLessThan(350);
  });
});

describe('LocalExecutor containment specifics', () => {
  it.skipIf(!CGROUP)(
    cgTitle('cgroup containment kills a setsid escapee (timeout and normal exit)'),
    async () => {
      const exec = new LocalExecutor({ containment: 'cgroup' });
      const spec = makeSpec('setsid sleep 100 & echo $! > pid; sleep 100', { timeoutSeconds: 0.5 });
      const r = await exec.run(spec);
      const pid = readPids(path.join(spec.cwd, 'pid'));
      const spec2 = makeSpec(
        "setsid sleep 100 >/dev/null 2>&1 & echo $! > pid; sleep 0.2; cut -d' ' -f6 /proc/$!/stat > sid; exit 3",
      );
      const r2 = await exec.run(spec2);
      const pid2 = readPids(path.join(spec2.cwd, 'pid'));
      try {
        expect(r.timedOut).toBe(true);
        expect(isAlive(pid[0]!)).toBe(false);
        expect(r2.exitCode).toBe(3);
        // It really had escaped: its own session (and so its own process group).
        expect(readPids(path.join(spec2.cwd, 'sid'))).toEqual(pid2);
        expect(r2.wallSeconds).toBeLessThan(60); // not the escapee's 100 s
        expect(isAlive(pid2[0]!)).toBe(false);
      } finally {
        killQuietly([...pid, ...pid2]);
      }
    },
  );

  it.skipIf(!CGROUP)(
    cgTitle('auto uses cgroups when supported and removes every group it made'),
    async () => {
      // Only this test's groups: another file in the same worker may still be removing its own.
      const controllers = ['memory', 'pids', 'freezer'] as const;
      const mine = (controller: (typeof controllers)[number]) =>
        fs.readdirSync(cgroupParentDir(controller)).filter((n) => n.includes(`-${process.pid}-`));
      const before = new Map(controllers.map((c) => [c, new Set(mine(c))]));
      const exec = new LocalExecutor();
      const r = await exec.run(makeSpec('sleep 100 & exit 0'));
      expect(r.containment).toBe('cgroup');
      const failing = makeSpec('echo x', {
        logPath: path.join(specs.root(), 'no-such-dir', 'run.log'),
      });
      await expect(new LocalExecutor({ containment: 'cgroup' }).run(failing)).rejects.toThrow(
        /ENOENT/,
      );
      for (const controller of controllers) {
        const left = mine(controller).filter((n) => !before.get(controller)!.has(n));
        expect(left, controller).toEqual([]);
      }
    },
  );

  it.skipIf(!CGROUP)(
    cgTitle(
      "removes the empty groups of a harness that died (kill -9), not a busy one, a living harness's or a young one",
    ),
    async () => {
      const controllers = ['memory', 'pids', 'freezer'] as const;
      // A pid that is no process now: a child that has exited and been reaped.
      const dead = spawnSync('true').pid!;
      const hourAgo = new Date(Date.now() - 3_600_000);
      const made: string[] = [];
      const group = (name: string, old: boolean) => {
        for (const c of controllers) {
          const dir = path.join(cgroupParentDir(c), name);
          fs.mkdirSync(dir);
          made.push(dir);
          if (old) fs.utimesSync(dir, hourAgo, hourAgo);
        }
        return name;
      };
      const stale = group(`run-${dead}-1-stale1`, true);
      const young = group(`run-${dead}-2-young1`, false);
      const living = group(`run-${process.pid}-9999-mine01`, true);
      // A process still inside: the resumed run's killLeftovers deals with it, not the sweep. It
      // goes in before the group is aged: the other test files' executors sweep meanwhile too.
      const busy = group(`run-${dead}-3-busy01`, false);
      const inside = spawn('sleep', ['100']);
      fs.writeFileSync(path.join(cgroupParentDir('pids'), busy, 'cgroup.procs'), `${inside.pid}`);
      for (const c of controllers)
        fs.utimesSync(path.join(cgroupParentDir(c), busy), hourAgo, hourAgo);
      const has = (name: string) =>
        controllers.filter((c) => fs.existsSync(path.join(cgroupParentDir(c), name)));
      try {
        // The executor sweeps before it makes its own group.
        const r = await new LocalExecutor({ containment: 'cgroup' }).run(makeSpec('exit 0'));
        expect(r.containment).toBe('cgroup');
        expect(has(stale)).toEqual([]);
        expect(has(young)).toEqual([...controllers]);
        expect(has(living)).toEqual([...controllers]);
        expect(has(busy)).toEqual(['pids']); // its empty memory and freezer groups went
      } finally {
        inside.kill('SIGKILL');
        await new Promise((done) => inside.once('exit', done));
        for (const dir of made.reverse()) {
          // The emptied pids group can take a moment to be removable once its task is reaped.
          await waitFor(() => {
            try {
              fs.rmdirSync(dir);
            } catch (err) {
              if ((err as NodeJS.ErrnoException).code !== 'ENOENT') return false;
            }
            return true;
          });
        }
      }
    },
  );

  it('process-group mode does not hang on a setsid escapee that holds the output pipe', async () => {
    const exec = new LocalExecutor({ containment: 'process-group' });
    const spec = makeSpec('setsid sleep 100 & echo $! > pid; sleep 0.2; echo top');
    const t0 = Date.now();
    const r = await exec.run(spec);
    const pid = readPids(path.join(spec.cwd, 'pid'));
    // The documented limitation of process-group containment: the escapee survives.
    const survived = isAlive(pid[0]!);
    killQuietly(pid);
    expect(survived).toBe(true);
    expect(r.exitCode).toBe(0);
    expect(Date.now() - t0).toBeLessThan(60_000); // not the escapee's 100 s
    expect(fs.readFileSync(spec.logPath, 'utf8')).toBe('top\n');
  });

  it('reads metrics from the whole output, also the middle the log drops', async () => {
    // 64 KiB head and tail; the metrics are printed between 3 MiB of filler on each side.
    const filler = 'head -c 3145728 /dev/zero | tr "\\0" x; echo';
    const spec = makeSpec(
      `${filler}; echo "total_µs: 17"; printf 'acc: 0.1\\racc: 0.2\\racc: 0.3\\n'; echo "n: 1,234"; ${filler}`,
    );
    const r = await new LocalExecutor().run(spec);
    expect(r.exitCode).toBe(0);
    expect(r.droppedBytes).toBeGreaterThan(6_000_000);
    expect(fs.readFileSync(spec.logPath, 'utf8')).not.toContain('total_µs');
    expect(r.metrics!.values).toEqual({ total_µs: 17, acc: 0.3 });
    expect(r.metrics!.refused.n).toMatchObject({ line: 4, text: 'n: 1,234' });
  });

  it('rejects for harness errors: unwritable log path, missing cwd', async () => {
    const exec = new LocalExecutor();
    const spec = makeSpec('echo ran > ran', {
      logPath: path.join(specs.root(), 'missing', 'x.log'),
    });
    await expect(exec.run(spec)).rejects.toThrow(/ENOENT/);
    expect(fs.existsSync(path.join(spec.cwd, 'ran'))).toBe(false);
    const noCwd = makeSpec('echo hi', { cwd: path.join(specs.root(), 'no-such-cwd') });
    await expect(exec.run(noCwd)).rejects.toThrow(/working directory does not exist/);
  });
});

describe.each(modes)('LocalExecutor sealed (%s)', (mode) => {
  /** A run's sandbox around the spec's folder, as the loop seals an experiment. */
  async function seal(spec: ExperimentSpec): Promise<ExperimentSpec | null> {
    const support = await detectSandbox();
    if (!support.sealed) return null;
    const s = sealIn(support, spec.cwd, 'run');
    return { ...spec, env: { ...spec.env, ...s.env }, seal: s };
  }

  it.skipIf(mode === 'cgroup' && !CGROUP)(
    'a stop while the sandbox starts ends it at once; once the command runs, it gets the grace period',
    async (ctx) => {
      const exec = new LocalExecutor({ containment: mode });
      // The command cannot be sent the polite signal before it exists. Aborts from the first
      // millisecond on land before, during and after the sandbox's start (about 15 ms here).
      for (const delay of [0, 1, 2, 4, 8, 16, 32]) {
        const spec = await seal(
          makeSpec('sleep 100', { killGraceSeconds: 60, timeoutSeconds: 120 }),
        );
        if (!spec) return ctx.skip('bubblewrap cannot seal processes on this machine');
        const stop = new AbortController();
        const run = exec.run(spec, stop.signal);
        setTimeout(() => stop.abort(), delay);
        const r = await run;
        // Not the kill grace (60 s) that a command started after the signal would run out.
        expect(r.wallSeconds, `aborted after ${delay} ms`).toBeLessThan(30);
      }
      const spec = await seal(
        makeSpec("trap 'echo cleaned > cleaned; exit 0' TERM; : > started; sleep 100 & wait", {
          killGraceSeconds: 60,
          timeoutSeconds: 120,
        }),
      );
      const stop = new AbortController();
      const run = exec.run(spec!, stop.signal);
      await waitFor(() => fs.existsSync(path.join(spec!.cwd, 'started')));
      stop.abort();
      await run;
      expect(fs.readFileSync(path.join(spec!.cwd, 'cleaned'), 'utf8')).toBe('cleaned\n');
    },
  );
});

describe('BoundedLog', () => {
  it('matches a reference head/tail for random chunkings', () => {
    let seed = 12345;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const dir = tempDir('ar-bounded-log-');
    try {
      for (let trial = 0; trial < 200; trial++) {
        const head = rand(50);
        const tail = rand(70);
        const total = rand(400);
        const data = Buffer.alloc(total);
        for (let i = 0; i < total; i++) data[i] = 97 + (i % 26);
        const file = path.join(dir, `t${trial}`);
        const fd = fs.openSync(file, 'w');
        const log = new BoundedLog(fd, head, tail);
        for (let off = 0; off < total;) {
          const len = Math.min(total - off, 1 + rand(tail > 0 ? tail * 2 : 10));
          log.write(data.subarray(off, off + len));
          off += len;
        }
        const totals = log.finish();
        fs.closeSync(fd);
        const keptHead = Math.min(head, total);
        const keptTail = Math.min(tail, total - keptHead);
        const dropped = total - keptHead - keptTail;
        const expected =
          data.subarray(0, keptHead).toString('latin1') +
          (dropped > 0 ? omissionMarker(dropped) : '') +
          data.subarray(total - keptTail).toString('latin1');
        expect(totals).toEqual({ outputBytes: total, droppedBytes: dropped });
        expect(
          fs.readFileSync(file, 'latin1'),
          `trial ${trial} head=${head} tail=${tail} total=${total}`,
        ).toBe(expected);
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
