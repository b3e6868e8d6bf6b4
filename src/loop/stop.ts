/** Stop conditions as one pure function: the loop asks it before starting each experiment. */
import { count } from '../util/words.js';

export interface StopInput {
  /** Candidates recorded plus those in flight (so parallel slots never overshoot). */
  candidates: number;
  maxExperiments?: number;
  elapsedHours: number;
  maxHours?: number;
  trailingFailures: number;
  maxFailures: number;
  /** Latest proposals skipped in a row (duplicates, no change). */
  trailingSkips?: number;
  maxSkips?: number;
  stopRequested: boolean;
  agentExhausted: boolean;
  spentUsd?: number;
  maxSpendUsd?: number;
  tokensUsed?: number;
  maxTokens?: number;
}

export function stopReason(s: StopInput): string | null {
  if (s.stopRequested) return 'stop requested';
  if (s.agentExhausted) return 'the agent has no more proposals';
  if (s.maxSpendUsd !== undefined && (s.spentUsd ?? 0) >= s.maxSpendUsd)
    return `spent $${(s.spentUsd ?? 0).toFixed(2)}, the cap is $${s.maxSpendUsd}`;
  if (s.maxTokens !== undefined && (s.tokensUsed ?? 0) >= s.maxTokens)
    return `used ${s.tokensUsed} tokens, the cap is ${s.maxTokens}`;
  if (s.trailingFailures >= s.maxFailures)
    return `the agent failed ${count(s.trailingFailures, 'time')} in a row`;
  if (s.maxSkips !== undefined && (s.trailingSkips ?? 0) >= s.maxSkips) {
    return `${count(s.trailingSkips ?? 0, 'proposal')} in a row ${s.trailingSkips === 1 ? 'was' : 'were'} skipped (duplicates or no change): the agent is not finding anything new`;
  }
  if (s.maxExperiments !== undefined && s.candidates >= s.maxExperiments)
    return `reached ${count(s.maxExperiments, 'experiment')}`;
  if (s.maxHours !== undefined && s.elapsedHours >= s.maxHours) return `reached ${s.maxHours} h`;
  return null;
}
