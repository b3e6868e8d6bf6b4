/**
 * Finds constants worth tuning, for `autoresearch init` to offer: UPPER_CASE names assigned a
 * literal once at the top level. The suggested ranges are starting points a person edits, wide
 * enough that a 10x better value is inside them (a search confined to x0.5-x2 around today's
 * value cannot find one), with the current value inside.
 */
import { isExpression, isPowerOfTwo } from './expressions.js';
import { assignmentPattern, isFloatLiteral, literalAfter, splitLines } from './literals.js';
import type { ParamSpec, ParamValue } from './space.js';

export interface CandidateConstant {
  name: string;
  value: ParamValue;
  /** 1-based line number. */
  line: number;
  suggested: ParamSpec;
  /**
   * False for string constants: the file shows only one value, and a categorical param needs at
   * least two, so the person has to list the alternatives before the spec validates.
   */
  complete: boolean;
}

// Top level only: indented constants live in functions or classes, where rewriting is riskier.
const TOP_LEVEL =
  /^(?:(?:export[ \t]+)?(?:declare[ \t]+)?(?:const|let|var)[ \t]+)?([A-Z][A-Z0-9_]*)\b/;

// Seeds and budgets are not knobs to optimize: tuning a seed only fits noise.
const NOT_TUNABLE = /SEED|BUDGET|TIMEOUT|DEVICE|PATH|DIR$|FILE$|URL|PORT|VERBOSE|DEBUG/;

export function detectCandidateConstants(text: string, file = ''): CandidateConstant[] {
  const lines = splitLines(text);
  const counts = new Map<string, number>();
  const found: CandidateConstant[] = [];
  lines.forEach((l, i) => {
    if (l.inBlock) return;
    const m = TOP_LEVEL.exec(l.text);
    if (!m || !/[A-Z]/.test(m[1]!)) return;
    const name = m[1]!;
    const prefix = assignmentPattern(name).exec(l.text);
    if (!prefix) return;
    counts.set(name, (counts.get(name) ?? 0) + 1);
    const lit = literalAfter(l.text, prefix[0].length);
    if (!lit || NOT_TUNABLE.test(name)) return;
    found.push({ name, value: lit.value, line: i + 1, ...suggest(name, file, lit.value, lit.raw) });
  });
  // A name assigned twice cannot be rewritten unambiguously (readAssignment would refuse it).
  return found.filter((c) => counts.get(c.name) === 1);
}

/** Shares and probabilities: their range is [0, 1] whatever the current value. */
const RATIO = /RATIO|FRAC|DROPOUT|PROB|MOMENTUM|BETA/;

/** Powers of two go this many doublings either way (x1/8 to x8, about the x0.1-x10 of floats). */
const POW2_SPAN = 3;

function suggest(
  name: string,
  file: string,
  v: ParamValue,
  raw: string,
): { suggested: ParamSpec; complete: boolean } {
  const done = (suggested: ParamSpec) => ({ suggested, complete: true });
  if (typeof v === 'boolean') return done({ name, file, type: 'bool' });
  if (typeof v === 'string')
    return { suggested: { name, file, type: 'categorical', values: [v] }, complete: false };
  if (RATIO.test(name) && v >= 0 && v <= 1)
    return done({ name, file, type: 'float', min: 0, max: 1, log: false });
  if (Number.isInteger(v) && !isFloatLiteral(raw)) {
    // A size written as `2**19` or `1 << 10`, or a power of two too large to be a count: the
    // author thinks in doublings, so the search does too.
    if (isPowerOfTwo(v) && (v >= 16 || isExpression(raw))) {
      const k = Math.log2(v);
      const [lo, hi] = [Math.max(0, k - POW2_SPAN), k + POW2_SPAN];
      return done({ name, file, type: 'int', min: 2 ** lo, max: 2 ** hi, log: false, pow2: true });
    }
    // Other sizes and step counts act multiplicatively: x0.1 to x10, log-uniform.
    if (v >= 16)
      return done({ name, file, type: 'int', min: Math.round(v / 10), max: v * 10, log: true });
    // Small counts (depth, heads) do not: a linear range, x1/4 to x4.
    if (v >= 1)
      return done({
        name,
        file,
        type: 'int',
        min: Math.max(1, Math.floor(v / 4)),
        max: v * 4,
        log: false,
      });
    if (v === 0) return done({ name, file, type: 'int', min: 0, max: 4, log: false });
    return done({
      name,
      file,
      type: 'int',
      min: 4 * v,
      max: Math.min(-1, Math.ceil(v / 4)),
      log: false,
    });
  }
  // Positive floats act multiplicatively (rates, scales): x0.1 to x10, log-uniform.
  if (v > 0)
    return done({ name, file, type: 'float', min: sig(v / 10), max: sig(v * 10), log: true });
  if (v === 0) return done({ name, file, type: 'float', min: 0, max: 1, log: false });
  return done({ name, file, type: 'float', min: sig(v * 10), max: sig(v / 10), log: false });
}

function sig(v: number): number {
  return Number(v.toPrecision(6));
}
