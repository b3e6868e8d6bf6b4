import { defineConfig } from 'vitest/config';
import ExamplesFirst from './test/sequencer.js';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    setupFiles: ['test/setup.ts'],
    // Bounds for a failing test, not timing windows: a shared machine can be several times slower
    // than a quiet one, and a passing test never waits for them.
    testTimeout: 180_000,
    hookTimeout: 180_000,
    // expect.poll waits for an event too: the bound is for the failure case (its default is 1 s).
    expect: { poll: { timeout: 120_000 } },
    // One worker more than these machines' two cores: a fifth of a two-worker run's CPU time was
    // idle, its tests waiting on processes (timeouts, kill grace periods, Slurm's scheduler).
    // Measured here: 152 s with two workers, 127 s with three; with another job taking a core,
    // 166 s and 151 s.
    maxWorkers: 3,
    pool: 'forks',
    // Each worker imports the modules once for all its files instead of once per file: a third of
    // the suite's CPU went to importing the same modules again. Files must leave no global state
    // behind (environment variables, module-level caches) that another file could see.
    isolate: false,
    // Concurrent tests (the Slurm executor's) share a 2-CPU cluster: two at a time never queue.
    maxConcurrency: 2,
    sequence: { sequencer: ExamplesFirst },
  },
});
