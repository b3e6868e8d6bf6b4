/**
 * The machine while a measurement ran: load average, CPU time stolen by the hypervisor and time
 * stalled on memory. Stored with each measurement, so a drift of the incumbent can be told
 * apart: the code did not change, but the machine did. Linux counters where present; elsewhere
 * only the load average. Reading /proc is the edge; parsing is pure.
 */
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';

/** Counters read at one moment (cumulative since boot). */
export interface MachineCounters {
  /** /proc/stat `cpu` line: steal jiffies and all jiffies. */
  cpu?: { steal: number; total: number };
  /** /proc/pressure/memory `some total=` (microseconds some task stalled on memory). */
  memoryStallUs?: number;
  at: number;
}

export interface MachineSample {
  /** The 1-minute load average at the end of the run. */
  load: number;
  /** Share of CPU time stolen by the hypervisor during the run (0..1). */
  steal?: number;
  /** Share of the run's wall time some task stalled on memory (PSI, 0..1). */
  memoryPressure?: number;
  /** MemAvailable / MemTotal at the end of the run, where PSI is missing. */
  memoryAvailable?: number;
}

type Eight = [number, number, number, number, number, number, number, number];

/**
 * The `cpu` line of /proc/stat: user nice system idle iowait irq softirq steal ... Jiffies: steal,
 * all of them, and busy (user, nice, system, irq, softirq: what the benches count as work).
 */
export function parseCpuLine(
  stat: string,
): { steal: number; total: number; busy: number } | undefined {
  const line = stat.split('\n').find((l) => /^cpu\s/.test(l));
  if (!line) return undefined;
  const fields = line.trim().split(/\s+/).slice(1, 9).map(Number);
  if (fields.length < 8 || fields.some((f) => !Number.isFinite(f))) return undefined;
  const [user, nice, system, , , irq, softirq, steal] = fields as Eight;
  return {
    steal,
    total: fields.reduce((a, b) => a + b, 0),
    busy: user + nice + system + irq + softirq,
  };
}

/** `some avg10=0.00 avg60=0.00 avg300=0.00 total=1748993` -> 1748993. */
export function parsePressureTotal(psi: string): number | undefined {
  const m = /^some\b.*\btotal=(\d+)/m.exec(psi);
  return m ? Number(m[1]) : undefined;
}

export function parseMemAvailable(meminfo: string): number | undefined {
  const total = /^MemTotal:\s+(\d+)/m.exec(meminfo);
  const available = /^MemAvailable:\s+(\d+)/m.exec(meminfo);
  return total && available && Number(total[1]) > 0
    ? Number(available[1]) / Number(total[1])
    : undefined;
}

/** Between two readings: steal and memory stall as shares of the time between them. */
export function machineSample(
  before: MachineCounters,
  after: MachineCounters,
  load: number,
  memoryAvailable?: number,
): MachineSample {
  const sample: MachineSample = { load: round(load) };
  if (before.cpu && after.cpu && after.cpu.total > before.cpu.total) {
    sample.steal = round(
      Math.max(0, after.cpu.steal - before.cpu.steal) / (after.cpu.total - before.cpu.total),
    );
  }
  const wallUs = (after.at - before.at) * 1000;
  if (before.memoryStallUs !== undefined && after.memoryStallUs !== undefined && wallUs > 0) {
    sample.memoryPressure = round(
      Math.min(1, Math.max(0, after.memoryStallUs - before.memoryStallUs) / wallUs),
    );
  } else if (memoryAvailable !== undefined) sample.memoryAvailable = round(memoryAvailable);
  return sample;
}

const round = (v: number) => Number(v.toPrecision(4));

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

export function readCounters(): MachineCounters {
  const stat = read('/proc/stat');
  const psi = read('/proc/pressure/memory');
  return {
    cpu: stat ? parseCpuLine(stat) : undefined,
    memoryStallUs: psi ? parsePressureTotal(psi) : undefined,
    at: Date.now(),
  };
}

/** The sample of a run that started at `before`, read now. */
export function sampleSince(before: MachineCounters): MachineSample {
  const after = readCounters();
  const meminfo = after.memoryStallUs === undefined ? read('/proc/meminfo') : undefined;
  return machineSample(
    before,
    after,
    loadavg()[0] ?? 0,
    meminfo ? parseMemAvailable(meminfo) : undefined,
  );
}
