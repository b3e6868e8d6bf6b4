/**
 * The optimizer's coordinates. Numeric params live in [0, 1] (after the log transform when
 * `log: true`, so "spread across decades" is uniform there); ints cover [min-0.5, max+0.5] so
 * every integer gets an equal share; `pow2` ints do the same on the exponent, so 64, 128, 256
 * each get an equal share; bools and categoricals are indices into their choices.
 */
import { quantizeFloat, valueKey, type Config, type ParamSpec, type ParamValue } from './space.js';

export interface NumDim {
  kind: 'num';
  param: ParamSpec & { type: 'float' | 'int' };
  lo: number;
  hi: number;
  log: boolean;
  int: boolean;
  /** The axis is the exponent k of 2**k (an int param with `pow2: true`). */
  pow2: boolean;
}
interface CatDim {
  kind: 'cat';
  param: ParamSpec;
  choices: ParamValue[];
}
export type Dim = NumDim | CatDim;

export function dimsOf(params: ParamSpec[]): Dim[] {
  return params.map((p): Dim => {
    if (p.type === 'bool') return { kind: 'cat', param: p, choices: [false, true] };
    if (p.type === 'categorical') return { kind: 'cat', param: p, choices: p.values };
    const int = p.type === 'int';
    if (int && p.pow2) {
      const [lo, hi] = [Math.log2(p.min) - 0.5, Math.log2(p.max) + 0.5];
      return { kind: 'num', param: p, lo, hi, log: false, int, pow2: true };
    }
    const lo = int ? p.min - 0.5 : p.min;
    const hi = int ? p.max + 0.5 : p.max;
    return {
      kind: 'num',
      param: p,
      lo: p.log ? Math.log(lo) : lo,
      hi: p.log ? Math.log(hi) : hi,
      log: p.log,
      int,
      pow2: false,
    };
  });
}

/** A value's position on the dimension's axis (before scaling to [0, 1]). */
function toAxis(dim: NumDim, v: number): number {
  return dim.pow2 ? Math.log2(v) : dim.log ? Math.log(v) : v;
}

/** The unit coordinate of a position on the axis, clamped to [0, 1]. */
function toUnit(dim: NumDim, t: number): number {
  return Math.min(1, Math.max(0, (t - dim.lo) / (dim.hi - dim.lo)));
}

/** Unit coordinate or choice index of a value; null when it does not belong to the dimension. */
function encodeValue(dim: Dim, v: ParamValue | undefined): number | null {
  if (v === undefined) return null;
  if (dim.kind === 'cat') {
    const i = dim.choices.findIndex((c) => valueKey(c) === valueKey(v));
    return i < 0 ? null : i;
  }
  if (typeof v !== 'number' || !Number.isFinite(v)) return null;
  if ((dim.log || dim.pow2) && v <= 0) return null;
  // Values outside the bounds (an old run with a wider space) still inform the model at the edge.
  return toUnit(dim, toAxis(dim, v));
}

function decodeValue(dim: Dim, x: number): ParamValue {
  if (dim.kind === 'cat')
    return dim.choices[Math.min(dim.choices.length - 1, Math.max(0, Math.round(x)))]!;
  const u = Math.min(1, Math.max(0, x));
  const t = dim.lo + u * (dim.hi - dim.lo);
  const { min, max } = dim.param;
  if (dim.pow2) return Math.min(max, Math.max(min, 2 ** Math.round(t)));
  const v = dim.log ? Math.exp(t) : t;
  if (dim.int) return Math.min(max, Math.max(min, Math.round(v)));
  return quantizeFloat(v, min, max);
}

/** The unit coordinate an int's value decodes from (its bin centre), so models see what was run. */
export function snap(dim: Dim, x: number): number {
  if (dim.kind === 'cat') return x;
  const v = decodeValue(dim, x) as number;
  return encodeValue(dim, v)!;
}

/**
 * The unit interval an int value's bin covers, so densities can be integrated over exactly the
 * inputs that round to it (bins are unequal on a log scale).
 */
export function binOf(dim: NumDim, x: number): [number, number] {
  const v = decodeValue(dim, x) as number;
  if (dim.pow2) {
    const k = Math.log2(v);
    return [toUnit(dim, k - 0.5), toUnit(dim, k + 0.5)];
  }
  const edge = (t: number): number => toUnit(dim, toAxis(dim, t));
  return [edge(v - 0.5), edge(v + 0.5)];
}

/** A config's coordinates, or null when it lacks a param or holds a value outside the space. */
export function encodeConfig(dims: Dim[], config: Config): number[] | null {
  const out: number[] = [];
  for (const d of dims) {
    const x = encodeValue(d, config[d.param.name]);
    if (x === null) return null;
    out.push(x);
  }
  return out;
}

export function decodeConfig(dims: Dim[], xs: number[]): Config {
  const config: Config = {};
  dims.forEach((d, i) => {
    config[d.param.name] = decodeValue(d, xs[i]!);
  });
  return config;
}

/** Identity of a config over the space's params, in declaration order (extra keys ignored). */
export function configKey(dims: Dim[], config: Config): string {
  return dims
    .map((d) => {
      const v = config[d.param.name];
      return v === undefined ? '-' : valueKey(v);
    })
    .join('|');
}
