/** A bare sandbox for tests that seal one process: nothing hidden, kept or protected. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { SandboxSupport } from '../../src/sandbox/detect.js';
import { Sandbox, type ProcessSeal, type SealRole } from '../../src/sandbox/sandbox.js';

/** Seals `role` in `root` (writable, the working folder), with the run's state folder inside it. */
export function sealIn(support: SandboxSupport, root: string, role: SealRole): ProcessSeal {
  const stateDir = path.join(root, '.autoresearch');
  fs.mkdirSync(stateDir, { recursive: true });
  const sandbox = new Sandbox(support, {
    repo: root,
    programDir: '',
    stateDir,
    workDir: stateDir,
    hidden: [],
    keepIgnored: [],
    protectedFiles: [],
  });
  const tmp = sandbox.tempDir(role);
  return sandbox.seal({ role, root, cwd: root, tmp, network: false });
}
