import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { exactScaled, verifyPacking } from '../../examples/circle-packing/verify.js';
import { parseProgram } from '../../src/program/program.js';

const run = promisify(execFile);
const here = dirname(fileURLToPath(import.meta.url));
const exampleDir = resolve(here, '../../examples/circle-packing');
// The tsx loader by absolute URL, so the scripts run from a temporary folder outside the repo.
const tsxLoader = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

type Circle = [number, number, number];

/**
 * A valid packing with exactly representable (dyadic) numbers: a 5x5 grid of r = 3/32 with
 * centers (3 + 6k)/32, so neighbours touch exactly, plus one circle of r = 1/32 in the gap at
 * (6/32, 6/32). Sum = 25 * 3/32 + 1/32 = 76/32 = 2.375 exactly.
 */
function dyadicPacking(): Circle[] {
  const circles: Circle[] = [];
  for (let i = 0; i < 5; i++) {
    for (let j = 0; j < 5; j++) circles.push([(3 + 6 * i) / 32, (3 + 6 * j) / 32, 3 / 32]);
  }
  circles.push([6 / 32, 6 / 32, 1 / 32]);
  return circles;
}

/** The gap between the small circle at (6/32, 6/32) and its grid neighbour at (3/32, 3/32). */
const GAP = Math.hypot(3 / 32, 3 / 32) - 3 / 32;

describe('circle-packing verifier: exact arithmetic', () => {
  it('converts doubles to their exact scaled value', () => {
    expect(exactScaled(1)).toBe(1n << 1074n);
    expect(exactScaled(0.5)).toBe(1n << 1073n);
    expect(exactScaled(-0.25)).toBe(-(1n << 1072n));
    expect(exactScaled(0)).toBe(0n);
    expect(exactScaled(Number.MIN_VALUE)).toBe(1n);
    expect(exactScaled(3 / 32) * 2n).toBe(exactScaled(6 / 32));
    // 0.1 is not 1/10: its exact value is a little above it.
    expect(exactScaled(0.1) * 10n > exactScaled(1)).toBe(true);
  });
});

describe('circle-packing verifier: accepts valid packings', () => {
  it('scores a known valid packing exactly its sum (exact touching is allowed)', () => {
    const verdict = verifyPacking(dyadicPacking());
    expect(verdict.violations).toEqual([]);
    expect(verdict.valid).toBe(true);
    expect(verdict.sum).toBe(2.375);
  });

  it('accepts a circle 1e-12 short of touching its neighbour', () => {
    const circles = dyadicPacking();
    circles[25] = [6 / 32, 6 / 32, GAP - 1e-12];
    const verdict = verifyPacking(circles);
    expect(verdict.valid).toBe(true);
    expect(verdict.sum).toBe(circles.reduce((s, c) => s + c[2], 0));
  });

  it('accepts circles touching all four walls exactly', () => {
    const circles = dyadicPacking();
    circles[25] = [1 - 1 / 64, 0.5, 1 / 64]; // right wall: x + r = 1 exactly
    expect(verifyPacking(circles).valid).toBe(true);
    circles[25] = [0.5, 1 - 1 / 64, 1 / 64]; // top wall
    expect(verifyPacking(circles).valid).toBe(true);
    circles[0] = [3 / 32, 3 / 32, 3 / 32]; // bottom-left circle already touches left and bottom walls
    expect(verifyPacking(circles).valid).toBe(true);
  });
});

describe('circle-packing verifier: zero tolerance', () => {
  it('rejects an overlap of about 1e-12', () => {
    const circles = dyadicPacking();
    circles[25] = [6 / 32, 6 / 32, GAP + 1e-12];
    const verdict = verifyPacking(circles);
    expect(verdict.valid).toBe(false);
    expect(verdict.sum).toBe(0);
    expect(verdict.violations.join('\n')).toMatch(/circles 0 and 25 overlap/);
  });

  it('rejects two grid circles pushed together by 1e-12', () => {
    const circles = dyadicPacking();
    circles[5] = [9 / 32 - 1e-12, 3 / 32, 3 / 32]; // circle 5 is the right neighbour of circle 0
    const verdict = verifyPacking(circles);
    expect(verdict.valid).toBe(false);
    expect(verdict.violations).toHaveLength(1);
    expect(verdict.violations[0]).toMatch(/circles 0 and 5 overlap/);
  });

  it('rejects a circle poking out of the left wall by 1e-15', () => {
    const circles = dyadicPacking();
    circles[0] = [3 / 32 - 1e-15, 3 / 32, 3 / 32];
    const verdict = verifyPacking(circles);
    expect(verdict.valid).toBe(false);
    expect(verdict.sum).toBe(0);
    expect(verdict.violations).toEqual([expect.stringMatching(/circle 0: crosses the left wall/)]);
  });

  it('rejects a circle poking out of the right and top walls by 1e-15', () => {
    const circles = dyadicPacking();
    circles[25] = [1 - 1 / 64 + 1e-15, 0.5, 1 / 64];
    expect(verifyPacking(circles).violations).toEqual([
      expect.stringMatching(/circle 25: crosses the right wall/),
    ]);
    circles[25] = [0.5, 1 - 1 / 64, 1 / 64 + 1e-15];
    expect(verifyPacking(circles).violations).toEqual([
      expect.stringMatching(/circle 25: crosses the top wall/),
    ]);
  });

  it('rejects a decimal grid that only touches on paper (0.1 + 0.2 rounding)', () => {
    // Centers 0.1, 0.3, ..., 0.9 with r = 0.1 look like touching circles, but as doubles the
    // neighbours overlap by ~3e-17 and the last column sticks out of the wall by ~3e-17.
    const circles: Circle[] = [];
    for (let i = 0; i < 5; i++)
      for (let j = 0; j < 5; j++) circles.push([0.1 + 0.2 * i, 0.1 + 0.2 * j, 0.1]);
    circles.push([0.2, 0.2, 0.04]);
    const verdict = verifyPacking(circles);
    expect(verdict.valid).toBe(false);
    expect(verdict.violations.some((v) => /overlap|wall/.test(v))).toBe(true);
  });

  it('rejects the wrong number of circles', () => {
    const circles = dyadicPacking();
    const fewer = verifyPacking(circles.slice(0, 25));
    expect(fewer.valid).toBe(false);
    expect(fewer.violations[0]).toMatch(/expected exactly 26 circles, got 25/);
    const more = verifyPacking([...circles, [0.97, 0.97, 0.01]]);
    expect(more.valid).toBe(false);
    expect(more.violations[0]).toMatch(/got 27/);
    expect(verifyPacking([]).valid).toBe(false);
  });

  it('rejects NaN, infinite and non-number values', () => {
    for (const bad of [
      [NaN, 0.5, 0.01],
      [0.5, NaN, 0.01],
      [0.5, 0.5, NaN],
      [0.5, 0.5, Infinity],
      ['0.5', 0.5, 0.01],
      [0.5, 0.5],
      null,
    ]) {
      const circles: unknown[] = dyadicPacking();
      circles[25] = bad;
      const verdict = verifyPacking(circles);
      expect(verdict.valid, JSON.stringify(bad)).toBe(false);
      expect(verdict.sum).toBe(0);
    }
  });

  it('rejects negative and zero radii', () => {
    for (const r of [-0.01, 0, -0]) {
      const circles = dyadicPacking();
      circles[25] = [6 / 32, 6 / 32, r];
      const verdict = verifyPacking(circles);
      expect(verdict.valid).toBe(false);
      expect(verdict.violations[0]).toMatch(/radius must be > 0/);
    }
  });

  it('rejects a file that is not an array', () => {
    expect(verifyPacking({ circles: dyadicPacking() }).valid).toBe(false);
    expect(verifyPacking(null).valid).toBe(false);
  });
});

describe('circle-packing example end to end', () => {
  const work = mkdtempSync(join(tmpdir(), 'circle-packing-'));
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('pack.ts writes a packing that the verifier scores positive', async () => {
    copyFileSync(join(exampleDir, 'pack.ts'), join(work, 'pack.ts'));
    copyFileSync(join(exampleDir, 'verify.ts'), join(work, 'verify.ts'));
    const started = Date.now();
    await run(process.execPath, ['--import', tsxLoader, 'pack.ts'], { cwd: work });
    const verified = await run(process.execPath, ['--import', tsxLoader, 'verify.ts'], {
      cwd: work,
    });
    const seconds = (Date.now() - started) / 1000;
    const metric = /^METRIC sum_radii=(\S+)$/m.exec(verified.stdout);
    expect(metric, verified.stdout).not.toBeNull();
    const score = Number(metric![1]);
    expect(score).toBeGreaterThan(2.3);
    expect(score).toBeLessThan(2.7);
    expect(verified.stdout).toMatch(
      new RegExp(`^sum_radii: ${metric![1]!.replace('.', '\\.')}$`, 'm'),
    );
    expect(verified.stderr).not.toMatch(/violation/);
    // The library function agrees with the CLI.
    const circles = JSON.parse(readFileSync(join(work, 'circles.json'), 'utf8'));
    const verdict = verifyPacking(circles);
    expect(verdict.valid).toBe(true);
    expect(verdict.sum.toFixed(9)).toBe(metric![1]);
    expect(seconds).toBeLessThan(20);
  });

  it('the verifier CLI scores an invalid packing 0 and says why on stderr', async () => {
    const circles = dyadicPacking();
    circles[25] = [6 / 32, 6 / 32, GAP + 1e-12];
    writeFileSync(join(work, 'bad.json'), JSON.stringify(circles));
    copyFileSync(join(exampleDir, 'verify.ts'), join(work, 'verify.ts'));
    const out = await run(process.execPath, ['--import', tsxLoader, 'verify.ts', 'bad.json'], {
      cwd: work,
    });
    expect(out.stdout).toMatch(/^sum_radii: 0$/m);
    expect(out.stdout).toMatch(/^METRIC sum_radii=0$/m);
    expect(out.stderr).toMatch(/^violation: circles 0 and 25 overlap/m);
  });

  it('program.md is a valid program whose knobs exist in pack.ts within their ranges', () => {
    const text = readFileSync(join(exampleDir, 'program.md'), 'utf8');
    const program = parseProgram(text, 'program.md');
    expect(program.config.metric).toEqual({
      name: 'sum_radii',
      goal: 'maximize',
      deterministic: true,
      tolerance: 0,
    });
    expect(program.config.editable).toEqual(['pack.ts']);
    expect(program.config.protected).toEqual(['verify.ts']);
    const search = program.config.search as {
      params: Record<string, { file: string; type: string; min: number; max: number }>;
    };
    const pack = readFileSync(join(exampleDir, 'pack.ts'), 'utf8');
    for (const [name, spec] of Object.entries(search.params)) {
      expect(spec.file).toBe('pack.ts');
      const line = new RegExp(`^const ${name} = (.+);$`, 'm').exec(pack);
      expect(line, `pack.ts has a line 'const ${name} = ...;'`).not.toBeNull();
      const value = Number(line![1]);
      expect(value, name).toBeGreaterThanOrEqual(spec.min);
      expect(value, name).toBeLessThanOrEqual(spec.max);
      if (spec.type === 'int') expect(Number.isInteger(value), name).toBe(true);
    }
  });
});
