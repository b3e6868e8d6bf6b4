import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ExperimentRow } from '../../src/ledger/types.js';
import type { LoopEvent } from '../../src/loop/events.js';
import type { RunSummary } from '../../src/loop/summary.js';
import type { WebhookConfig } from '../../src/notify/config.js';
import { Notifier } from '../../src/notify/notifier.js';

interface Hit {
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
}

let server: Server | null = null;

/** A real HTTP server on 127.0.0.1 answering with `statuses` in turn (then 200). */
async function hookServer(
  statuses: number[] = [],
): Promise<{ url: string; hits: Hit[]; tries: () => number }> {
  const hits: Hit[] = [];
  let tries = 0;
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      const status = statuses[tries++] ?? 200;
      if (status === 200) hits.push({ path: req.url ?? '', headers: req.headers, body });
      if (status === 429) res.setHeader('Retry-After', '0');
      res.writeHead(status).end(status === 200 ? 'ok' : 'no');
    });
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    hits,
    tries: () => tries,
  };
}

afterEach(async () => {
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  server = null;
});

const RUN = { tag: 'apr', metric_name: 'loss', goal: 'minimize' as const };

function row(
  id: number,
  status: ExperimentRow['status'],
  value: number | null,
  extra: Partial<ExperimentRow> = {},
): ExperimentRow {
  return {
    run_tag: 'apr',
    id,
    slot: 0,
    state: 'recorded',
    status,
    reason: null,
    title: `exp ${id}`,
    primary_value: value,
    recorded_at: Date.now(),
    ...extra,
  } as unknown as ExperimentRow;
}

function recorded(e: ExperimentRow, incumbent: number, newBest: boolean): LoopEvent {
  return {
    type: 'recorded',
    experiment: e,
    incumbent: { experimentId: e.id, commit: 'abc', value: incumbent, title: e.title ?? '' },
    baselineValue: 1,
    newBest,
    joinedFront: false,
    candidates: 1,
  };
}

function notifier(webhooks: WebhookConfig[], warnings: string[] = []): Notifier {
  return new Notifier({
    webhooks,
    run: RUN,
    onWarn: (t) => warnings.push(t),
    retry: { baseMs: 5, maxMs: 50, timeoutMs: 2000 },
    spend: () => 0.42,
  });
}

const SUMMARY: RunSummary = {
  tag: 'apr',
  branch: 'autoresearch/apr',
  state: 'finished',
  stopReason: 'reached 3 experiments',
  metric: 'loss',
  goal: 'minimize',
  baseline: 1,
  best: 0.8,
  bestCommit: 'abc',
  bestExperiment: 2,
  bestTitle: 'smaller lr',
  improvementPct: 20,
  candidates: 3,
  counts: { keep: 1, discard: 1, crash: 1 },
  inFlight: [],
  lastRecorded: null,
};

describe('Notifier against a real local HTTP server', () => {
  it('delivers a new best', async () => {
    const { url, hits } = await hookServer();
    const n = notifier([{ url, format: 'json' }]);
    n.handle(recorded(row(0, 'keep', 1), 1, false));
    n.handle(recorded(row(1, 'discard', 1.2), 1, false));
    n.handle(recorded({ ...row(2, 'keep', 0.8), title: 'smaller lr' }, 0.8, true));
    await n.close();
    expect(hits).toHaveLength(1);
    const body = JSON.parse(hits[0]!.body);
    expect(body).toMatchObject({
      kind: 'new-best',
      tag: 'apr',
      metric: 'loss',
      value: 0.8,
      previous: 1,
      baseline: 1,
      experimentId: 2,
      title: 'smaller lr',
    });
    expect(body.improvementPct).toBeCloseTo(20);
  });

  it('says when the machine starts to drift, with the sentence, and not when it ends', async () => {
    const { url, hits } = await hookServer();
    const n = notifier([
      { url, format: 'json' },
      { url, format: 'slack', on: ['new-best'] },
    ]);
    const sentence =
      "drift: the incumbent measures +100% since run 15 compared with before (z=46; noise 1% a run); the machine's speed changed";
    n.handle({ type: 'drift', drifting: true, text: sentence, experimentId: 4, incumbent: 2 });
    n.handle({
      type: 'drift',
      drifting: false,
      text: "no drift: the incumbent's 9 runs agree within the noise",
      experimentId: 9,
      incumbent: 2,
    });
    await n.close();
    expect(hits).toHaveLength(1); // the slack hook did not ask for drift
    const body = JSON.parse(hits[0]!.body);
    expect(body).toMatchObject({
      kind: 'drift',
      tag: 'apr',
      metric: 'loss',
      sentence,
      incumbent: 2,
      experimentId: 4,
    });
    expect(body.text).toBe(
      `[apr] the machine drifts: loss of the incumbent moved beyond the noise\n${sentence}\nseen at #4 on the incumbent #2; until it ends, every candidate is measured next to a fresh run of the incumbent`,
    );
  });

  it('sends one crash alert for 3 crashes in a row, and another only after a new streak', async () => {
    const { url, hits } = await hookServer();
    const n = notifier([{ url, format: 'ntfy' }]);
    n.handle(
      recorded(
        { ...row(1, 'crash', null), reason: 'Traceback (most recent call last):\n  boom' },
        1,
        false,
      ),
    );
    n.handle(recorded({ ...row(2, 'timeout', null), reason: 'killed after 10s' }, 1, false));
    n.handle(recorded({ ...row(3, 'failed', null), reason: 'agent failed' }, 1, false)); // neutral
    n.handle(recorded({ ...row(4, 'crash', null), reason: 'OOM' }, 1, false));
    n.handle(recorded({ ...row(5, 'crash', null), reason: 'OOM again' }, 1, false)); // 4th: no second alert
    await n.flush();
    expect(hits).toHaveLength(1);
    expect(hits[0]!.headers.title).toBe('[apr] 3 crashes in a row');
    expect(hits[0]!.headers.priority).toBe('4');
    expect(hits[0]!.body).toBe(
      '#1 crash: Traceback (most recent call last):\n#2 timeout: killed after 10s\n#4 crash: OOM',
    );
    n.handle(recorded(row(6, 'discard', 1.1), 1, false));
    for (const id of [7, 8]) n.handle(recorded(row(id, 'crash', null), 1, false));
    await n.flush();
    expect(hits).toHaveLength(1);
    n.handle(recorded(row(9, 'crash', null), 1, false));
    await n.close();
    expect(hits).toHaveLength(2);
  });

  it('retries a 500 and a 429, and delivers once', async () => {
    const { url, hits, tries } = await hookServer([500, 429]);
    const warnings: string[] = [];
    const n = notifier([{ url, format: 'slack' }], warnings);
    n.handle(recorded(row(1, 'keep', 0.9), 0.9, true));
    await n.close();
    expect(tries()).toBe(3);
    expect(hits).toHaveLength(1);
    expect(JSON.parse(hits[0]!.body).text).toContain('new best loss 0.9');
    expect(warnings).toEqual([]);
  });

  it('warns once, never throws and never blocks for a URL that always fails', async () => {
    const warnings: string[] = [];
    const { url } = await hookServer();
    await new Promise<void>((r) => server!.close(() => r())); // nothing listens there now
    server = null;
    const n = notifier(
      [{ url: url.replace('/hook', '/secret-token'), format: 'discord' }],
      warnings,
    );
    expect(() => {
      n.handle(recorded(row(1, 'keep', 0.9), 0.9, true));
      n.handle(recorded(row(2, 'keep', 0.8), 0.8, true));
      n.handle({ type: 'run-stop', reason: 'done', summary: SUMMARY });
    }).not.toThrow();
    // handle() returned before the deliveries gave up: they go on in the background.
    expect(warnings).toEqual([]);
    await n.close();
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('could not deliver the new-best notice');
    expect(warnings[0]).toContain('after 5 tries');
    expect(warnings[0]).not.toContain('secret-token');
  });

  it('gives up at once on a 404 and says so', async () => {
    const { url, tries } = await hookServer([404, 404, 404]);
    const warnings: string[] = [];
    const n = notifier([{ url, format: 'json' }], warnings);
    n.handle(recorded(row(1, 'keep', 0.9), 0.9, true));
    await n.close();
    expect(tries()).toBe(1);
    expect(warnings[0]).toContain('HTTP 404');
  });

  it('delivers the run summary on stop, and only the kinds a webhook asks for', async () => {
    const { url, hits } = await hookServer();
    const n = notifier([{ url, format: 'json', on: ['stop'] }]);
    n.handle(recorded(row(1, 'keep', 0.8), 0.8, true));
    n.handle({ type: 'note', level: 'warn', text: 'hello' });
    n.handle({ type: 'run-stop', reason: 'reached 3 experiments', summary: SUMMARY });
    await n.close();
    expect(hits).toHaveLength(1);
    const body = JSON.parse(hits[0]!.body);
    expect(body).toMatchObject({
      kind: 'stop',
      reason: 'reached 3 experiments',
      experiments: 3,
      counts: { keep: 1, discard: 1, crash: 1 },
      baseline: 1,
      best: 0.8,
      improvementPct: 20,
      spendUsd: 0.42,
    });
    expect(body.text).toContain('spend $0.42');
  });

  it('sends a digest of the experiments since the last one, on its timer', async () => {
    const { url, hits } = await hookServer();
    // The digest timer ticks when the test says so; the deliveries are real.
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const n = notifier([{ url, format: 'json', on: ['digest'], digest_every: 60 }]);
    n.handle(recorded(row(0, 'keep', 1), 1, false));
    n.handle(recorded(row(1, 'keep', 0.9), 0.9, true));
    n.handle(recorded(row(2, 'discard', 0.95), 0.9, false));
    n.handle(recorded(row(3, 'crash', null), 0.9, false));
    vi.advanceTimersByTime(60_000);
    vi.advanceTimersByTime(60_000);
    await n.close();
    vi.useRealTimers();
    expect(hits).toHaveLength(1); // the second tick had nothing new to say
    expect(JSON.parse(hits[0]!.body)).toMatchObject({
      kind: 'digest',
      experiments: 3,
      keeps: 1,
      crashes: 1,
      best: 0.9,
      baseline: 1,
    });
  });
});
