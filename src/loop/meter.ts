/**
 * The meter: what an experiment's commands say they spent (model calls), read from the metrics
 * they print (`meter: { usd: eval_cost_usd, tokens: eval_tokens }`). Pure functions; the harness
 * adds each reading to the experiment's spend, which counts toward `stop.spend_usd` and `stop.tokens`.
 */
import type { ParsedMetrics } from '../metrics/parse.js';

export interface MeterSetting {
  usd?: string;
  tokens?: string;
}

/** One command's spend; `refused`: why a named metric was not counted (never subtracted). */
export interface MeterReading {
  usd: number;
  tokens: number;
  refused: string[];
}

/**
 * Whether a command's meter counts. With a protected `eval:`, only `eval` and `holdout`: the agent
 * writes what `run` prints, and could print a zero spend. Without one, `run` is all there is, and
 * what it prints is self-reported.
 */
export function metersCommand(kind: string, hasEval: boolean): boolean {
  return kind === 'eval' || kind === 'holdout' || (kind === 'run' && !hasEval);
}

/** The spend `printed` says, by the metrics `meter` names; a metric not printed counts as 0. */
export function meterReading(meter: MeterSetting, printed: ParsedMetrics): MeterReading {
  const reading: MeterReading = { usd: 0, tokens: 0, refused: [] };
  for (const key of ['usd', 'tokens'] as const) {
    const name = meter[key];
    if (name === undefined) continue;
    const refusal = printed.refused[name];
    const value = printed.values[name];
    if (refusal) reading.refused.push(`${name}: ${refusal.reason}`);
    else if (value === undefined) continue;
    else if (!Number.isFinite(value) || value < 0)
      reading.refused.push(`${name}: ${value} is not a spend (negative or not finite)`);
    else reading[key] = value;
  }
  return reading;
}
