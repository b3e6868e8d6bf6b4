/**
 * Fault injection for the crash-safety tests: with AUTORESEARCH_CRASH_AT=<state>:<id> the harness
 * kills itself with SIGKILL right after persisting that state of that experiment, which is the
 * only way to test "kill -9 at any moment" deterministically.
 *
 * Only the command line arms it (armCrashPoints, from src/cli/main.ts): the `autoresearch`
 * process is the harness and nothing else, so killing it is what the variable asks for. A program
 * that embeds the library is someone else's process; a variable it inherited must never kill it,
 * so until armed every crash point does nothing, whatever the environment says. The library's
 * entry point (src/index.ts) does not export this module and the package's `exports` map hides
 * its files.
 */
let armed: Set<string> | null = null;

/** Arms the crash points listed in `spec` (the value of AUTORESEARCH_CRASH_AT); empty or absent disarms. */
export function armCrashPoints(spec: string | undefined): void {
  armed = spec
    ? new Set(
        spec
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean),
      )
    : null;
}

export function crashPoint(state: string, id: number): void {
  if (armed?.has(`${state}:${id}`)) process.kill(process.pid, 'SIGKILL');
}
