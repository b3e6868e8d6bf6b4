/**
 * The tune agent's brain: given the search space and every result so far, propose the next
 * config. Stateless by design: all state is rebuilt from `history`, and the randomness is derived
 * from (seed, configs taken so far), so a resumed run proposes exactly what an uninterrupted one would.
 */
import {
  configKey,
  decodeConfig,
  dimsOf,
  encodeConfig,
  snap,
  type Dim,
  type NumDim,
} from './encode.js';
import { formatValue } from './literals.js';
import { createRng, halton, hashSeed, uniformCoordinate as uniform, type Rng } from './random.js';
import type { Config, SearchSpace, Strategy } from './space.js';
import { DEFAULT_TPE, tpeCandidates, type Observation, type TpeOptions } from './tpe.js';

export type Goal = 'minimize' | 'maximize';

export interface HistoryEntry {
  config: Config;
  /** null (or NaN / ±Infinity): the experiment crashed or timed out; worse than any result. */
  value: number | null;
}

export interface SuggestInput {
  space: SearchSpace;
  history: HistoryEntry[];
  /**
   * Configs proposed and not measured yet (other slots, the pipelined candidate): never proposed
   * again, and they advance the initial design and the random stream, so slots that propose at
   * the same moment get different points. Empty in a sequential run, which keeps resume exact.
   */
  pending?: Config[];
  /**
   * Configs never to propose again that taught nothing (aborted by the user, skipped): like
   * pending ones they are taken and advance the design, but they are not observations.
   */
  retired?: Config[];
  goal: Goal;
  /** Defaults to space.strategy. */
  strategy?: Strategy;
  /** Defaults to space.seed, else 0. */
  seed?: number;
  /** Defaults to space.initial. */
  initial?: number;
  /** Overrides for experiments and benchmarks; the defaults are what the agent uses. */
  tpe?: Partial<TpeOptions>;
  /**
   * On a plateau (many experiments without a keep): explore rather than refine. Half the
   * suggestions are uniform samples, the rest come from TPE with a heavier prior and wider kernels.
   */
  explore?: boolean;
}

/** What `explore` does to TPE: the prior counts as EXPLORE_PRIOR observations, kernels EXPLORE_WIDTH times as wide. */
const EXPLORE_PRIOR = 4;
const EXPLORE_WIDTH = 2;
const EXPLORE_UNIFORM = 0.5;

/** Where a suggestion came from, for the experiment's hypothesis line and the ledger. */
type SuggestionSource = 'initial' | 'tpe' | 'random' | 'jitter' | 'enumerate';

export interface Suggestion {
  config: Config;
  source: SuggestionSource;
}

/** Every config of a finite space has been tried: there is nothing new to propose. */
export class SpaceExhaustedError extends Error {
  constructor(count: number) {
    super(`all ${count} configs of the search space have been tried; widen the space to continue`);
    this.name = 'SpaceExhaustedError';
  }
}

export function suggest(input: SuggestInput): Config {
  return propose(input).config;
}

export function propose(input: SuggestInput): Suggestion {
  const { space, history, goal } = input;
  const strategy = input.strategy ?? space.strategy;
  const seed = input.seed ?? space.seed ?? 0;
  const initial = input.initial ?? space.initial;
  const dims = dimsOf(space.params);
  // Taken without a result: never proposed again, but each one moves the design and the stream on.
  const unmeasured = [...(input.pending ?? []), ...(input.retired ?? [])];
  const seen = new Set(
    [...history.map((h) => h.config), ...unmeasured].map((c) => configKey(dims, c)),
  );
  const proposed = history.length + unmeasured.length;
  const rng = createRng(hashSeed(seed, proposed));
  const fresh = (c: Config): boolean => !seen.has(configKey(dims, c));
  const snapAll = (x: number[]): number[] => x.map((v, i) => snap(dims[i]!, v));

  let first: number[];
  let source: SuggestionSource;
  const observations = toObservations(dims, history, goal);
  // Drawn only when exploring: a run that never explores keeps exactly the stream it had.
  const coin = input.explore ? rng.next() : 1;
  if (
    strategy === 'random' ||
    (input.explore && observations.length > 0 && coin < EXPLORE_UNIFORM)
  ) {
    first = dims.map((d) => uniform(d, rng));
    source = 'random';
  } else if (proposed < initial || observations.length === 0) {
    // Space-filling start: the model has nothing to say yet, and Halton covers the box evenly.
    first = halton(proposed, dims.length, seed).map((u, i) => fromUnit(dims[i]!, u));
    source = 'initial';
  } else {
    const options = { ...DEFAULT_TPE, ...input.tpe };
    if (input.explore) {
      options.priorWeight *= EXPLORE_PRIOR;
      options.bandwidth *= EXPLORE_WIDTH;
    }
    const candidates = tpeCandidates(dims, observations, rng, snapAll, options);
    const best = candidates.map((c) => decodeConfig(dims, c.x)).find(fresh);
    if (best) return { config: best, source: 'tpe' };
    first = candidates[0]!.x;
    source = 'tpe';
  }
  const config = decodeConfig(dims, first);
  if (fresh(config)) return { config, source };
  return unseen(dims, first, fresh, rng, seen.size);
}

/** Finite losses where smaller is better; crashes become +Infinity. */
function toObservations(dims: Dim[], history: HistoryEntry[], goal: Goal): Observation[] {
  const out: Observation[] = [];
  for (const h of history) {
    const x = encodeConfig(dims, h.config);
    if (!x) continue; // a config from a different space (param added or removed): not comparable
    const v = h.value;
    const loss = v === null || !Number.isFinite(v) ? Infinity : goal === 'minimize' ? v : -v;
    out.push({ x, loss });
  }
  return out;
}

function fromUnit(d: Dim, u: number): number {
  return d.kind === 'cat' ? Math.min(d.choices.length - 1, Math.floor(u * d.choices.length)) : u;
}

/**
 * The proposal repeats a tried config (common once ints and categoricals are mostly explored):
 * perturb it with growing noise, then sample uniformly, and for small finite spaces enumerate.
 */
function unseen(
  dims: Dim[],
  x: number[],
  fresh: (c: Config) => boolean,
  rng: Rng,
  seenCount: number,
): Suggestion {
  for (let i = 1; i <= 32; i++) {
    const scale = 0.02 * i;
    const y = dims.map((d, k) => {
      if (d.kind === 'cat') return rng.next() < scale ? rng.int(0, d.choices.length - 1) : x[k]!;
      return Math.min(1, Math.max(0, x[k]! + scale * rng.normal()));
    });
    const c = decodeConfig(dims, y);
    if (fresh(c)) return { config: c, source: 'jitter' };
  }
  for (let i = 0; i < 256; i++) {
    const c = decodeConfig(
      dims,
      dims.map((d) => uniform(d, rng)),
    );
    if (fresh(c)) return { config: c, source: 'random' };
  }
  const size = finiteSize(dims);
  if (size !== null && size <= 100_000) {
    const all = enumerate(dims).filter(fresh);
    if (all.length === 0) throw new SpaceExhaustedError(size);
    return { config: all[rng.int(0, all.length - 1)]!, source: 'enumerate' };
  }
  throw new SpaceExhaustedError(seenCount);
}

/** Number of distinct configs when every dimension is discrete, else null. */
function finiteSize(dims: Dim[]): number | null {
  let n = 1;
  for (const d of dims) {
    if (d.kind === 'cat') n *= d.choices.length;
    else if (d.int)
      n *= d.pow2 ? Math.log2(d.param.max / d.param.min) + 1 : d.param.max - d.param.min + 1;
    else return null;
  }
  return n;
}

/** Every value of an int dimension, in order. */
function intValues(d: NumDim): number[] {
  const { min, max } = d.param;
  if (!d.pow2) return Array.from({ length: max - min + 1 }, (_, i) => min + i);
  const values: number[] = [];
  for (let v = min; v <= max; v *= 2) values.push(v);
  return values;
}

function enumerate(dims: Dim[]): Config[] {
  let configs: Config[] = [{}];
  for (const d of dims) {
    const values = d.kind === 'cat' ? d.choices : intValues(d);
    configs = configs.flatMap((c) => values.map((v) => ({ ...c, [d.param.name]: v })));
  }
  return configs;
}

/**
 * A one-line title for the change, e.g. `LR 0.04 -> 0.027, DEPTH 4 -> 5`: only params whose
 * value changed, in declaration order (`to`'s key order unless `order` is given).
 */
export function describeChange(from: Config, to: Config, order?: string[]): string {
  const names = order ?? Object.keys(to);
  const parts: string[] = [];
  for (const name of names) {
    if (!(name in to)) continue;
    const a = from[name];
    const b = to[name]!;
    if (a !== undefined && typeof a === typeof b && a === b) continue;
    parts.push(`${name} ${a === undefined ? '?' : formatValue(a)} -> ${formatValue(b)}`);
  }
  return parts.length > 0 ? parts.join(', ') : 'no change';
}
