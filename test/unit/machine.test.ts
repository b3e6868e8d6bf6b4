/** The machine sample stored with each measurement (src/loop/machine.ts). */
import { describe, expect, it } from 'vitest';
import {
  machineSample,
  parseCpuLine,
  parseMemAvailable,
  parsePressureTotal,
  readCounters,
  sampleSince,
} from '../../src/loop/machine.js';

describe('the machine while a run ran', () => {
  it('reads the CPU steal and memory stall counters Linux gives', () => {
    expect(
      parseCpuLine('cpu  340536 725 164939 204429 1331 0 1503 250 0 0\ncpu0 1 2 3 4 5 6 7 8 0 0\n'),
    ).toEqual({
      steal: 250,
      total: 340536 + 725 + 164939 + 204429 + 1331 + 0 + 1503 + 250,
      busy: 340536 + 725 + 164939 + 0 + 1503,
    });
    expect(parseCpuLine('intr 1 2 3\n')).toBeUndefined();
    expect(
      parsePressureTotal(
        'some avg10=0.00 avg60=0.00 avg300=0.00 total=1748993\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=1010277\n',
      ),
    ).toBe(1748993);
    expect(
      parseMemAvailable(
        'MemTotal:       16000000 kB\nMemFree:  1 kB\nMemAvailable:    4000000 kB\n',
      ),
    ).toBe(0.25);
  });

  it('turns two readings into shares of the run: 10% of the CPU stolen, 5% of the time stalled on memory', () => {
    const before = { cpu: { steal: 100, total: 10_000 }, memoryStallUs: 0, at: 0 };
    const after = { cpu: { steal: 200, total: 11_000 }, memoryStallUs: 100_000, at: 2_000 };
    expect(machineSample(before, after, 3.5)).toEqual({
      load: 3.5,
      steal: 0.1,
      memoryPressure: 0.05,
    });
    // Without PSI (older kernels, containers): the memory still available instead.
    expect(machineSample({ at: 0 }, { at: 1000 }, 1, 0.4)).toEqual({
      load: 1,
      memoryAvailable: 0.4,
    });
  });

  it('samples this machine', () => {
    const s = sampleSince(readCounters());
    expect(s.load).toBeGreaterThanOrEqual(0);
    if (s.steal !== undefined) expect(s.steal).toBeGreaterThanOrEqual(0);
  });
});
