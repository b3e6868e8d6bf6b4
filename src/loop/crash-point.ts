/**
 * Fault injection for the crash-safety tests: with AUTORESEARCH_CRASH_AT=<state>:<id> the harness
 * kills itself with SIGKILL right after persisting that state of that experiment, which is the
 * only way to test "kill -9 at any moment" deterministically. Without the variable it does nothing.
 */
export function crashPoint(state: string, id: number): void {
  const spec = process.env.AUTORESEARCH_CRASH_AT;
  if (spec && spec.split(',').includes(`${state}:${id}`)) process.kill(process.pid, 'SIGKILL');
}
