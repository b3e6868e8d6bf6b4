import { describe, expect, it } from 'vitest';
import { noiseAwarePolicy } from '../../src/policy/noise.js';
import { nextRuns, pairedNoise, pairedPolicy, pairRuns } from '../../src/policy/paired.js';
import type { Decision, DecisionInput, Policy, Run } from '../../src/policy/policy.js';
import { createRng, type Rng } from '../../src/tune/random.js';

const C = (value: number): Run => ({ arm: 'candidate', value });
const I = (value: number): Run => ({ arm: 'incumbent', value });
const paired = pairedPolicy();

/** A judgement's input: the sequence, the incumbent's older runs (fresh unless told), the history. */
function input(sequence: Run[], extra: Partial<DecisionInput> = {}): DecisionInput {
  return {
    goal: 'minimize',
    candidate: { values: sequence.filter((r) => r.arm === 'candidate').map((r) => r.value) },
    incumbent: { values: [1, 1, 1], runsSince: 0 },
    sequence,
    ...extra,
  };
}

/** A judgement of neutral candidates with 1% noise: earlier judgements for the pooled noise. */
function quietHistory(seed: number, judgements = 20): Run[][] {
  const rng = createRng(seed);
  const m = () => 1 + 0.01 * rng.normal();
  return Array.from({ length: judgements }, () => [C(m()), I(m()), I(m()), C(m()), C(m()), I(m())]);
}

/**
 * Drives one judgement as the loop will: the candidate's first run, then exactly the runs each
 * 'rerun' asks for. `speed(t)` is the machine at run t of the judgement; the incumbent's older
 * runs were taken at speed 1.
 */
function judge(
  policy: Policy,
  rng: Rng,
  o: { cand: number; speed: (t: number) => number; history: Run[][]; runsSince?: number },
): { d: Decision; sequence: Run[] } {
  let t = 0;
  const measure = (v: number) => o.speed(t++) * v * (1 + 0.01 * rng.normal());
  const older = [1, 1, 1].map((v) => v * (1 + 0.01 * rng.normal()));
  const sequence: Run[] = [C(measure(o.cand))];
  for (;;) {
    const d = policy.decide(
      input(sequence, {
        incumbent: { values: older, runsSince: o.runsSince ?? 0 },
        history: o.history,
        noise: { sigma: 0.01, df: 30 },
      }),
    );
    if (d.status !== 'rerun') return { d, sequence };
    for (const arm of d.next!)
      sequence.push(arm === 'candidate' ? C(measure(o.cand)) : I(measure(1)));
  }
}

describe('paired policy: pairing and what to measure next', () => {
  it('pairs neighbours in time, C I I C C I, and leaves a run between two of its own arm unpaired', () => {
    expect(pairRuns([C(1), I(2), I(3), C(4)]).pairs).toEqual([
      { candidate: 1, incumbent: 2 },
      { candidate: 4, incumbent: 3 },
    ]);
    const crash = pairRuns([C(1), C(2), I(3)]);
    expect(crash.pairs).toEqual([{ candidate: 2, incumbent: 3 }]);
    expect(crash.paired).toEqual([false, true, true]);
  });

  it("asks for the partner of an unpaired last run, else a pair starting with the last run's arm", () => {
    expect(nextRuns([])).toEqual(['candidate']);
    expect(nextRuns([C(1)])).toEqual(['incumbent']);
    expect(nextRuns([C(1), I(1)])).toEqual(['incumbent', 'candidate']);
    expect(nextRuns([C(1), I(1), I(1), C(1)])).toEqual(['candidate', 'incumbent']);
    expect(nextRuns([C(1), I(1), I(1)])).toEqual(['candidate']);
  });

  it('pools the noise of one difference within judgements, newest first, up to the window', () => {
    const n = pairedNoise(quietHistory(1, 40), 'log', 30)!;
    expect(n.df).toBe(30); // 15 judgements of 3 pairs
    expect(n.sigma).toBeGreaterThan(0.01 * Math.SQRT2 * 0.7);
    expect(n.sigma).toBeLessThan(0.01 * Math.SQRT2 * 1.3);
    expect(pairedNoise([[C(1), I(1)]], 'log')).toBeNull(); // one pair says nothing about noise
  });
});

describe('paired policy: decisions', () => {
  it('never keeps on one run: a candidate twice as fast is measured with the incumbent until confirm pairs', () => {
    const history = quietHistory(2);
    const one = paired.decide(input([C(0.5)], { history }));
    expect(one.status).toBe('rerun');
    expect(one.next).toEqual(['incumbent']);
    expect(one.reason).toBe(
      "looks better (-0.5) than the incumbent's newest runs, to confirm in pairs: measuring the incumbent",
    );
    const pair = paired.decide(input([C(0.5), I(1)], { history }));
    expect(pair.status).toBe('rerun');
    expect(pair.next).toEqual(['incumbent', 'candidate']);
    expect(pair.reason).toMatch(
      /^looks better \(paired -0\.5\d* \+- [\d.]+ \(-50%\), p=.*\) but 1 pair < confirm 2: measuring a pair \(incumbent, then candidate\)$/,
    );
    const kept = paired.decide(input([C(0.5), I(1), I(1.01), C(0.51)], { history }));
    expect(kept.status).toBe('keep');
    expect(kept.reason).toMatch(
      /^kept: paired -0\.50\d* \+- [\d.]+ \(-50%\), 2 pairs, p=.* \(needs p < 0\.025\)$/,
    );
    // confirm 3: two pairs are not enough either.
    expect(
      pairedPolicy({ confirm: 3 }).decide(input([C(0.5), I(1), I(1.01), C(0.51)], { history }))
        .status,
    ).toBe('rerun');
  });

  it('a step of machine speed that fools the unpaired comparison cancels in pairs (400 seeded trials)', () => {
    // At 99% confidence, so that "at most 1 - confidence" is far from what the step does unpaired.
    const strict = pairedPolicy({ confidence: 0.99 });
    const unpaired = noiseAwarePolicy({ confidence: 0.99 });
    const history = quietHistory(3);
    const faster = () => 0.95; // the machine got 5% faster after the incumbent's runs were taken
    let pairedKeeps = 0;
    let unpairedKeeps = 0;
    let realKeeps = 0;
    const rng = createRng(4);
    for (let k = 0; k < 400; k++) {
      if (judge(strict, rng, { cand: 1, speed: faster, history }).d.status === 'keep')
        pairedKeeps++;
      const older = [1, 1, 1].map((v) => v * (1 + 0.01 * rng.normal()));
      const now = [1, 1, 1].map((v) => 0.95 * v * (1 + 0.01 * rng.normal()));
      if (
        unpaired.decide({
          goal: 'minimize',
          candidate: { values: now },
          incumbent: { values: older },
          noise: { sigma: 0.01, df: 30 },
        }).status === 'keep'
      )
        unpairedKeeps++;
      if (judge(strict, rng, { cand: 0.96, speed: faster, history }).d.status === 'keep')
        realKeeps++;
    }
    expect(unpairedKeeps / 400).toBeGreaterThan(0.9);
    expect(pairedKeeps / 400).toBeLessThan(0.025);
    expect(realKeeps / 400).toBeGreaterThan(0.8); // a real 4% gain still shows through the step
  });

  it('differences on the log scale: a machine 2x slower during the second pair cancels exactly', () => {
    const d = pairedPolicy({ maxPairs: 2 }).decide(input([C(0.98), I(1), I(2), C(1.96)]));
    expect(d.stats!.relative).toBeCloseTo(-0.02, 12);
    expect(d.stats!.pairedGain).toBeCloseTo(-Math.log(0.98), 12);
    expect(d.stats!.scale).toBe('log');
    expect(d.status).toBe('keep'); // both pairs say exactly 2% faster
    // On the linear scale the same runs disagree (-0.02 vs -0.04): not significant on 2 pairs.
    const linear = pairedPolicy({ maxPairs: 2, scale: 'linear' }).decide(
      input([C(0.98), I(1), I(2), C(1.96)]),
    );
    expect(linear.stats!.scale).toBe('linear');
    expect(linear.status).toBe('discard');
  });

  it('keeps the keep threshold honest over its looks: under 5% of neutral candidates kept', () => {
    for (const maxPairs of [3, 6]) {
      const policy = pairedPolicy({ maxPairs });
      const rng = createRng(10 + maxPairs);
      const history = quietHistory(5);
      let keeps = 0;
      for (let k = 0; k < 1000; k++)
        if (judge(policy, rng, { cand: 1, speed: () => 1, history }).d.status === 'keep') keeps++;
      expect(keeps / 1000).toBeLessThan(0.05);
    }
    expect(
      pairedPolicy({ maxPairs: 6 }).decide(input([C(0.99), I(1), I(1), C(0.99)])).stats!.alpha,
    ).toBeCloseTo(0.01, 12); // 0.05 over 5 looks
  });

  it('discards a first run that is not better than fresh incumbent runs; pairs it when they are old', () => {
    const d = paired.decide(input([C(1.02)]));
    expect(d.status).toBe('discard');
    expect(d.reason).toBe(
      "discarded: 1.02 vs 1 (+0.02), n=1 vs the incumbent's newest 3, not better",
    );
    const old = paired.decide(
      input([C(1.02)], { incumbent: { values: [1, 1, 1], runsSince: 12 } }),
    );
    expect(old.status).toBe('rerun');
    expect(old.next).toEqual(['incumbent']);
    expect(old.reason).toBe(
      'the incumbent was measured 12 experiments ago, to compare in pairs: measuring the incumbent',
    );
    // While the machine drifts, fresh runs do not screen either: a slower machine would discard a good candidate.
    const drifting = paired.decide(input([C(1.02)], { drifting: true }));
    expect(drifting.status).toBe('rerun');
    expect(drifting.next).toEqual(['incumbent']);
    expect(drifting.reason).toBe(
      'the machine drifts, to compare in pairs: measuring the incumbent',
    );
  });

  it('takes the rounding of identical values for no noise: a metric that repeats exactly is decided, not shown with 15 decimals', () => {
    // The run's noise from three runs of 1.76: their mean rounds, and leaves a spread of ~1e-16.
    const noise = { sigma: 2.2e-16, df: 2 };
    const d = paired.decide(
      input([C(0.158537), I(1.76), I(1.76), C(0.158537)], { goal: 'maximize', noise }),
    );
    expect(d.status).toBe('discard');
    const k = paired.decide(input([C(0.158537), I(1.76), I(1.76), C(0.158537)], { noise }));
    expect(k.reason).toBe('kept: paired -1.60146 +- 0 (-91%), 2 pairs, p=0 (needs p < 0.025)');
  });

  it('discards when the pairs say not better, and at maxPairs when not significant, with the keep bar', () => {
    const history = quietHistory(6);
    expect(paired.decide(input([C(0.99), I(0.985)], { history })).reason).toMatch(
      /^discarded: paired \+0\.00\d+ \+- [\d.]+ \(\+0\.51%\), 1 pair, not better$/,
    );
    const d = paired.decide(
      input([C(0.999), I(1), I(1.001), C(0.998), C(1.0), I(1.0)], { history }),
    );
    expect(d.status).toBe('discard');
    expect(d.reason).toMatch(
      /^not significant: paired -0\.0013\d* \+- [\d.]+ \(-0\.13%\), 3 pairs, p=0\.\d+ \(needs p < 0\.025; keeping needs a gain of 0\.01\d*\)$/,
    );
    expect(d.stats).toMatchObject({
      pairs: 3,
      confirm: 2,
      maxPairs: 3,
      nCandidate: 3,
      nIncumbent: 3,
      scale: 'log',
    });
    expect(d.stats!.alpha).toBeCloseTo(0.025, 12);
    expect(d.stats!.keepBar).toBeGreaterThan(0.01);
    expect(d.stats!.keepBarFinal).toBe(d.stats!.keepBar); // at the last look
    expect(d.stats!.p).toBeGreaterThan(0.025);
  });

  it('minEffect, penalty, maximize, unpaired runs', () => {
    const history = quietHistory(7);
    const kept = [C(0.97), I(1), I(1.0), C(0.97)];
    expect(paired.decide(input(kept, { history })).status).toBe('keep');
    expect(pairedPolicy({ minEffect: 0.05 }).decide(input(kept, { history })).status).toBe('rerun');
    expect(paired.decide(input(kept, { history, penalty: 0.04 })).reason).toMatch(
      /^discarded: .*, penalty \+0\.04$/,
    );
    const up = paired.decide({
      ...input([C(1.03), I(1), I(1), C(1.03)], { history }),
      goal: 'maximize',
    });
    expect(up.status).toBe('keep');
    expect(paired.decide({ ...input(kept, { history }), goal: 'maximize' }).status).toBe('discard');
    expect(
      paired.decide(input([C(0.9), C(0.97), I(1), I(1), C(0.97)], { history })).reason,
    ).toMatch(/2 pairs \(1 unpaired run left out\)/);
  });

  it('without any pooled history, pools its own pairs with the run noise', () => {
    const d = paired.decide(input([C(0.97), I(1)], { noise: { sigma: 0.01, df: 30 } }));
    expect(d.stats!.df).toBe(30);
    expect(d.stats!.se).toBeCloseTo(0.01 * Math.SQRT2, 6); // sqrt(2) sigma, one pair, relative to 1
    expect(paired.decide(input([C(0.97), I(1)])).reason).toMatch(
      /noise is unknown, 1 pair: measuring a pair/,
    );
  });

  it("a deterministic metric keeps today's rule: one run, the tolerance, never a rerun", () => {
    const det = pairedPolicy({ deterministic: true, tolerance: 0.01 });
    const old = noiseAwarePolicy({ deterministic: true, tolerance: 0.01 });
    for (const v of [0.98, 0.995, 1.02, 0.99]) {
      const i = input([C(v)], { incumbent: { values: [1] } });
      expect(det.decide(i)).toEqual(old.decide(i));
      expect(det.decide(i).status).not.toBe('rerun');
    }
    expect(det.name).toBe('deterministic');
  });

  it('rejects settings that would keep on one run', () => {
    expect(() => pairedPolicy({ confirm: 1 })).toThrow(/confirm must be an integer >= 2/);
    expect(() => pairedPolicy({ confirm: 3, maxPairs: 2 })).toThrow(
      /maxPairs must be an integer >= confirm/,
    );
    expect(() => paired.decide(input([I(1)]))).toThrow(/at least one candidate run/);
    expect(() => paired.decide({ ...input([C(1)]), sequence: undefined })).toThrow(
      /DecisionInput\.sequence/,
    );
  });
});
