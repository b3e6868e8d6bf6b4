/**
 * The search bench's stand-ins for the agent (bench/search.ts): given the chosen parent and the
 * experiments so far, the next point to evaluate. Every strategy gets the same agent; only the
 * parent differs.
 *
 * - blind: one Gaussian coordinate step of a tenth of the range (a quarter of the time, every
 *   coordinate at once), with no memory: it may repeat a change that already failed.
 * - memory: closer to a model reading the brief, which lists what was already tried from its
 *   parent and how it ended (research memory, near-duplicate flags). Most of the time it refines:
 *   one coordinate, one direction (±), a step not yet tried from this parent; a quarter of the
 *   time it tries a new idea instead: one or two coordinates drawn afresh anywhere in range.
 *
 * The memory agent's constants were fixed before any strategy was compared with it, and are not
 * tuned to any strategy's advantage:
 * - first step 10% of the range: the blind agent's step, so the two differ in memory, not in scale;
 * - halve the step once all 2·d directions are tried at it: compass (pattern) search's classic
 *   rule, what "the obvious tweaks have been tried, try finer ones" amounts to;
 * - new idea with probability 1/4: the blind agent's rate of large moves, so the two agents leap
 *   equally often; one or two coordinates (even odds): a structurally different choice of a knob
 *   or two, not a restart of everything;
 * - the way back counts as tried: the parent's own step reversed lands on its parent, whose
 *   value the brief already shows.
 * What it remembers is read from the experiment list every strategy sees (each experiment's
 * parent and its change), never from state only one strategy's run keeps.
 */
import type { Rng } from '../tune/random.js';

/** What an experiment changed from its parent, as its title would say it. */
type Change =
  | { kind: 'step'; coord: number; sign: 1 | -1; level: number }
  | { kind: 'idea' }
  | { kind: 'blind' }
  | { kind: 'start' };

/** One evaluated point of the bench, as the agent sees it. */
export interface Trial {
  id: number;
  parent: number | null;
  x: number[];
  change: Change;
}

export interface Box {
  dims: number;
  lo: number;
  hi: number;
}

export type SearchAgent = (
  trials: readonly Trial[],
  parent: number,
  box: Box,
  rng: Rng,
) => { x: number[]; change: Change };

/** The first refinement step, as a fraction of the range; level L steps are this / 2^L. */
export const FIRST_STEP = 0.1;
/** How often the memory agent tries a new idea rather than a refinement. */
const NEW_IDEA = 0.25;
/** Past this many halvings a step is lost in the numbers' precision. */
const MAX_LEVEL = 40;

const clamp = (v: number, box: Box) => Math.min(box.hi, Math.max(box.lo, v));

export const blindAgent: SearchAgent = (trials, parent, box, rng) => {
  const x = trials[parent]!.x;
  const all = rng.next() < 0.25;
  const i = rng.int(0, box.dims - 1);
  const step = () => rng.normal() * FIRST_STEP * (box.hi - box.lo);
  return {
    x: x.map((v, j) => (all || j === i ? clamp(v + step(), box) : v)),
    change: { kind: 'blind' },
  };
};

const key = (level: number, coord: number, sign: number) => `${level}:${coord}:${sign}`;

/**
 * The memory agent's refinement from `parent`: the directions not yet tried from it at the
 * finest level reached so far (the coarsest level with one left), uniformly among them. Null
 * when none is left at any level.
 */
export function nextRefinement(
  trials: readonly Trial[],
  parent: number,
  box: Box,
  rng: Rng,
): { coord: number; sign: 1 | -1; level: number } | null {
  const from = trials[parent]!;
  const tried = new Set<string>();
  for (const t of trials)
    if (t.parent === parent && t.change.kind === 'step')
      tried.add(key(t.change.level, t.change.coord, t.change.sign));
  if (from.change.kind === 'step')
    tried.add(key(from.change.level, from.change.coord, -from.change.sign));
  for (let level = 0; level <= MAX_LEVEL; level++) {
    const open: Array<{ coord: number; sign: 1 | -1; level: number }> = [];
    for (let coord = 0; coord < box.dims; coord++)
      for (const sign of [1, -1] as const) {
        // A knob already at its bound cannot move further that way.
        const atBound = sign > 0 ? from.x[coord]! >= box.hi : from.x[coord]! <= box.lo;
        if (!atBound && !tried.has(key(level, coord, sign))) open.push({ coord, sign, level });
      }
    if (open.length > 0) return open[rng.int(0, open.length - 1)]!;
  }
  return null;
}

export const memoryAgent: SearchAgent = (trials, parent, box, rng) => {
  const x = trials[parent]!.x;
  const step = rng.next() < NEW_IDEA ? null : nextRefinement(trials, parent, box, rng);
  if (step) {
    const size = (FIRST_STEP * (box.hi - box.lo)) / 2 ** step.level;
    const moved = x.map((v, j) => (j === step.coord ? clamp(v + step.sign * size, box) : v));
    return { x: moved, change: { kind: 'step', ...step } };
  }
  const first = rng.int(0, box.dims - 1);
  const redraw = new Set([first]);
  // The second knob is another one: (first + 1..dims-1) mod dims.
  if (box.dims > 1 && rng.next() < 0.5) redraw.add((first + rng.int(1, box.dims - 1)) % box.dims);
  return {
    x: x.map((v, j) => (redraw.has(j) ? box.lo + rng.next() * (box.hi - box.lo) : v)),
    change: { kind: 'idea' },
  };
};
