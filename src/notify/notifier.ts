/**
 * Sends webhook notifications about a run: a new best, crashes in a row, the run stopping, the
 * machine drifting, and a periodic digest. A LoopListener that never throws into the loop and
 * never blocks it: notices go to a queue delivered in the background, with retries; `flush()`
 * waits for the queue.
 */
import type { LoopEvent } from '../loop/events.js';
import { improvementPercent } from '../loop/summary.js';
import type { Goal } from '../ledger/types.js';
import {
  DEFAULT_CRASHES_IN_A_ROW,
  DEFAULT_DIGEST_EVERY,
  NOTICE_KINDS,
  type NoticeKind,
  type WebhookConfig,
} from './config.js';
import { buildDelivery, firstLine, type Delivery, type Notice } from './payloads.js';
import { retry, retryAfterMs, RetryFailure } from '../util/retry.js';

export interface RetryOptions {
  /** Tries per notice, the first included (default 5). */
  attempts?: number;
  /** First backoff in ms, doubled each retry (default 1000). */
  baseMs?: number;
  /** The longest wait between tries, Retry-After included (default 30000). */
  maxMs?: number;
  /** Per-request timeout in ms (default 10000). */
  timeoutMs?: number;
}

export interface NotifierOptions {
  webhooks: WebhookConfig[];
  /** The run (a RunRow fits): its tag, metric and goal. */
  run: { tag: string; metric_name: string; goal: Goal };
  /** The agent's spend so far in US dollars, for the stop summary (e.g. `() => ledger.spend(tag).usd`). */
  spend?: () => number | null;
  /** Told once per webhook when a delivery fails for good. */
  onWarn?: (text: string) => void;
  retry?: RetryOptions;
  fetch?: typeof fetch;
}

interface QueueItem {
  hook: number;
  kind: NoticeKind;
  delivery: Delivery;
}

interface DigestState {
  since: number;
  experiments: number;
  keeps: number;
  crashes: number;
}

type CrashRow = { id: number; status: string; reason: string };

const CRASH_STATUSES = new Set(['crash', 'timeout']);
/** Outcomes that end a streak of crashes (a real measurement or a rule broken); agent failures, skips and interruptions do not count either way. */
const STREAK_BREAKERS = new Set(['keep', 'discard', 'invalid']);

/** Where a webhook points, without its path or query (which often hold the secret). */
function redactUrl(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return '(invalid URL)';
  }
}

/** A webhook's answer that is not 2xx. */
class HttpFailure extends Error {
  constructor(
    readonly status: number,
    statusText: string,
    readonly retryAfter: number | null,
  ) {
    super(`HTTP ${status}${statusText ? ` ${statusText}` : ''}`);
  }
}

export class Notifier {
  private readonly hooks: Required<
    Pick<WebhookConfig, 'url' | 'format' | 'on' | 'crashes_in_a_row' | 'digest_every'>
  >[];
  private readonly queue: QueueItem[] = [];
  private pumping: Promise<void> | null = null;
  private readonly warned = new Set<number>();
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly digests: DigestState[];
  private crashStreak: CrashRow[] = [];
  private baseline: number | null = null;
  private best: number | null = null;
  private closed = false;
  private readonly retry: Required<RetryOptions>;
  private readonly doFetch: typeof fetch;

  constructor(private readonly options: NotifierOptions) {
    this.hooks = options.webhooks.map((w) => ({
      url: w.url,
      format: w.format,
      on: w.on && w.on.length ? w.on : [...NOTICE_KINDS],
      crashes_in_a_row: w.crashes_in_a_row ?? DEFAULT_CRASHES_IN_A_ROW,
      digest_every: w.digest_every ?? DEFAULT_DIGEST_EVERY,
    }));
    this.retry = { attempts: 5, baseMs: 1000, maxMs: 30_000, timeoutMs: 10_000, ...options.retry };
    this.doFetch = options.fetch ?? ((...args) => fetch(...args));
    const now = Date.now();
    this.digests = this.hooks.map(() => ({ since: now, experiments: 0, keeps: 0, crashes: 0 }));
    this.hooks.forEach((h, i) => {
      if (!h.on.includes('digest')) return;
      const timer = setInterval(
        () => this.safely(() => this.sendDigest(i)),
        Math.max(10, h.digest_every * 1000),
      );
      timer.unref();
      this.timers.push(timer);
    });
  }

  /** The LoopListener: `emit: (e) => { progress(e); notifier.handle(e); }`. Never throws. */
  readonly handle = (event: LoopEvent): void => {
    this.safely(() => this.onEvent(event));
  };

  /** Waits until every queued notice was delivered or given up on. */
  async flush(): Promise<void> {
    while (this.pumping) await this.pumping;
  }

  /** Stops the digest timers and waits for the queue. */
  async close(): Promise<void> {
    this.stopTimers();
    this.closed = true;
    await this.flush();
  }

  private safely(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.warnOnce(-1, `notifications: ${(err as Error).message}`);
    }
  }

  private stopTimers(): void {
    for (const t of this.timers) clearInterval(t);
    this.timers.length = 0;
  }

  private onEvent(event: LoopEvent): void {
    if (this.closed) return;
    if (event.type === 'recorded') this.onRecorded(event);
    else if (event.type === 'drift') {
      // Only the start of a drift is news; its end shows in status and the dashboard.
      if (!event.drifting) return;
      const { run } = this.options;
      this.send('drift', {
        kind: 'drift',
        tag: run.tag,
        metric: run.metric_name,
        sentence: event.text,
        incumbent: event.incumbent,
        experimentId: event.experimentId,
      });
    } else if (event.type === 'run-stop') {
      this.stopTimers();
      const s = event.summary;
      const spend = this.options.spend ? safeCall(this.options.spend) : null;
      this.send('stop', {
        kind: 'stop',
        tag: s.tag,
        reason: event.reason,
        metric: s.metric,
        goal: s.goal,
        experiments: s.candidates,
        counts: { ...s.counts },
        baseline: s.baseline,
        best: s.best,
        bestExperiment: s.bestExperiment,
        bestTitle: s.bestTitle,
        improvementPct: s.improvementPct,
        spendUsd: spend,
      });
    }
  }

  private onRecorded(event: Extract<LoopEvent, { type: 'recorded' }>): void {
    const { run } = this.options;
    const e = event.experiment;
    if (event.baselineValue !== null) this.baseline = event.baselineValue;
    const previous = this.best ?? this.baseline;
    this.best = event.incumbent.value;
    if (e.id === 0) return;
    const status = e.status ?? '';
    for (const d of this.digests) {
      d.experiments++;
      if (status === 'keep') d.keeps++;
      if (CRASH_STATUSES.has(status)) d.crashes++;
    }
    if (event.newBest) {
      const value = e.primary_value ?? event.incumbent.value;
      this.send('new-best', {
        kind: 'new-best',
        tag: run.tag,
        metric: run.metric_name,
        goal: run.goal,
        value,
        previous,
        baseline: this.baseline,
        improvementPct: improvementPercent(run.goal, this.baseline, value),
        experimentId: e.id,
        title: e.title ?? event.incumbent.title ?? '',
        ...(event.joinedFront ? { front: { reason: e.reason ?? '' } } : {}),
      });
    }
    if (CRASH_STATUSES.has(status)) {
      this.crashStreak.push({ id: e.id, status, reason: firstLine(e.reason, 160) });
      const n = this.crashStreak.length;
      this.hooks.forEach((h, i) => {
        if (n !== h.crashes_in_a_row || !h.on.includes('crashes')) return;
        const last = this.crashStreak.slice(-Math.min(n, 5));
        this.enqueue(i, 'crashes', { kind: 'crashes', tag: run.tag, count: n, experiments: last });
      });
    } else if (STREAK_BREAKERS.has(status)) this.crashStreak = [];
  }

  private sendDigest(i: number): void {
    const d = this.digests[i]!;
    const now = Date.now();
    const period = Math.round((now - d.since) / 1000);
    const { experiments, keeps, crashes } = d;
    Object.assign(d, { since: now, experiments: 0, keeps: 0, crashes: 0 });
    if (experiments === 0 || this.closed) return;
    const { run } = this.options;
    this.enqueue(i, 'digest', {
      kind: 'digest',
      tag: run.tag,
      metric: run.metric_name,
      goal: run.goal,
      periodSeconds: this.hooks[i]!.digest_every || period,
      experiments,
      keeps,
      crashes,
      best: this.best,
      baseline: this.baseline,
      improvementPct: improvementPercent(run.goal, this.baseline, this.best),
    });
  }

  /** Sends a digest to every webhook that wants one now (e.g. for tests, or on demand). */
  digestNow(): void {
    this.hooks.forEach((h, i) => h.on.includes('digest') && this.safely(() => this.sendDigest(i)));
  }

  private send(kind: NoticeKind, notice: Notice): void {
    this.hooks.forEach((h, i) => h.on.includes(kind) && this.enqueue(i, kind, notice));
  }

  private enqueue(hook: number, kind: NoticeKind, notice: Notice): void {
    this.queue.push({ hook, kind, delivery: buildDelivery(this.hooks[hook]!.format, notice) });
    this.kick();
  }

  /** Starts the background delivery unless it runs; restarts it for notices queued as it finished. */
  private kick(): void {
    if (this.pumping || this.queue.length === 0) return;
    this.pumping = this.pump().finally(() => {
      this.pumping = null;
      this.kick();
    });
  }

  private async pump(): Promise<void> {
    for (let item = this.queue.shift(); item; item = this.queue.shift()) {
      try {
        const failure = await this.deliver(item);
        if (failure)
          this.warnOnce(
            item.hook,
            `webhook ${redactUrl(this.hooks[item.hook]!.url)} (${this.hooks[item.hook]!.format}): could not deliver the ${item.kind} notice: ${failure}`,
          );
      } catch (err) {
        this.warnOnce(
          item.hook,
          `webhook ${redactUrl(this.hooks[item.hook]!.url)}: ${(err as Error).message}`,
        );
      }
    }
  }

  /** Delivers one notice with retries; returns why it failed for good, or null. */
  private async deliver(item: QueueItem): Promise<string | null> {
    const hook = this.hooks[item.hook]!;
    const post = async () => {
      const res = await this.doFetch(hook.url, {
        method: 'POST',
        headers: item.delivery.headers,
        body: item.delivery.body,
        signal: AbortSignal.timeout(this.retry.timeoutMs),
      });
      await res.arrayBuffer().catch(() => undefined);
      if (!res.ok)
        throw new HttpFailure(
          res.status,
          res.statusText,
          retryAfterMs(res.headers.get('retry-after')),
        );
    };
    try {
      await retry(post, {
        attempts: this.retry.attempts,
        delay: { baseMs: this.retry.baseMs, maxMs: this.retry.maxMs },
        // Network errors and timeouts are worth another try; of the answers, only these.
        retryable: (e) =>
          !(e instanceof HttpFailure) || e.status >= 500 || e.status === 429 || e.status === 408,
        retryAfterMs: (e) => (e instanceof HttpFailure ? e.retryAfter : null),
      });
      return null;
    } catch (err) {
      const e = (err instanceof RetryFailure ? err.cause : err) as Error & {
        cause?: { code?: string; message?: string };
      };
      const why =
        e instanceof HttpFailure ? e.message : (e.cause?.code ?? e.cause?.message ?? e.message);
      return err instanceof RetryFailure && err.exhausted
        ? `${why} (after ${err.attempts} tries)`
        : why;
    }
  }

  private warnOnce(hook: number, text: string): void {
    if (this.warned.has(hook)) return;
    this.warned.add(hook);
    try {
      this.options.onWarn?.(text);
    } catch {
      // a warning must not break anything either
    }
  }
}

function safeCall(fn: () => number | null): number | null {
  try {
    const v = fn();
    return typeof v === 'number' && Number.isFinite(v) ? v : null;
  } catch {
    return null;
  }
}
