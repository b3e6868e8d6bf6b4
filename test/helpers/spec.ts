/** Experiment specs for executor tests: each in its own folder under a per-file temporary root. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ExperimentSpec } from '../../src/executors/executor.js';

export interface SpecFactory {
  /** The temporary root (created on first use). */
  root(): string;
  make(command: string, overrides?: Partial<ExperimentSpec>): ExperimentSpec;
  /** Removes the root; call from afterAll. */
  cleanup(): void;
}

/** `defaults` are merged under each spec's overrides (e.g. a longer timeout or extra env). */
export function specFactory(
  prefix: string,
  defaults: Partial<ExperimentSpec> = {},
  firstId = 1,
): SpecFactory {
  let root: string | undefined;
  let counter = 0;
  const ensureRoot = () => (root ??= fs.mkdtempSync(path.join(os.tmpdir(), prefix)));
  return {
    root: ensureRoot,
    make(command, overrides = {}) {
      const id = firstId + counter++;
      const dir = path.join(ensureRoot(), `run-${id}`);
      fs.mkdirSync(dir);
      return {
        experimentId: id,
        command,
        cwd: dir,
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
        budgetSeconds: 5,
        timeoutSeconds: 20,
        killGraceSeconds: 1,
        logPath: path.join(dir, 'run.log'),
        logHeadBytes: 64 * 1024,
        logTailBytes: 64 * 1024,
        ...defaults,
        ...overrides,
      };
    },
    cleanup() {
      if (root) fs.rmSync(root, { recursive: true, force: true });
    },
  };
}
