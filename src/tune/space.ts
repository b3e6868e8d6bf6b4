/**
 * The search space of the built-in `tune` agent: what `program.md` declares under `search:`,
 * the zod schema that reads it, and the checks the schema cannot express (bounds order, log
 * scale, categorical distinctness). Everything here is pure: reading the files the params live
 * in is `assignments.ts`'s job.
 */
import { z } from 'zod';
import { isPowerOfTwo } from './expressions.js';

export type ParamValue = number | string | boolean;
export type Config = Record<string, ParamValue>;

interface ParamBase {
  /** The identifier assigned in `file` (the key under `params:`). */
  name: string;
  /** Path of the file holding the assignment, relative to the program's folder. */
  file: string;
}
interface FloatParam extends ParamBase {
  type: 'float';
  min: number;
  max: number;
  log: boolean;
}
interface IntParam extends ParamBase {
  type: 'int';
  min: number;
  max: number;
  log: boolean;
  /** Only powers of two between min and max (sizes: widths, batch sizes), evenly by exponent. */
  pow2?: boolean;
}
interface CategoricalParam extends ParamBase {
  type: 'categorical';
  values: ParamValue[];
}
interface BoolParam extends ParamBase {
  type: 'bool';
}
export type ParamSpec = FloatParam | IntParam | CategoricalParam | BoolParam;

export type Strategy = 'tpe' | 'random';

export interface SearchSpace {
  strategy: Strategy;
  /** How many (quasi-)random points come before the model-based strategy takes over. */
  initial: number;
  /** Fixes the random stream; unset, the tune agent derives it from the run tag. */
  seed?: number;
  /** In declaration order: titles, file rewrites and the optimizer's dimensions follow it. */
  params: ParamSpec[];
}

/**
 * A declared search space the harness cannot use; `param` names the offending entry, if one,
 * and `key` the offending key of `search:` itself (e.g. `seed`), if one.
 */
export class SearchSpaceError extends Error {
  readonly param: string | undefined;
  readonly key: string | undefined;
  constructor(message: string, param?: string, key?: string) {
    super(message);
    this.name = 'SearchSpaceError';
    this.param = param;
    this.key = key;
  }
}

// strictObject everywhere: a typo such as `mni:` should be an error, not a silently ignored key.
const file = z
  .string()
  .min(1, 'file must name the file holding the assignment, e.g. `file: train.py`');
const FloatSchema = z.strictObject({
  file,
  type: z.literal('float'),
  min: z.number(),
  max: z.number(),
  log: z.boolean().default(false),
});
const IntSchema = z.strictObject({
  file,
  type: z.literal('int'),
  min: z.number(),
  max: z.number(),
  log: z.boolean().default(false),
  pow2: z.boolean().optional(),
});
const CategoricalSchema = z.strictObject({
  file,
  type: z.literal('categorical'),
  values: z.array(z.union([z.string(), z.number(), z.boolean()])),
});
const BoolSchema = z.strictObject({ file, type: z.literal('bool') });

const ParamSchema = z.discriminatedUnion('type', [
  FloatSchema,
  IntSchema,
  CategoricalSchema,
  BoolSchema,
]);

const SEED_HINT =
  'expected a whole number, e.g. `seed: 7` (or no `seed:` at all, to seed from the run tag)';

/** The value of the top-level `search:` key in `program.md`'s front matter. */
export const SearchSchema = z.strictObject({
  strategy: z.enum(['tpe', 'random']).default('tpe'),
  initial: z.number().int().min(0).optional(),
  seed: z.number({ error: SEED_HINT }).int(SEED_HINT).optional(),
  params: z.record(z.string(), ParamSchema),
});

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** Default number of space-filling points: enough to see every dimension twice, never too many. */
function defaultInitial(paramCount: number): number {
  return Math.min(10, Math.max(4, 2 * paramCount));
}

/**
 * Parse and validate a `search:` block. Throws SearchSpaceError (never a raw ZodError) so the
 * CLI can print one actionable line naming the param.
 */
export function parseSearchSpace(raw: unknown): SearchSpace {
  const parsed = SearchSchema.safeParse(raw);
  if (!parsed.success) {
    // Unknown keys first: `mni:` also makes `min` missing, and the typo is the thing to fix.
    const issues = [...parsed.error.issues]
      .sort((a, b) => rankIssue(a.code) - rankIssue(b.code))
      .slice(0, 3);
    const path = issues[0]!.path.map(String);
    const param = path[0] === 'params' && path.length > 1 ? path[1] : undefined;
    const key = path[0] !== undefined && path[0] !== 'params' ? path[0] : undefined;
    const text = issues
      .map((i) => `${['search', ...i.path.map(String)].join('.')}: ${i.message}`)
      .join('; ');
    throw new SearchSpaceError(`${text}${schemaHint(path)}`, param, key);
  }
  const data = parsed.data;
  const params: ParamSpec[] = Object.entries(data.params).map(
    ([name, p]) => ({ name, ...p }) as ParamSpec,
  );
  if (params.length === 0) {
    throw new SearchSpaceError(
      'search.params is empty: declare at least one, e.g. `LR: { file: train.py, type: float, min: 0.0001, max: 0.1, log: true }`',
    );
  }
  for (const p of params) validateParam(p);
  return {
    strategy: data.strategy,
    initial: data.initial ?? defaultInitial(params.length),
    ...(data.seed === undefined ? {} : { seed: data.seed }),
    params,
  };
}

function rankIssue(code: string): number {
  return code === 'unrecognized_keys' ? 0 : 1;
}

function schemaHint(path: string[]): string {
  if (path[0] === 'params' && path.length <= 3) {
    return ' (each param is one of `{ file, type: float|int, min, max, log? }`, `{ file, type: int, min, max, pow2: true }`, `{ file, type: categorical, values: [...] }`, `{ file, type: bool }`)';
  }
  return '';
}

/** The semantic checks on one param that the schema cannot express (bounds, name, values). */
function validateParam(p: ParamSpec): void {
  const name = p.name;
  if (!IDENTIFIER.test(name)) {
    throw new SearchSpaceError(
      `param "${name}" is not an identifier: the key must be the exact name assigned in ${p.file} (e.g. LR for \`LR = 0.01\`)`,
      name,
    );
  }
  if (p.type === 'float' || p.type === 'int') {
    if (!Number.isFinite(p.min) || !Number.isFinite(p.max)) {
      throw new SearchSpaceError(`param ${name}: min and max must be finite numbers`, name);
    }
    if (p.min > p.max) {
      throw new SearchSpaceError(
        `param ${name}: min (${p.min}) is greater than max (${p.max}); swap them: \`min: ${p.max}, max: ${p.min}\``,
        name,
      );
    }
    if (p.min === p.max) {
      throw new SearchSpaceError(
        `param ${name}: min equals max (${p.min}), so there is nothing to search; widen the range or remove the param`,
        name,
      );
    }
    if (p.type === 'int' && (!Number.isInteger(p.min) || !Number.isInteger(p.max))) {
      throw new SearchSpaceError(
        `param ${name}: an int param needs integral bounds; write \`min: ${Math.ceil(p.min)}, max: ${Math.floor(p.max)}\` or use \`type: float\``,
        name,
      );
    }
    if (p.type === 'int' && p.pow2 && !(isPowerOfTwo(p.min) && isPowerOfTwo(p.max))) {
      throw new SearchSpaceError(
        `param ${name}: with \`pow2: true\` min and max must be powers of two (got ${p.min}, ${p.max}); write e.g. \`min: ${floorPow2(p.min)}, max: ${ceilPow2(p.max)}\``,
        name,
      );
    }
    if (p.log && p.min <= 0) {
      const suggestion =
        p.max > 0
          ? `e.g. \`min: ${p.type === 'int' ? 1 : formatPlain(p.max / 1000)}\``
          : 'or drop `log: true`';
      throw new SearchSpaceError(
        `param ${name}: log scale needs min > 0 (got ${p.min}); use a positive lower bound, ${suggestion}`,
        name,
      );
    }
  } else if (p.type === 'categorical') {
    const distinct = new Set(p.values.map(valueKey));
    if (distinct.size < 2) {
      throw new SearchSpaceError(
        `param ${name}: a categorical param needs at least 2 distinct values (got ${JSON.stringify(p.values)}); list the alternatives, e.g. \`values: [relu, gelu]\``,
        name,
      );
    }
    if (distinct.size !== p.values.length) {
      throw new SearchSpaceError(
        `param ${name}: values ${JSON.stringify(p.values)} repeat an entry; list each value once`,
        name,
      );
    }
  }
}

const floorPow2 = (v: number) => (v < 1 ? 1 : 2 ** Math.floor(Math.log2(v)));
const ceilPow2 = (v: number) => (v < 1 ? 1 : 2 ** Math.ceil(Math.log2(v)));

function formatPlain(v: number): string {
  return String(Number(v.toPrecision(3)));
}

/** A type-tagged key, so that the string "1" and the number 1 stay different values. */
export function valueKey(v: ParamValue): string {
  return `${typeof v}:${String(v)}`;
}

/** Floats keep 6 significant digits: what the optimizer proposes is exactly what gets written. */
export function quantizeFloat(v: number, min: number, max: number): number {
  const q = Number(v.toPrecision(6));
  return Math.min(max, Math.max(min, q));
}

/** Whether `v` is a legal value of `p` (type, bounds, membership). */
export function fitsParam(p: ParamSpec, v: ParamValue): boolean {
  switch (p.type) {
    case 'float':
      return typeof v === 'number' && Number.isFinite(v) && v >= p.min && v <= p.max;
    case 'int':
      return (
        typeof v === 'number' &&
        Number.isInteger(v) &&
        v >= p.min &&
        v <= p.max &&
        (!p.pow2 || isPowerOfTwo(v))
      );
    case 'bool':
      return typeof v === 'boolean';
    case 'categorical':
      return p.values.some((c) => valueKey(c) === valueKey(v));
  }
}
