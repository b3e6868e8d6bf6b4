/**
 * Checks a declared search space against the program's files before any experiment runs, so a
 * typo in `program.md` fails at start-up with a fix, not after the first rewrite. The values found
 * become the defaults: the baseline config the optimizer's history starts from.
 */
import { readAssignment } from './rewrite.js';
import { formatValue, listAssignedNames } from './literals.js';
import { isPowerOfTwo } from './expressions.js';
import {
  fitsParam,
  SearchSpaceError,
  type Config,
  type ParamSpec,
  type SearchSpace,
} from './space.js';

export function checkSpaceAgainstFiles(
  space: SearchSpace,
  readFile: (relPath: string) => string | null,
): { defaults: Config } {
  const defaults: Config = {};
  const cache = new Map<string, string | null>();
  for (const p of space.params) {
    if (!cache.has(p.file)) cache.set(p.file, readFile(p.file));
    const text = cache.get(p.file)!;
    if (text === null) {
      throw new SearchSpaceError(
        `param ${p.name}: file ${p.file} does not exist; \`file:\` is relative to the program's folder`,
        p.name,
      );
    }
    const a = readAssignment(text, p.name);
    if (!a) {
      const names = closest(p.name, listAssignedNames(text));
      const hint =
        names.length > 0
          ? `; names assigned there: ${names.join(', ')}`
          : '; it assigns no names at all';
      throw new SearchSpaceError(
        `param ${p.name}: ${p.file} has no \`${p.name} = <literal>\` assignment${hint}. Use one of those as the key, or add the assignment`,
        p.name,
      );
    }
    checkDefault(p, a.value, a.line);
    defaults[p.name] = a.value;
  }
  return { defaults };
}

function checkDefault(p: ParamSpec, v: ParamValue, line: number): void {
  const where = `param ${p.name} (${p.file}:${line})`;
  const shown = typeof v === 'string' ? JSON.stringify(v) : formatValue(v);
  switch (p.type) {
    case 'float':
    case 'int':
      if (typeof v !== 'number') {
        throw new SearchSpaceError(
          `${where}: the file assigns ${shown}, not a number; declare it as \`type: ${typeof v === 'boolean' ? 'bool' : 'categorical'}\` instead`,
          p.name,
        );
      }
      if (p.type === 'int' && !Number.isInteger(v)) {
        throw new SearchSpaceError(
          `${where}: the file assigns ${shown}, not an integer; declare it as \`type: float\``,
          p.name,
        );
      }
      if (p.type === 'int' && p.pow2 && !isPowerOfTwo(v)) {
        throw new SearchSpaceError(
          `${where}: the file assigns ${shown}, not a power of two; drop \`pow2: true\` or assign a power of two`,
          p.name,
        );
      }
      if (v < p.min || v > p.max) {
        const min = Math.min(p.min, v);
        const max = Math.max(p.max, v);
        throw new SearchSpaceError(
          `${where}: the current value ${shown} is outside [${formatValue(p.min)}, ${formatValue(p.max)}]; widen the bounds (e.g. \`min: ${formatValue(min)}, max: ${formatValue(max)}\`) or change the value in the file`,
          p.name,
        );
      }
      return;
    case 'bool':
      if (typeof v !== 'boolean') {
        throw new SearchSpaceError(
          `${where}: the file assigns ${shown}, not a boolean; declare it as \`type: ${typeof v === 'number' ? 'float' : 'categorical'}\` or assign true/false`,
          p.name,
        );
      }
      return;
    case 'categorical':
      if (!fitsParam(p, v)) {
        throw new SearchSpaceError(
          `${where}: the current value ${shown} is not among values ${JSON.stringify(p.values)}; add it, e.g. \`values: ${JSON.stringify([v, ...p.values])}\``,
          p.name,
        );
      }
  }
}

type ParamValue = Config[string];

/**
 * Up to 8 names, likeliest intended first: names sharing the first letter or containing one
 * another lead (LR -> LR_DECAY, LEARNING_RATE), then by relative edit distance.
 */
function closest(target: string, names: string[]): string[] {
  const t = target.toLowerCase();
  const rank = (n: string): number => {
    const m = n.toLowerCase();
    const related = m.includes(t) || t.includes(m) || m[0] === t[0] ? 0 : 1;
    return related + editDistance(t, m) / Math.max(t.length, m.length);
  };
  return names
    .map((n, i) => ({ n, i, r: rank(n) }))
    .sort((a, b) => a.r - b.r || a.i - b.i)
    .slice(0, 8)
    .map((x) => x.n);
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(
        prev[j]! + 1,
        cur[j - 1]! + 1,
        prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    prev = cur;
  }
  return prev[b.length]!;
}
