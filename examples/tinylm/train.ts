/**
 * train.ts — the EDITABLE half of the tinylm example (the counterpart of the original
 * autoresearch's train.py). A character-level neural language model (Bengio-style MLP:
 * embeddings of the last CONTEXT_LEN characters, concatenated -> tanh hidden layer -> softmax),
 * forward and backward written out by hand over Float32Array, trained with Adam for a fixed
 * compute budget, then scored by prepare.ts's evaluateBpb (bits per byte on validation text).
 *
 * Usage: node --import tsx train.ts        (AUTORESEARCH_TIME_BUDGET=seconds, default 10: the
 *        budget is the work that many seconds buy at prepare.ts's FLOPS_PER_BUDGET_SECOND)
 */
import {
  EVAL_CONTEXT,
  FLOPS_PER_BUDGET_SECOND,
  TIME_BUDGET,
  entropyFloorBpb,
  evaluateBpb,
  loadData,
  mulberry32,
  stepFlops,
} from './prepare.ts';

// ---------------------------------------------------------------------------------------------
// Hyperparameters (edit these)

// Adam peak learning rate
const LEARNING_RATE = 0.002;
// size of each character embedding
const EMBED_DIM = 8;
// width of the tanh hidden layer
const HIDDEN_DIM = 64;
// characters of context the model sees
const CONTEXT_LEN = 3;
// examples per optimizer step
const BATCH_SIZE = 32;
// final fraction of the budget over which the learning rate decays linearly to 0
const WARMDOWN_RATIO = 0.3;

// Fixed settings
const ADAM_BETA1 = 0.9;
const ADAM_BETA2 = 0.99;
const ADAM_EPS = 1e-8;
const SEED = 42;

// ---------------------------------------------------------------------------------------------

const budgetEnv = process.env.AUTORESEARCH_TIME_BUDGET;
const timeBudget = budgetEnv !== undefined && budgetEnv !== '' ? Number(budgetEnv) : TIME_BUDGET;
if (!(timeBudget > 0)) throw new Error(`bad AUTORESEARCH_TIME_BUDGET: ${budgetEnv}`);
if (!Number.isInteger(CONTEXT_LEN) || CONTEXT_LEN < 1 || CONTEXT_LEN > EVAL_CONTEXT) {
  throw new Error(`CONTEXT_LEN must be an integer in [1, ${EVAL_CONTEXT}]`);
}

const { train, vocabSize: V } = loadData();
const K = CONTEXT_LEN;
const E = EMBED_DIM;
const H = HIDDEN_DIM;
const D = K * E; // input width of the hidden layer
const B = BATCH_SIZE;

// All parameters live in one Float32Array (so Adam is one loop); views name the pieces.
const sizes = { emb: V * E, w1: H * D, b1: H, w2: V * H, b2: V };
const numParams = sizes.emb + sizes.w1 + sizes.b1 + sizes.w2 + sizes.b2;
const params = new Float32Array(numParams);
const grads = new Float32Array(numParams);
const adamM = new Float32Array(numParams);
const adamV = new Float32Array(numParams);
let off = 0;
const view = (n: number) => {
  const p = params.subarray(off, off + n);
  const g = grads.subarray(off, off + n);
  off += n;
  return [p, g] as const;
};
const [emb, gEmb] = view(sizes.emb);
const [w1, gW1] = view(sizes.w1);
const [b1, gB1] = view(sizes.b1);
const [w2, gW2] = view(sizes.w2);
const [b2, gB2] = view(sizes.b2);

// Seeded init: N(0,1) embeddings, fan-in scaled W1, small W2 (near-uniform initial predictions).
const rng = mulberry32(SEED);
const gauss = () => {
  const u = 1 - rng();
  const v = rng();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
};
for (let i = 0; i < emb.length; i++) emb[i] = gauss();
for (let i = 0; i < w1.length; i++) w1[i] = gauss() / Math.sqrt(D);
for (let i = 0; i < w2.length; i++) w2[i] = (0.1 * gauss()) / Math.sqrt(H);

// Activation buffers, reused for every example.
const x = new Float32Array(D);
const h = new Float32Array(H);
const logits = new Float64Array(V);
const probs = new Float32Array(V);
const dLogits = new Float32Array(V);
const dH = new Float32Array(H);
const dX = new Float32Array(D);

// The inner loops below are unrolled by 4 (about 30% faster in V8 than the plain loops).

/** Forward pass for the K characters ending right before position `end` of `text`. */
function forward(text: Uint8Array, end: number): void {
  for (let k = 0; k < K; k++) {
    const e0 = text[end - K + k]! * E;
    for (let e = 0; e < E; e++) x[k * E + e] = emb[e0 + e]!;
  }
  for (let j = 0; j < H; j++) {
    let s = b1[j]!;
    const r = j * D;
    let i = 0;
    let s1 = 0,
      s2 = 0,
      s3 = 0;
    for (; i + 3 < D; i += 4) {
      s += w1[r + i]! * x[i]!;
      s1 += w1[r + i + 1]! * x[i + 1]!;
      s2 += w1[r + i + 2]! * x[i + 2]!;
      s3 += w1[r + i + 3]! * x[i + 3]!;
    }
    for (; i < D; i++) s += w1[r + i]! * x[i]!;
    s += s1 + s2 + s3;
    h[j] = Math.tanh(s);
  }
  let max = -Infinity;
  for (let v = 0; v < V; v++) {
    let s = b2[v]!;
    const r = v * H;
    let j = 0;
    let s1 = 0,
      s2 = 0,
      s3 = 0;
    for (; j + 3 < H; j += 4) {
      s += w2[r + j]! * h[j]!;
      s1 += w2[r + j + 1]! * h[j + 1]!;
      s2 += w2[r + j + 2]! * h[j + 2]!;
      s3 += w2[r + j + 3]! * h[j + 3]!;
    }
    for (; j < H; j++) s += w2[r + j]! * h[j]!;
    s += s1 + s2 + s3;
    logits[v] = s;
    if (s > max) max = s;
  }
  let z = 0;
  for (let v = 0; v < V; v++) {
    const p = Math.exp(logits[v]! - max);
    logits[v] = p;
    z += p;
  }
  for (let v = 0; v < V; v++) probs[v] = logits[v]! / z;
}

/** Forward + backward for one example; accumulates gradients (scaled by 1/B); returns the loss. */
function trainExample(end: number): number {
  forward(train, end);
  const target = train[end]!;
  const loss = -Math.log(probs[target]!);
  const scale = 1 / B;
  for (let v = 0; v < V; v++) dLogits[v] = (probs[v]! - (v === target ? 1 : 0)) * scale;
  dH.fill(0);
  for (let v = 0; v < V; v++) {
    const d = dLogits[v]!;
    gB2[v]! += d;
    const r = v * H;
    let j = 0;
    for (; j + 3 < H; j += 4) {
      gW2[r + j]! += d * h[j]!;
      gW2[r + j + 1]! += d * h[j + 1]!;
      gW2[r + j + 2]! += d * h[j + 2]!;
      gW2[r + j + 3]! += d * h[j + 3]!;
      dH[j]! += d * w2[r + j]!;
      dH[j + 1]! += d * w2[r + j + 1]!;
      dH[j + 2]! += d * w2[r + j + 2]!;
      dH[j + 3]! += d * w2[r + j + 3]!;
    }
    for (; j < H; j++) {
      gW2[r + j]! += d * h[j]!;
      dH[j]! += d * w2[r + j]!;
    }
  }
  dX.fill(0);
  for (let j = 0; j < H; j++) {
    const hj = h[j]!;
    const d = dH[j]! * (1 - hj * hj);
    gB1[j]! += d;
    const r = j * D;
    let i = 0;
    for (; i + 3 < D; i += 4) {
      gW1[r + i]! += d * x[i]!;
      gW1[r + i + 1]! += d * x[i + 1]!;
      gW1[r + i + 2]! += d * x[i + 2]!;
      gW1[r + i + 3]! += d * x[i + 3]!;
      dX[i]! += d * w1[r + i]!;
      dX[i + 1]! += d * w1[r + i + 1]!;
      dX[i + 2]! += d * w1[r + i + 2]!;
      dX[i + 3]! += d * w1[r + i + 3]!;
    }
    for (; i < D; i++) {
      gW1[r + i]! += d * x[i]!;
      dX[i]! += d * w1[r + i]!;
    }
  }
  for (let k = 0; k < K; k++) {
    const e0 = train[end - K + k]! * E;
    for (let e = 0; e < E; e++) gEmb[e0 + e]! += dX[k * E + e]!;
  }
  return loss;
}

function adamStep(step: number, lr: number): void {
  const bc1 = 1 - Math.pow(ADAM_BETA1, step);
  const bc2 = 1 - Math.pow(ADAM_BETA2, step);
  for (let i = 0; i < numParams; i++) {
    const g = grads[i]!;
    const m = (adamM[i] = ADAM_BETA1 * adamM[i]! + (1 - ADAM_BETA1) * g);
    const v = (adamV[i] = ADAM_BETA2 * adamV[i]! + (1 - ADAM_BETA2) * g * g);
    params[i]! -= (lr * (m / bc1)) / (Math.sqrt(v / bc2) + ADAM_EPS);
  }
}

/** LR multiplier from training progress (fraction of the steps done): constant, then linear warmdown. */
function lrMultiplier(progress: number): number {
  if (progress < 1 - WARMDOWN_RATIO) return 1;
  return Math.max(0, (1 - progress) / WARMDOWN_RATIO);
}

// ---------------------------------------------------------------------------------------------
// Training loop: as many steps as the budget's work allows (prepare.ts: the budget in seconds
// times FLOPS_PER_BUDGET_SECOND, over the floating-point work of one step). The same
// configuration always trains the same number of steps, whatever the machine or its load.

const steps = Math.max(
  1,
  Math.floor((timeBudget * FLOPS_PER_BUDGET_SECOND) / stepFlops(B, K, E, H, V)),
);
const sampleRng = mulberry32(SEED + 1);
const nPositions = train.length - K;
let step = 0;
let smoothLoss = 0;
const trainStart = performance.now();
while (step < steps) {
  grads.fill(0);
  let loss = 0;
  for (let b = 0; b < B; b++) loss += trainExample(K + Math.floor(sampleRng() * nPositions));
  loss /= B;
  if (!Number.isFinite(loss) || loss > 100) {
    console.log(`FAIL: training diverged at step ${step} (loss ${loss})`);
    process.exit(1);
  }
  step++;
  adamStep(step, LEARNING_RATE * lrMultiplier(step / steps));
  smoothLoss = step === 1 ? loss : 0.99 * smoothLoss + 0.01 * loss;
  if (process.env.TINYLM_VERBOSE && step % 500 === 0) {
    const bits = smoothLoss / Math.LN2;
    console.log(
      `step ${step}/${steps} | train_bpb ${bits.toFixed(4)} | ${((performance.now() - trainStart) / 1000).toFixed(1)}s`,
    );
  }
}
const trainingSeconds = (performance.now() - trainStart) / 1000;

// ---------------------------------------------------------------------------------------------
// Evaluation (prepare.ts owns the metric)

const valBpb = evaluateBpb((context: Uint8Array) => {
  forward(context, context.length);
  return probs;
});

const totalSeconds = performance.now() / 1000;
const peakMemoryMb = process.resourceUsage().maxRSS / 1024;
const fmt = (v: number, d: number) => (Number.isFinite(v) ? v.toFixed(d) : String(v).toLowerCase());
console.log('---');
console.log(`val_bpb:          ${fmt(valBpb, 6)}`);
console.log(`training_seconds: ${trainingSeconds.toFixed(1)}`);
console.log(`total_seconds:    ${totalSeconds.toFixed(1)}`);
console.log(`peak_memory_mb:   ${peakMemoryMb.toFixed(1)}`);
console.log(`num_steps:        ${step}`);
console.log(`num_params:       ${numParams}`);
console.log(`floor_bpb:        ${entropyFloorBpb().toFixed(6)}`);
