import { execFileSync } from 'node:child_process';

/**
 * The interpreter `python3` runs, named directly: a launcher in between (pyenv's shim, a shell
 * script that starts several processes) costs ~0.5 s of CPU per start, and fixtures start it once
 * per experiment. The same Python either way; `python3` itself where it cannot be asked.
 */
export const PYTHON = (() => {
  try {
    const exe = execFileSync('python3', ['-c', 'import sys; print(sys.executable)'], {
      encoding: 'utf8',
    }).trim();
    return exe && !/\s/.test(exe) ? exe : 'python3';
  } catch {
    return 'python3';
  }
})();
