/**
 * The optimizer's coordinates. Numeric params live in [0, 1] (after the log transform when
 * `log: true`, so "spread across decades" is uniform there); ints cover [min-0.5, max+0.5] so
 * every integer gets an equal share; bools and categoricals are indices into their choices.
 */
import { quantizeFloat, valueKey, type Config, type ParamSpec, type ParamValue } from './space.js';

export interface NumDim {
  kind: 'num';
  param: ParamSpec & { type: 'float' | 'int' };
  lo: number;
  hi: number;
  log: boolean;
  int: boolean;
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
    const lo = int ? p.min - 0.5 : p.min;
    const hi = int ? p.max + 0.5 : p.max;
    return {
      kind: 'num',
      param: p,
      lo: p.log ? Math.log(lo) : lo,
      hi: p.log ? Math.log(hi) : hi,
      log: p.log,
      int,
    };
  });
}

/** Unit coordinate or choice index of a value; null when it does not belong to the dimension. */
function encodeValue(dim: Dim, v: ParamValue | undefined): number | null {
  if (v === undefined) return null;
  if (dim.kind === 'cat') {
    const i = dim.choices.findIndex((c) => valueKey(c) === valueKey(v));
    return i < 0 ? null : i;
  }
  if (typeof v !== 'number' || !Number.isFinite(v)) return null;
  if (dim.log && v <= 0) return null;
  const t = dim.log ? Math.log(v) : v;
  // Values outside the bounds (an old run with a wider space) still inform the model at the edge.
  return Math.min(1, Math.max(0, (t - dim.lo) / (dim.hi - dim.lo)));
}

function decodeValue(dim: Dim, x: number): ParamValue {
  if (dim.kind === 'cat')
    return dim.choices[Math.min(dim.choices.length - 1, Math.max(0, Math.round(x)))]!;
  const u = Math.min(1, Math.max(0, x));
  const t = dim.lo + u * (dim.hi - dim.lo);
  const v = dim.log ? Math.exp(t) : t;
  const { min, max } = dim.param;
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
  const edge = (t: number): number => {
    const s = dim.log ? Math.log(t) : t;
    return Math.min(1, Math.max(0, (s - dim.lo) / (dim.hi - dim.lo)));
  };
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
