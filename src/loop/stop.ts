/** Stop conditions as one pure function: the loop asks it before starting each experiment. */

export interface StopInput {
  /** Candidates recorded plus those in flight (so parallel slots never overshoot). */
  candidates: number;
  maxExperiments?: number;
  elapsedHours: number;
  maxHours?: number;
  trailingFailures: number;
  maxFailures: number;
  stopRequested: boolean;
  agentExhausted: boolean;
}

export function stopReason(s: StopInput): string | null {
  if (s.stopRequested) return 'stop requested';
  if (s.agentExhausted) return 'the agent has no more proposals';
  if (s.trailingFailures >= s.maxFailures) return `the agent failed ${s.trailingFailures} times in a row`;
  if (s.maxExperiments !== undefined && s.candidates >= s.maxExperiments) return `reached ${s.maxExperiments} experiments`;
  if (s.maxHours !== undefined && s.elapsedHours >= s.maxHours) return `reached ${s.maxHours} h`;
  return null;
}
