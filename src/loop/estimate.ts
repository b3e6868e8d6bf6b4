/** When the first candidate starts: what `run` says before the baseline's repeats. Pure. */
import { formatDuration } from '../program/duration.js';

/**
 * "baseline: 3 repeats × 5m 00s on 1 slot; first candidate at ~14:05". The repeats run at once on
 * as many slots as there are (`measureBaseline`), in rounds when there are fewer slots; each is
 * counted at its whole budget (a run may end sooner), checks not included.
 */
export function baselineEstimate(o: {
  runs: number;
  budgetSeconds: number;
  slots: number;
  now: Date;
}): string {
  const runs = Math.max(1, o.runs);
  const slots = Math.max(1, Math.min(o.slots, runs));
  const rounds = Math.ceil(runs / slots);
  const at = new Date(o.now.getTime() + rounds * o.budgetSeconds * 1000);
  const hhmm = `${String(at.getHours()).padStart(2, '0')}:${String(at.getMinutes()).padStart(2, '0')}`;
  const where =
    slots === 1
      ? 'on 1 slot'
      : rounds === 1
        ? `on ${slots} slots at once`
        : `on ${slots} slots, ${rounds} rounds`;
  return `baseline: ${runs} ${runs === 1 ? 'run' : 'repeats'} × ${formatDuration(o.budgetSeconds)} ${where}; first candidate at ~${hhmm}`;
}
