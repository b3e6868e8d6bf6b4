/**
 * prepare.ts — the PROTECTED half of the tinylm example (the counterpart of the original
 * autoresearch's prepare.py). The agent may not edit this file: it owns the data and the metric.
 *
 * The data is text from a known stochastic source: a seeded first-order word-level Markov chain.
 * Every token is emitted as a fixed string, a word token as " " + its spelling (lowercase
 * letters) and the sentence-end token as ".". The map from token sequences to text is one-to-one
 * (a token starts at every " " or "."), so the entropy rate of the character stream is known
 * exactly:
 *
 *     H_char = sum_i pi_i * H(P[i, .])  /  sum_i pi_i * len(token_i)     (bits per character)
 *
 * where pi is the chain's stationary distribution and len counts the emitted characters
 * (separator included). The text is ASCII, so bits per character = bits per byte: this is the
 * floor on val_bpb that no model can beat (in expectation).
 *
 * Exports: the source (`SOURCE`, `buildSource`, `sampleTokens`, `renderTokens`), the data
 * (`loadData`, `decode`, `ALPHABET`, `VOCAB_SIZE`), the math (`stationaryDistribution`,
 * `entropyRateBitsPerChar`, `entropyFloorBpb`, `tokenNllBits`), the metric (`evaluateBpb`) and an
 * exact Bayes predictor for the true source (`oraclePredictor`), which reaches the floor.
 */

// ---------------------------------------------------------------------------------------------
// Fixed constants (do not change: they define the task)

/** Character vocabulary: id i <-> ALPHABET[i]. */
export const ALPHABET = ' .abcdefghijklmnopqrstuvwxyz';
export const VOCAB_SIZE = ALPHABET.length; // 28
/** Characters of training text. */
export const TRAIN_CHARS = 300_000;
/** Characters of validation text. */
export const VAL_CHARS = 20_000;
/** A predictor sees (at most) this many preceding characters. */
export const EVAL_CONTEXT = 64;
/** Validation positions scored by evaluateBpb (targets VAL[EVAL_CONTEXT .. EVAL_CONTEXT+N)). */
export const EVAL_POSITIONS = 16_384;
/** Default training time budget in seconds (overridden by AUTORESEARCH_TIME_BUDGET). */
export const TIME_BUDGET = 10;
/**
 * What one second of budget buys, in floating-point operations: training is budgeted in work,
 * not in time, so the same code gives the same model on any machine under any load (a wall-clock
 * budget counted a busy machine's fewer steps as a worse model; CPU time did too, less, when
 * another job shared the core). Slower than a typical 2-core machine here, so a run fits its
 * wall-clock budget with room to spare.
 */
export const FLOPS_PER_BUDGET_SECOND = 1e9;

/**
 * Floating-point operations of one optimizer step of the MLP (forward, backward about twice the
 * forward, and Adam over every parameter), for a batch of `batch` examples.
 */
export function stepFlops(
  batch: number,
  context: number,
  embed: number,
  hidden: number,
  vocab: number,
): number {
  const forward = 2 * (context * embed * hidden + hidden * vocab) + 5 * hidden + 5 * vocab;
  const params = vocab * embed + hidden * context * embed + hidden + vocab * hidden + vocab;
  return 3 * forward * batch + 10 * params;
}

const SOURCE_SEED = 20240307;
const TRAIN_SEED = 1;
const VAL_SEED = 2;

const NUM_WORDS = 256;
const MIN_SUCCESSORS = 4;
const MAX_SUCCESSORS = 20;
const PERIOD_PROB = 0.1;
const SENTENCE_STARTERS = 40;

// ---------------------------------------------------------------------------------------------
// RNG

/** mulberry32: small, fast, seeded; returns floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// ---------------------------------------------------------------------------------------------
// The source

/**
 * A first-order Markov chain over tokens, each token emitting a fixed string. For the entropy
 * formula to be the entropy of the text, the emission must be uniquely decodable; in this file
 * every token string starts with a boundary character (" " or ".") that appears nowhere else.
 */
export interface MarkovSource {
  /** The string each token emits, separator included (e.g. " kalo", "."). */
  strings: string[];
  /** succ[i]: the ids of the tokens that may follow token i. */
  succ: number[][];
  /** prob[i][k]: the probability that succ[i][k] follows token i (each row sums to 1). */
  prob: number[][];
  /** The token the chain starts from (its string is not emitted). */
  start: number;
}

/** Builds the fixed source: 256 syllable words plus a sentence end ("."), Zipf-like successor rows. */
export function buildSource(seed = SOURCE_SEED): MarkovSource {
  const rng = mulberry32(seed);
  const consonants = 'bdfgklmnprstvz';
  const vowels = 'aeiou';
  const words = new Set<string>();
  while (words.size < NUM_WORDS) {
    const syllables = 1 + Math.floor(rng() * 3); // 1..3
    let w = '';
    for (let s = 0; s < syllables; s++) {
      w += consonants[Math.floor(rng() * consonants.length)];
      w += vowels[Math.floor(rng() * vowels.length)];
    }
    if (rng() < 0.3) w += consonants[Math.floor(rng() * consonants.length)];
    words.add(w);
  }
  const strings = [...words].map((w) => ' ' + w);
  const PERIOD = strings.length;
  strings.push('.');

  const pickDistinct = (k: number): number[] => {
    const ids = Array.from({ length: NUM_WORDS }, (_, i) => i);
    for (let i = 0; i < k; i++) {
      const j = i + Math.floor(rng() * (NUM_WORDS - i));
      [ids[i], ids[j]] = [ids[j]!, ids[i]!];
    }
    return ids.slice(0, k);
  };
  const zipfRow = (k: number): number[] => {
    const w = Array.from({ length: k }, (_, r) => (0.5 + rng()) / (r + 1));
    const z = w.reduce((a, b) => a + b, 0);
    return w.map((x) => x / z);
  };

  const succ: number[][] = [];
  const prob: number[][] = [];
  for (let i = 0; i < NUM_WORDS; i++) {
    const k = MIN_SUCCESSORS + Math.floor(rng() * (MAX_SUCCESSORS - MIN_SUCCESSORS + 1));
    const s = pickDistinct(k);
    const p = zipfRow(k).map((x) => x * (1 - PERIOD_PROB));
    s.push(PERIOD);
    p.push(PERIOD_PROB);
    succ.push(s);
    prob.push(p);
  }
  succ.push(pickDistinct(SENTENCE_STARTERS));
  prob.push(zipfRow(SENTENCE_STARTERS));
  return { strings, succ, prob, start: PERIOD };
}

/** The fixed source this example is about. */
export const SOURCE: MarkovSource = buildSource();

/** Samples tokens from `src` (starting after src.start) until their text reaches minChars. */
export function sampleTokens(src: MarkovSource, minChars: number, seed: number): number[] {
  const rng = mulberry32(seed);
  const cum = src.prob.map((row) => {
    let c = 0;
    return row.map((p) => (c += p));
  });
  const out: number[] = [];
  let state = src.start;
  let chars = 0;
  while (chars < minChars) {
    const u = rng();
    const row = cum[state]!;
    let k = 0;
    while (k < row.length - 1 && u >= row[k]!) k++;
    state = src.succ[state]![k]!;
    out.push(state);
    chars += src.strings[state]!.length;
  }
  return out;
}

export function renderTokens(src: MarkovSource, tokens: readonly number[]): string {
  let s = '';
  for (const t of tokens) s += src.strings[t];
  return s;
}

export function encode(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) {
    const id = ALPHABET.indexOf(text[i]!);
    if (id < 0) throw new Error(`character ${JSON.stringify(text[i])} is not in the alphabet`);
    out[i] = id;
  }
  return out;
}

export function decode(ids: ArrayLike<number>): string {
  let s = '';
  for (let i = 0; i < ids.length; i++) s += ALPHABET[ids[i]!];
  return s;
}

export interface Data {
  /** Training text as character ids (TRAIN_CHARS of them). */
  train: Uint8Array;
  /** Validation text as character ids (VAL_CHARS of them), sampled independently of train. */
  val: Uint8Array;
  vocabSize: number;
  alphabet: string;
}

let cached: Data | undefined;

/** Generates (once per process) the training and validation text. Deterministic. */
export function loadData(): Data {
  if (!cached) {
    const train = encode(
      renderTokens(SOURCE, sampleTokens(SOURCE, TRAIN_CHARS, TRAIN_SEED)).slice(0, TRAIN_CHARS),
    );
    const val = encode(
      renderTokens(SOURCE, sampleTokens(SOURCE, VAL_CHARS, VAL_SEED)).slice(0, VAL_CHARS),
    );
    cached = { train, val, vocabSize: VOCAB_SIZE, alphabet: ALPHABET };
  }
  return cached;
}

// ---------------------------------------------------------------------------------------------
// Exact entropy

/** The stationary distribution of the chain (power iteration on the lazy chain (I+P)/2). */
export function stationaryDistribution(src: MarkovSource): Float64Array {
  const n = src.strings.length;
  let pi = new Float64Array(n);
  pi[src.start] = 1; // the recurrent class reachable from the start
  let next = new Float64Array(n);
  for (let iter = 0; iter < 100_000; iter++) {
    next.fill(0);
    for (let i = 0; i < n; i++) {
      const m = pi[i]!;
      if (m === 0) continue;
      next[i]! += 0.5 * m;
      const s = src.succ[i]!;
      const p = src.prob[i]!;
      for (let k = 0; k < s.length; k++) next[s[k]!]! += 0.5 * m * p[k]!;
    }
    let diff = 0;
    for (let i = 0; i < n; i++) diff += Math.abs(next[i]! - pi[i]!);
    [pi, next] = [next, pi];
    if (diff < 1e-15) break;
  }
  return pi;
}

/** Exact entropy rate of the emitted character stream in bits per character. */
export function entropyRateBitsPerChar(src: MarkovSource): number {
  const pi = stationaryDistribution(src);
  let bitsPerToken = 0;
  let charsPerToken = 0;
  for (let i = 0; i < pi.length; i++) {
    let h = 0;
    for (const p of src.prob[i]!) if (p > 0) h -= p * Math.log2(p);
    bitsPerToken += pi[i]! * h;
    charsPerToken += pi[i]! * src.strings[i]!.length;
  }
  return bitsPerToken / charsPerToken;
}

/** The floor on val_bpb: the exact entropy rate of the source (ASCII: bits/char = bits/byte). */
export function entropyFloorBpb(): number {
  return entropyRateBitsPerChar(SOURCE);
}

/** Total -log2 probability of a token sequence under the true chain (started at src.start). */
export function tokenNllBits(src: MarkovSource, tokens: readonly number[]): number {
  let bits = 0;
  let state = src.start;
  for (const t of tokens) {
    const k = src.succ[state]!.indexOf(t);
    if (k < 0) return Infinity;
    bits -= Math.log2(src.prob[state]![k]!);
    state = t;
  }
  return bits;
}

// ---------------------------------------------------------------------------------------------
// The metric

/**
 * A model's predictor: given the preceding characters (ids; `context[context.length - 1]` is the
 * character right before the one to predict; EVAL_CONTEXT of them during evaluation), return
 * the probabilities of the next character, one per id (length VOCAB_SIZE). The result may be a
 * reused buffer; it is read before the next call. It is renormalized by the evaluation.
 */
export type PredictFn = (context: Uint8Array) => ArrayLike<number>;

/**
 * Bits per byte of `predict` on the validation text: the mean of -log2 p(next char) over the
 * EVAL_POSITIONS fixed validation positions. Returns NaN if the model emits non-finite or
 * non-positive probability mass. Probabilities are floored at 1e-30 (about 100 bits).
 */
export function evaluateBpb(predict: PredictFn, positions = EVAL_POSITIONS): number {
  const { val } = loadData();
  const n = Math.min(positions, val.length - EVAL_CONTEXT);
  const window = new Uint8Array(EVAL_CONTEXT);
  let bits = 0;
  for (let i = 0; i < n; i++) {
    const pos = EVAL_CONTEXT + i;
    window.set(val.subarray(pos - EVAL_CONTEXT, pos));
    const probs = predict(window);
    let z = 0;
    for (let v = 0; v < VOCAB_SIZE; v++) {
      const p = probs[v]!;
      if (!(p >= 0)) return NaN; // negative or NaN
      z += p;
    }
    if (!(z > 0) || !Number.isFinite(z)) return NaN;
    const p = Math.max(probs[val[pos]!]! / z, 1e-30);
    bits -= Math.log2(p);
  }
  return bits / n;
}

/**
 * The exact Bayes predictor for `src`: p(next char | preceding text), given enough context to
 * contain the previous and the current token. Its expected bits per character is the floor.
 */
export function oraclePredictor(src: MarkovSource = SOURCE): PredictFn {
  const idOf = new Map<string, number>();
  src.strings.forEach((s, i) => idOf.set(s, i));
  const isBoundary = (c: number) => c === 0 || c === 1; // ' ' or '.'
  const encoded = src.strings.map((s) => encode(s));
  const out = new Float64Array(VOCAB_SIZE);
  const allTokens = src.strings.map((_, u) => u);
  const pi = Array.from(stationaryDistribution(src));
  return (context: Uint8Array) => {
    out.fill(0);
    // The current (possibly complete) token starts at the last boundary char; the previous one at
    // the boundary before it.
    let j = context.length - 1;
    while (j >= 0 && !isBoundary(context[j]!)) j--;
    if (j < 0) {
      out.fill(1 / VOCAB_SIZE); // no token boundary in sight
      return out;
    }
    let i = j - 1;
    while (i >= 0 && !isBoundary(context[i]!)) i--;
    const partial = context.subarray(j);
    // Candidates for the current token, weighted by P(prev -> u); with the previous token out of
    // sight, by the stationary distribution.
    let succ = allTokens;
    let prob = pi;
    if (i >= 0) {
      const prev = idOf.get(decode(context.subarray(i, j)));
      if (prev === undefined) throw new Error('oracle: context is not text of this source');
      succ = src.succ[prev]!;
      prob = src.prob[prev]!;
    }
    for (let k = 0; k < succ.length; k++) {
      const u = succ[k]!;
      const s = encoded[u]!;
      if (s.length < partial.length) continue;
      let match = true;
      for (let c = 0; c < partial.length; c++) {
        if (s[c] !== partial[c]) {
          match = false;
          break;
        }
      }
      if (!match) continue;
      if (s.length > partial.length) {
        out[s[partial.length]!]! += prob[k]!;
      } else {
        // u is complete: the next char is the first char of the token after u.
        const s2 = src.succ[u]!;
        const p2 = src.prob[u]!;
        for (let m = 0; m < s2.length; m++) out[encoded[s2[m]!]![0]!]! += prob[k]! * p2[m]!;
      }
    }
    let z = 0;
    for (let v = 0; v < VOCAB_SIZE; v++) z += out[v]!;
    if (!(z > 0)) throw new Error('oracle: context is not text of this source');
    for (let v = 0; v < VOCAB_SIZE; v++) out[v]! /= z;
    return out;
  };
}
