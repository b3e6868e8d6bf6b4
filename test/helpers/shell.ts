/**
 * Bash for experiment fixtures that wait for an event. Every turn of their loop is a builtin: a
 * loop of `git rev-parse ...; sleep 0.1` starts two processes (~15 ms of CPU each here) ten times
 * a second for as long as it waits, and on a loaded machine it waits long.
 *
 * - `nap [seconds]`: a pause (0.1 s by default) without a process: a read that times out on a
 *   pipe nobody writes.
 * - `ref NAME VAR`: reads the commit a ref holds into VAR, from its file in the repository's
 *   refs folder (update-ref writes loose refs; a sealed run may read the repository), failing
 *   while the ref does not exist. One `git rev-parse` per run finds the folder.
 */
export const WAITING = `exec {ar_nap}<> <(:)
nap() { read -rt "\${1:-0.1}" -u "$ar_nap" || :; }
ar_refs=
ref() {
  [ -n "$ar_refs" ] || ar_refs=$(git rev-parse --path-format=absolute --git-common-dir)/refs
  read -r "$2" 2>/dev/null <"$ar_refs/$1"
}
`;
