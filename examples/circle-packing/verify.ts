/**
 * PROTECTED: the strict verifier for the circle-packing benchmark. Agents must not edit this file.
 *
 * Reads circles.json (an array of [x, y, r]) from the working directory, or the path given as the
 * first argument, and prints the score:
 *
 *   METRIC sum_radii=<sum>
 *   sum_radii: <sum>
 *
 * Zero tolerance. Every double is an exact dyadic rational (m * 2^e), so every check is done in
 * exact integer arithmetic with BigInt on the numbers' exact binary values: no rounding, no slack.
 *   - exactly 26 circles, each three finite numbers, radius > 0
 *   - inside the unit square: x - r >= 0, x + r <= 1, y - r >= 0, y + r <= 1 (exactly)
 *   - no overlap: (xi - xj)^2 + (yi - yj)^2 >= (ri + rj)^2 (exactly; touching is allowed)
 * Any violation, however small (1e-15 outside a wall, 1e-12 of overlap), scores 0: the run prints
 * `sum_radii: 0` (and `METRIC sum_radii=0`) and one `violation: ...` line per problem on stderr.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

export const N_CIRCLES = 26;

export type Circle = readonly [number, number, number];

export interface Verdict {
  valid: boolean;
  /** Sum of the radii when valid, 0 otherwise. */
  sum: number;
  violations: string[];
}

/**
 * The exact value of a finite double as a BigInt numerator over 2^1074 (the smallest subnormal is
 * 2^-1074, so every finite double is an integer multiple of it).
 */
export function exactScaled(value: number): bigint {
  if (!Number.isFinite(value)) throw new RangeError(`not a finite number: ${value}`);
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, value);
  const hi = view.getUint32(0);
  const lo = view.getUint32(4);
  const negative = hi >>> 31 === 1;
  const biasedExponent = (hi >>> 20) & 0x7ff;
  const fraction = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  // Subnormal (exponent field 0): value = fraction * 2^-1074.
  // Normal: value = (2^52 + fraction) * 2^(E - 1075) = (2^52 + fraction) * 2^(E - 1) * 2^-1074.
  const magnitude =
    biasedExponent === 0 ? fraction : ((1n << 52n) | fraction) << BigInt(biasedExponent - 1);
  return negative ? -magnitude : magnitude;
}

const ONE = exactScaled(1);

function fmt(value: number): string {
  return String(value);
}

/** Check a packing exactly. Accepts anything (parsed JSON): the shape is checked too. */
export function verifyPacking(circles: unknown): Verdict {
  const violations: string[] = [];
  if (!Array.isArray(circles)) {
    return { valid: false, sum: 0, violations: ['circles must be an array of [x, y, r] triples'] };
  }
  if (circles.length !== N_CIRCLES) {
    violations.push(`expected exactly ${N_CIRCLES} circles, got ${circles.length}`);
  }
  const exact: { x: bigint; y: bigint; r: bigint }[] = [];
  const usable: number[] = [];
  circles.forEach((circle: unknown, i: number) => {
    if (!Array.isArray(circle) || circle.length !== 3) {
      violations.push(`circle ${i}: expected [x, y, r], got ${JSON.stringify(circle)}`);
      return;
    }
    const [x, y, r] = circle as unknown[];
    if (![x, y, r].every((v) => typeof v === 'number' && Number.isFinite(v))) {
      violations.push(
        `circle ${i}: x, y and r must be finite numbers, got ${JSON.stringify(circle)}`,
      );
      return;
    }
    const [xn, yn, rn] = [x, y, r] as number[];
    if (!(rn > 0)) {
      violations.push(`circle ${i}: radius must be > 0, got ${fmt(rn)}`);
      return;
    }
    const c = { x: exactScaled(xn), y: exactScaled(yn), r: exactScaled(rn) };
    if (c.x - c.r < 0n)
      violations.push(`circle ${i}: crosses the left wall (x - r < 0; x=${fmt(xn)}, r=${fmt(rn)})`);
    if (c.x + c.r > ONE)
      violations.push(
        `circle ${i}: crosses the right wall (x + r > 1; x=${fmt(xn)}, r=${fmt(rn)})`,
      );
    if (c.y - c.r < 0n)
      violations.push(
        `circle ${i}: crosses the bottom wall (y - r < 0; y=${fmt(yn)}, r=${fmt(rn)})`,
      );
    if (c.y + c.r > ONE)
      violations.push(`circle ${i}: crosses the top wall (y + r > 1; y=${fmt(yn)}, r=${fmt(rn)})`);
    exact[i] = c;
    usable.push(i);
  });
  for (let a = 0; a < usable.length; a++) {
    for (let b = a + 1; b < usable.length; b++) {
      const i = usable[a]!;
      const j = usable[b]!;
      const ci = exact[i]!;
      const cj = exact[j]!;
      const dx = ci.x - cj.x;
      const dy = ci.y - cj.y;
      const rs = ci.r + cj.r;
      if (dx * dx + dy * dy < rs * rs) {
        const [xi, yi, ri] = circles[i] as number[];
        const [xj, yj, rj] = circles[j] as number[];
        const gap = Math.hypot(xi! - xj!, yi! - yj!) - (ri! + rj!);
        violations.push(
          `circles ${i} and ${j} overlap (distance - (ri + rj) ≈ ${gap.toExponential(3)})`,
        );
      }
    }
  }
  if (violations.length > 0) return { valid: false, sum: 0, violations };
  const sum = (circles as number[][]).reduce((total, c) => total + c[2]!, 0);
  return { valid: true, sum, violations };
}

/** Read and verify a circles.json file. A missing or malformed file is a violation (score 0). */
export function verifyFile(path: string): Verdict {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    return { valid: false, sum: 0, violations: [`cannot read ${path}: ${(e as Error).message}`] };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    return {
      valid: false,
      sum: 0,
      violations: [`${path} is not valid JSON: ${(e as Error).message}`],
    };
  }
  return verifyPacking(parsed);
}

function main(): void {
  const path = resolve(process.argv[2] ?? 'circles.json');
  const verdict = verifyFile(path);
  if (!verdict.valid) {
    for (const v of verdict.violations) process.stderr.write(`violation: ${v}\n`);
    process.stderr.write(
      `verify: INVALID packing (${verdict.violations.length} violation(s)); score 0\n`,
    );
  } else {
    console.log(
      `verify: ${N_CIRCLES} circles, all inside the unit square, no overlaps (exact check)`,
    );
  }
  const value = verdict.valid ? verdict.sum.toFixed(9) : '0';
  console.log(`METRIC sum_radii=${value}`);
  console.log(`sum_radii: ${value}`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main();
}
