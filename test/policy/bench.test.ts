import { describe, expect, it } from 'vitest';
import { benchPolicy, comparePolicies } from '../../src/bench/policy.js';

describe('policy bench', () => {
  it('noise-aware keeps far fewer false improvements than greedy on the same candidates', () => {
    const { greedy, noise } = comparePolicies({ seeds: 20, candidates: 100 });
    expect(greedy.pooledFalsePct).toBeGreaterThan(15);
    expect(noise[0]!.falsePerCandidatePct).toBeLessThan(1);
    expect(noise[0]!.falsePerCandidatePct).toBeLessThan(greedy.falsePerCandidatePct / 10);
  });

  it('prints a side-by-side table', async () => {
    const out = await benchPolicy({ seeds: 3, candidates: 30 });
    expect(out).toMatch(/greedy\s+noise-aware\s+vs greedy/);
    expect(out).toMatch(/final true gain \(sigma\)/);
  });
});
