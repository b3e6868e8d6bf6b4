/**
 * Trying an operation again while its other side has a bad minute (a webhook's server, a Slurm
 * controller): a number of attempts, exponential backoff or a fixed schedule, with jitter so
 * that many clients do not come back in step, a server's retry-after honoured, waits cut short
 * by an AbortSignal, and a predicate for which failures are worth another try.
 * Model calls do not come through here: the AI SDK retries them itself (`maxRetries`).
 */
import { sleep } from './sleep.js';

export interface RetryOptions {
  /** Tries in all, the first included (at least 1). */
  attempts: number;
  /**
   * The wait before each retry: exponential backoff from `baseMs`, doubling up to `maxMs`, or a
   * fixed schedule in ms (its last entry repeats).
   */
  delay: { baseMs: number; maxMs?: number } | readonly number[];
  /** Each wait grows by up to this fraction, at random (default 0.2; never shorter than planned). */
  jitter?: number;
  /** Whether a failure is worth another try (default: every failure is). */
  retryable?: (error: unknown) => boolean;
  /** The wait the other side asked for (a retry-after), in ms, or null; waited at least that long, up to `maxMs`. */
  retryAfterMs?: (error: unknown) => number | null;
  /** Stops the waiting and any further try: the promise then rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Told before each wait (for logs and counts). */
  onRetry?: (info: { attempt: number; delayMs: number; error: unknown }) => void;
  /** The jitter's random source, in [0, 1). */
  random?: () => number;
}

/** Why `retry` gave up: the last failure (`cause`), after how many attempts, and whether they were all used. */
export class RetryFailure extends Error {
  constructor(
    override readonly cause: unknown,
    readonly attempts: number,
    /** True when every attempt was used; false when the failure was not worth retrying. */
    readonly exhausted: boolean,
  ) {
    super(cause instanceof Error ? cause.message : String(cause));
    this.name = 'RetryFailure';
  }
}

/** The wait before retry number `retry` (1 for the first), before jitter and retry-after. */
function plannedDelay(delay: RetryOptions['delay'], retry: number): number {
  if (Array.isArray(delay))
    return delay.length === 0 ? 0 : delay[Math.min(retry, delay.length) - 1]!;
  const { baseMs, maxMs = Infinity } = delay as { baseMs: number; maxMs?: number };
  return Math.min(maxMs, baseMs * 2 ** (retry - 1));
}

/**
 * Runs `attempt` (given its number, from 1) until it resolves, a failure is not retryable, or the
 * attempts are used up; then rejects with a RetryFailure. An abort rejects with the signal's reason.
 */
export async function retry<T>(attempt: (n: number) => Promise<T>, o: RetryOptions): Promise<T> {
  const attempts = Math.max(1, Math.floor(o.attempts));
  const random = o.random ?? Math.random;
  const maxMs = Array.isArray(o.delay)
    ? Infinity
    : ((o.delay as { maxMs?: number }).maxMs ?? Infinity);
  for (let n = 1; ; n++) {
    o.signal?.throwIfAborted();
    try {
      return await attempt(n);
    } catch (error) {
      if (o.signal?.aborted) throw o.signal.reason;
      const worth = o.retryable ? o.retryable(error) : true;
      if (!worth || n >= attempts) throw new RetryFailure(error, n, worth);
      const planned = plannedDelay(o.delay, n) * (1 + (o.jitter ?? 0.2) * random());
      const asked = o.retryAfterMs?.(error) ?? null;
      const delayMs = Math.min(maxMs, Math.max(planned, asked ?? 0));
      o.onRetry?.({ attempt: n, delayMs, error });
      await sleep(delayMs, o.signal);
    }
  }
}

/** A retry-after header (seconds, or an HTTP date) in ms; null when absent or unreadable. */
export function retryAfterMs(header: string | null | undefined): number | null {
  if (!header) return null;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(header);
  return Number.isFinite(at) ? Math.max(0, at - Date.now()) : null;
}
