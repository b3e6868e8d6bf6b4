/**
 * Finds constants worth tuning, for `autoresearch init` to offer: UPPER_CASE names assigned a
 * literal once at the top level. The suggested ranges are starting points a person edits, chosen
 * so that the current value sits comfortably inside them.
 */
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

function suggest(
  name: string,
  file: string,
  v: ParamValue,
  raw: string,
): { suggested: ParamSpec; complete: boolean } {
  if (typeof v === 'boolean') return { suggested: { name, file, type: 'bool' }, complete: true };
  if (typeof v === 'string')
    return { suggested: { name, file, type: 'categorical', values: [v] }, complete: false };
  if (Number.isInteger(v) && !isFloatLiteral(raw)) {
    if (v >= 1) {
      // Sizes (widths, batch sizes) act multiplicatively; small counts (depth, heads) do not.
      return {
        suggested: {
          name,
          file,
          type: 'int',
          min: Math.max(1, Math.floor(v / 2)),
          max: v * 2,
          log: v >= 16,
        },
        complete: true,
      };
    }
    if (v === 0)
      return { suggested: { name, file, type: 'int', min: 0, max: 4, log: false }, complete: true };
    return {
      suggested: { name, file, type: 'int', min: 2 * v, max: Math.ceil(v / 2) + 0, log: false },
      complete: true,
    };
  }
  if (v > 0)
    return {
      suggested: { name, file, type: 'float', min: sig(v / 10), max: sig(v * 10), log: true },
      complete: true,
    };
  if (v === 0)
    return { suggested: { name, file, type: 'float', min: 0, max: 1, log: false }, complete: true };
  return {
    suggested: { name, file, type: 'float', min: sig(v * 10), max: sig(v / 10), log: false },
    complete: true,
  };
}

function sig(v: number): number {
  return Number(v.toPrecision(6));
}
