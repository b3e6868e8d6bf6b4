/** The retry helper and sleep: what a webhook delivery and an sbatch submission rely on. */
import { describe, expect, it } from 'vitest';
import { retry, retryAfterMs, RetryFailure } from '../../src/util/retry.js';
import { sleep } from '../../src/util/sleep.js';

/** An operation failing `failures` times, then answering 'ok'; records the attempt numbers it was given. */
function flaky(failures: number, error: (n: number) => unknown = (n) => new Error(`failure ${n}`)) {
  const seen: number[] = [];
  const op = async (n: number) => {
    seen.push(n);
    if (seen.length <= failures) throw error(n);
    return 'ok';
  };
  return { op, seen };
}

describe('retry', () => {
  it('tries again until it succeeds, waiting a doubling backoff with jitter, never longer than maxMs', async () => {
    const { op, seen } = flaky(4);
    const waits: number[] = [];
    const result = await retry(op, {
      attempts: 5,
      delay: { baseMs: 1, maxMs: 5 },
      random: () => 0.5,
      onRetry: (r) => waits.push(r.delayMs),
    });
    expect(result).toBe('ok');
    expect(seen).toEqual([1, 2, 3, 4, 5]);
    expect(waits).toEqual([1.1, 2.2, 4.4, 5]); // +10% jitter (0.2 x 0.5); the fourth, 8.8, is capped
  });

  it('follows a fixed schedule, its last wait repeating', async () => {
    const { op } = flaky(3);
    const waits: number[] = [];
    await retry(op, {
      attempts: 4,
      delay: [1, 3],
      jitter: 0,
      onRetry: (r) => waits.push(r.delayMs),
    });
    expect(waits).toEqual([1, 3, 3]);
  });

  it('gives up after the last attempt with the last failure, and at once on one not worth retrying', async () => {
    const { op, seen } = flaky(9);
    const failure = await retry(op, { attempts: 3, delay: [0] }).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(RetryFailure);
    expect(failure).toMatchObject({ attempts: 3, exhausted: true, message: 'failure 3' });
    expect((failure as RetryFailure).cause).toBeInstanceOf(Error);
    expect(seen).toHaveLength(3);

    const fatal = flaky(9, (n) => ({ status: 404, n }));
    const refused = await retry(fatal.op, {
      attempts: 5,
      delay: [0],
      retryable: (e) => (e as { status: number }).status >= 500,
    }).catch((e: unknown) => e);
    expect(refused).toMatchObject({ attempts: 1, exhausted: false, cause: { status: 404, n: 1 } });
    expect(fatal.seen).toEqual([1]);
  });

  it('waits at least what the other side asked for (retry-after), up to maxMs', async () => {
    const waits: number[] = [];
    const asked = (e: unknown) => (e as { after: number }).after;
    await retry(flaky(2, (n) => ({ after: n === 1 ? 7 : 500 })).op, {
      attempts: 3,
      delay: { baseMs: 1, maxMs: 20 },
      jitter: 0,
      retryAfterMs: asked,
      onRetry: (r) => waits.push(r.delayMs),
    });
    expect(waits).toEqual([7, 20]);
  });

  it('stops waiting when aborted, rejecting with the reason, and tries nothing after', async () => {
    const stop = new AbortController();
    const { op, seen } = flaky(9);
    // The wait would be a minute: the abort, not the timer, ends it.
    const stopped = retry(op, {
      attempts: 5,
      delay: [60_000],
      signal: stop.signal,
      onRetry: () => stop.abort(new Error('run stopping')),
    });
    await expect(stopped).rejects.toThrow('run stopping');
    expect(seen).toEqual([1]);

    const before = flaky(0);
    await expect(
      retry(before.op, { attempts: 2, delay: [0], signal: stop.signal }),
    ).rejects.toThrow('run stopping');
    expect(before.seen).toEqual([]);
  });
});

describe('retryAfterMs', () => {
  it('reads seconds and HTTP dates; nothing for absent or unreadable headers', () => {
    expect(retryAfterMs('3')).toBe(3000);
    expect(retryAfterMs('0')).toBe(0);
    expect(retryAfterMs(new Date(Date.now() + 3_600_000).toUTCString())).toBeGreaterThan(3_000_000);
    expect(retryAfterMs(new Date(Date.now() - 3_600_000).toUTCString())).toBe(0);
    expect(retryAfterMs('soon')).toBeNull();
    expect(retryAfterMs(null)).toBeNull();
  });
});

describe('sleep', () => {
  it('resolves after the wait, or rejects with the reason when aborted', async () => {
    await expect(sleep(1)).resolves.toBeUndefined();
    const stop = new AbortController();
    const long = sleep(60_000, stop.signal);
    stop.abort(new Error('stop'));
    await expect(long).rejects.toThrow('stop');
    await expect(sleep(60_000, stop.signal)).rejects.toThrow('stop'); // already aborted: no wait at all
  });
});
