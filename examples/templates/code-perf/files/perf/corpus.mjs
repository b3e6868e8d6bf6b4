/**
 * The benchmark's inputs (protected), generated from a fixed seed so every run measures the same
 * work: `bench` is what the loop optimizes, `holdout` a differently shaped text (more distinct
 * words, longer ones) measured only on kept candidates, to catch a speed-up that only fits the
 * benchmark's input.
 */
function rng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SHAPES = {
  bench: { seed: 1, vocabulary: 3000, words: 20000, longest: 8 },
  holdout: { seed: 2, vocabulary: 6000, words: 15000, longest: 12 },
};

export function corpus(name) {
  const shape = SHAPES[name];
  if (!shape) throw new Error(`no corpus "${name}": one of ${Object.keys(SHAPES).join(', ')}`);
  const random = rng(shape.seed);
  const letters = "abcdefghijklmnopqrstuvwxyz0123456789'";
  const vocabulary = [];
  for (let i = 0; i < shape.vocabulary; i++) {
    let w = '';
    const length = 2 + Math.floor(random() * (shape.longest - 1));
    for (let j = 0; j < length; j++) w += letters[Math.floor(random() * (j === 0 ? 26 : 37))];
    vocabulary.push(w);
  }
  const parts = [];
  for (let i = 0; i < shape.words; i++) {
    // Zipf-like: a few words are frequent, most are rare.
    const w = vocabulary[Math.floor(shape.vocabulary * random() ** 2)];
    parts.push(random() < 0.1 ? w[0].toUpperCase() + w.slice(1) : w);
    parts.push(random() < 0.08 ? '. ' : random() < 0.05 ? ', ' : random() < 0.02 ? '\n' : ' ');
  }
  return parts.join('');
}
