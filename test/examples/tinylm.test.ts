import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import {
  ALPHABET,
  EVAL_CONTEXT,
  EVAL_POSITIONS,
  FLOPS_PER_BUDGET_SECOND,
  SOURCE,
  TRAIN_CHARS,
  VAL_CHARS,
  VOCAB_SIZE,
  buildSource,
  decode,
  encode,
  entropyFloorBpb,
  entropyRateBitsPerChar,
  evaluateBpb,
  loadData,
  oraclePredictor,
  renderTokens,
  sampleTokens,
  stationaryDistribution,
  stepFlops,
  tokenNllBits,
  type MarkovSource,
} from '../../examples/tinylm/prepare.ts';

const here = dirname(fileURLToPath(import.meta.url));
const exampleDir = join(here, '..', '..', 'examples', 'tinylm');

/** FNV-1a over bytes. */
function fnv1a(bytes: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193) >>> 0;
  return h;
}

describe('tinylm prepare: the entropy floor', () => {
  it('matches a hand-computed tiny chain', () => {
    // Tokens " a" (2 chars) and " bb" (3 chars). From " a": 1/2 " a", 1/2 " bb"; from " bb": " a".
    // Stationary: pi = (2/3, 1/3). Bits per token: 2/3 * 1 + 1/3 * 0 = 2/3.
    // Chars per token: 2/3 * 2 + 1/3 * 3 = 7/3. Floor = (2/3) / (7/3) = 2/7 bits per char.
    const tiny: MarkovSource = {
      strings: [' a', ' bb'],
      succ: [[0, 1], [0]],
      prob: [[0.5, 0.5], [1]],
      start: 0,
    };
    const pi = stationaryDistribution(tiny);
    expect(pi[0]).toBeCloseTo(2 / 3, 12);
    expect(pi[1]).toBeCloseTo(1 / 3, 12);
    expect(entropyRateBitsPerChar(tiny)).toBeCloseTo(2 / 7, 12);
  });

  it('handles a periodic chain (stationary distribution of a 2-cycle)', () => {
    const cycle: MarkovSource = {
      strings: [' x', ' yyy'],
      succ: [[1], [0]],
      prob: [[1], [1]],
      start: 0,
    };
    const pi = stationaryDistribution(cycle);
    expect(pi[0]).toBeCloseTo(0.5, 12);
    expect(entropyRateBitsPerChar(cycle)).toBe(0);
  });

  it('the source is a proper chain: rows sum to 1, strings distinct and uniquely decodable', () => {
    expect(new Set(SOURCE.strings).size).toBe(SOURCE.strings.length);
    for (const s of SOURCE.strings) expect(s === '.' || /^ [a-z]+$/.test(s)).toBe(true);
    for (const row of SOURCE.prob) expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    const pi = stationaryDistribution(SOURCE);
    expect(pi.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
  });

  it('equals the empirical per-character NLL of a long sample under the true chain', () => {
    const floor = entropyFloorBpb();
    const tokens = sampleTokens(SOURCE, 3_000_000, 12345);
    const chars = renderTokens(SOURCE, tokens).length;
    const empirical = tokenNllBits(SOURCE, tokens) / chars;
    expect(Math.abs(empirical - floor) / floor).toBeLessThan(0.005);
  });

  it('the exact character-level Bayes predictor reproduces the token likelihood and the floor', () => {
    // Chain rule: summing -log2 p(char | past) over the text of n tokens plus the first character
    // of token n+1 gives the token sequence's -log2 probability plus that of the boundary char.
    const tokens = sampleTokens(SOURCE, 60_000, 777);
    const last = tokens.pop()!;
    const prevOfLast = tokens[tokens.length - 1]!;
    const text = encode('.' + renderTokens(SOURCE, tokens) + SOURCE.strings[last]![0]); // "." = start token
    const oracle = oraclePredictor(SOURCE);
    let bits = 0;
    for (let pos = 1; pos < text.length; pos++) {
      const probs = oracle(text.subarray(Math.max(0, pos - EVAL_CONTEXT), pos));
      let z = 0;
      for (let v = 0; v < VOCAB_SIZE; v++) z += probs[v]!;
      expect(z).toBeCloseTo(1, 9);
      bits -= Math.log2(probs[text[pos]!]!);
    }
    const succ = SOURCE.succ[prevOfLast]!;
    let pBoundary = 0;
    succ.forEach((u, k) => {
      if (SOURCE.strings[u]![0] === SOURCE.strings[last]![0])
        pBoundary += SOURCE.prob[prevOfLast]![k]!;
    });
    const expected = tokenNllBits(SOURCE, tokens) - Math.log2(pBoundary);
    expect(bits).toBeCloseTo(expected, 6);
    const perChar = bits / (text.length - 1);
    expect(Math.abs(perChar - entropyFloorBpb()) / entropyFloorBpb()).toBeLessThan(0.03);
  });

  it('the oracle scores close to the floor on the validation positions; baselines score far above', () => {
    const floor = entropyFloorBpb();
    expect(floor).toBeGreaterThan(0.4);
    expect(floor).toBeLessThan(1);
    const oracle = evaluateBpb(oraclePredictor());
    expect(Math.abs(oracle - floor) / floor).toBeLessThan(0.03);
    const uniform = new Float32Array(VOCAB_SIZE).fill(1);
    expect(evaluateBpb(() => uniform)).toBeCloseTo(Math.log2(VOCAB_SIZE), 9);
    const { train } = loadData();
    const counts = new Float64Array(VOCAB_SIZE);
    for (const c of train) counts[c]!++;
    const unigram = evaluateBpb(() => counts);
    expect(unigram).toBeGreaterThan(4 * floor);
  });

  it('evaluateBpb returns NaN for broken predictions', () => {
    expect(evaluateBpb(() => new Float32Array(VOCAB_SIZE).fill(NaN))).toBeNaN();
    expect(evaluateBpb(() => new Float32Array(VOCAB_SIZE))).toBeNaN();
    expect(evaluateBpb(() => new Float32Array(VOCAB_SIZE).fill(-1))).toBeNaN();
  });
});

describe('tinylm prepare: the data', () => {
  it('has the documented sizes and alphabet', () => {
    const d = loadData();
    expect(d.train.length).toBe(TRAIN_CHARS);
    expect(d.val.length).toBe(VAL_CHARS);
    expect(d.vocabSize).toBe(VOCAB_SIZE);
    expect(d.alphabet).toBe(ALPHABET);
    expect(EVAL_CONTEXT + EVAL_POSITIONS).toBeLessThanOrEqual(VAL_CHARS);
    for (const text of [d.train, d.val])
      expect(text.reduce((a, b) => Math.max(a, b), 0)).toBe(VOCAB_SIZE - 1);
  });

  it('is deterministic (the source, the samples, and a pinned fingerprint)', () => {
    expect(buildSource()).toEqual(SOURCE);
    expect(sampleTokens(SOURCE, 5000, 9)).toEqual(sampleTokens(SOURCE, 5000, 9));
    expect(sampleTokens(SOURCE, 5000, 9)).not.toEqual(sampleTokens(SOURCE, 5000, 10));
    const { train, val } = loadData();
    // Pinned: a change here means the task (and every recorded val_bpb) changed.
    expect(decode(train.subarray(0, 40))).toBe(PINNED_TRAIN_PREFIX);
    expect(fnv1a(train)).toBe(PINNED_TRAIN_HASH);
    expect(fnv1a(val)).toBe(PINNED_VAL_HASH);
  });

  it('validation text is independent of the training text', () => {
    const { train, val } = loadData();
    const trainStr = decode(train);
    const valStr = decode(val);
    expect(valStr.slice(0, 200)).not.toBe(trainStr.slice(0, 200));
    // No 100-character window of the validation text occurs in the training text.
    for (let off = 0; off + 100 <= valStr.length; off += 500) {
      expect(trainStr.includes(valStr.slice(off, off + 100))).toBe(false);
    }
  });
});

describe('tinylm train.ts', () => {
  it('program.md front matter matches the knobs in train.ts', () => {
    const program = readFileSync(join(exampleDir, 'program.md'), 'utf8');
    const m = /^---\n([\s\S]*?)\n---\n/.exec(program);
    expect(m).not.toBeNull();
    const fm = parseYaml(m![1]!) as {
      metric: { name: string; goal: string };
      editable: string[];
      protected: string[];
      search: { params: Record<string, { file: string; type: string; min: number; max: number }> };
    };
    expect(fm.metric).toEqual({ name: 'val_bpb', goal: 'minimize', deterministic: true });
    expect(fm.editable).toEqual(['train.ts']);
    expect(fm.protected).toEqual(['prepare.ts']);
    const train = readFileSync(join(exampleDir, 'train.ts'), 'utf8');
    const params = Object.entries(fm.search.params);
    expect(params.length).toBeGreaterThanOrEqual(4);
    for (const [name, spec] of params) {
      expect(spec.file).toBe('train.ts');
      const line = new RegExp(`^const ${name} = ([^;]+);`, 'm').exec(train);
      expect(line, name).not.toBeNull();
      const value = Number(line![1]);
      expect(value, name).toBeGreaterThanOrEqual(spec.min);
      expect(value, name).toBeLessThanOrEqual(spec.max);
      if (spec.type === 'int') expect(Number.isInteger(value), name).toBe(true);
    }
  });

  it('trains for the budget and prints the summary block with a finite val_bpb above the floor', () => {
    const res = spawnSync(process.execPath, ['--import', 'tsx', 'train.ts'], {
      cwd: exampleDir,
      env: { ...process.env, AUTORESEARCH_TIME_BUDGET: '0.5' },
      encoding: 'utf8',
      timeout: 50_000,
    });
    expect(res.status, res.stderr).toBe(0);
    const out = res.stdout;
    expect(out).toMatch(/^---$/m);
    const values: Record<string, number> = {};
    for (const m of out.matchAll(/^(\w+):\s+(\S+)$/gm)) values[m[1]!] = Number(m[2]);
    for (const key of [
      'val_bpb',
      'training_seconds',
      'total_seconds',
      'peak_memory_mb',
      'num_steps',
      'num_params',
      'floor_bpb',
    ]) {
      expect(values, key).toHaveProperty(key);
      expect(Number.isFinite(values[key]), key).toBe(true);
    }
    expect(out).toMatch(/^val_bpb:\s+\d+\.\d{6}$/m);
    expect(values.floor_bpb).toBeCloseTo(entropyFloorBpb(), 5);
    expect(values.val_bpb).toBeGreaterThan(values.floor_bpb!);
    // Far better than a unigram model (about 4.09) even on half a budget second's work.
    expect(values.val_bpb).toBeLessThan(3.5);
    // The budget is work: half a budget second at the nominal speed, whatever the clock says.
    expect(values.num_steps).toBe(
      Math.floor((0.5 * FLOPS_PER_BUDGET_SECOND) / stepFlops(32, 3, 8, 64, VOCAB_SIZE)),
    );
  });
});

const PINNED_TRAIN_PREFIX = ' raper deka fika. pome dono serofi ruvum';
const PINNED_TRAIN_HASH = 4282446173;
const PINNED_VAL_HASH = 1388763957;
