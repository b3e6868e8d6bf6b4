import { describe, expect, it } from 'vitest';
import { WebhooksSchema } from '../../src/notify/config.js';
import {
  buildDelivery,
  discordPayload,
  jsonPayload,
  ntfyPayload,
  slackPayload,
  type Notice,
} from '../../src/notify/payloads.js';

const notices: { [K in Notice['kind']]: Extract<Notice, { kind: K }> } = {
  'new-best': {
    kind: 'new-best',
    tag: 'apr',
    metric: 'val_bpb',
    goal: 'minimize',
    value: 0.97,
    previous: 0.99,
    baseline: 1,
    improvementPct: 3,
    experimentId: 14,
    title: 'raise lr <b>"fast"</b> & warmup',
  },
  crashes: {
    kind: 'crashes',
    tag: 'apr',
    count: 3,
    experiments: [
      { id: 4, status: 'crash', reason: 'CUDA out of memory' },
      { id: 5, status: 'timeout', reason: 'killed after 330s' },
      { id: 6, status: 'crash', reason: 'NaN loss' },
    ],
  },
  stop: {
    kind: 'stop',
    tag: 'apr',
    reason: 'reached 40 experiments',
    metric: 'val_bpb',
    goal: 'minimize',
    experiments: 40,
    counts: { keep: 5, discard: 30, crash: 5 },
    baseline: 1,
    best: 0.95,
    bestExperiment: 31,
    bestTitle: 'swiglu',
    improvementPct: 5,
    spendUsd: 1.234,
  },
  digest: {
    kind: 'digest',
    tag: 'apr',
    metric: 'val_bpb',
    goal: 'minimize',
    periodSeconds: 3600,
    experiments: 12,
    keeps: 2,
    crashes: 1,
    best: 0.96,
    baseline: 1,
    improvementPct: 4,
  },
};

describe('notification payloads', () => {
  it('generic JSON carries every number and a text', () => {
    const b = jsonPayload(notices['new-best']);
    expect(b).toMatchObject({
      source: 'autoresearch',
      kind: 'new-best',
      value: 0.97,
      baseline: 1,
      improvementPct: 3,
      experimentId: 14,
      metric: 'val_bpb',
    });
    expect(b.text).toContain('new best val_bpb 0.97 (+3.00% vs baseline)');
    expect(b.text).toContain('#14: raise lr <b>"fast"</b> & warmup');
    // Pareto mode: a join is announced as one, with the reason that names the metrics.
    const reason = 'kept: joins the front (2 points): no member is as good on every metric';
    const joined = jsonPayload({ ...notices['new-best'], front: { reason } });
    expect(joined.text).toContain('[apr] #14 joins the Pareto front');
    expect(joined.text).toContain(reason);
    expect(joined.text).not.toContain('new best');
    const stop = jsonPayload(notices.stop);
    expect(stop).toMatchObject({
      experiments: 40,
      counts: { keep: 5, discard: 30, crash: 5 },
      best: 0.95,
      spendUsd: 1.234,
    });
    expect(stop.text).toContain('40 experiments (5 keep, 30 discard, 5 crash)');
    expect(stop.text).toContain('spend $1.23');
    const d = buildDelivery('json', notices.crashes);
    expect(d.headers['Content-Type']).toBe('application/json');
    expect(JSON.parse(d.body).text).toContain('#5 timeout: killed after 330s');
  });

  it('Slack gets text and blocks, with <, >, & escaped as Slack asks', () => {
    for (const n of Object.values(notices)) {
      const p = slackPayload(n);
      expect(p.text.length).toBeGreaterThan(10);
      expect(p.blocks.length).toBeGreaterThanOrEqual(1);
    }
    const p = slackPayload(notices['new-best']);
    expect(p.text).toContain('raise lr &lt;b&gt;"fast"&lt;/b&gt; &amp; warmup');
    expect(p.text).not.toContain('<b>');
    expect(slackPayload(notices.digest).text).toContain('last 1h: 12 experiments, 2 kept');
    expect(slackPayload(notices.stop).text).toContain('baseline 1 → best 0.95 (+5.00%)');
  });

  it('Discord gets content and an embed, and never pings anyone', () => {
    for (const n of Object.values(notices)) {
      const p = discordPayload(n);
      expect(p.content.length).toBeGreaterThan(5);
      expect(p.embeds).toHaveLength(1);
      expect(p.allowed_mentions).toEqual({ parse: [] });
    }
    const p = discordPayload(notices.crashes) as {
      embeds: { description: string; color: number }[];
    };
    expect(p.embeds[0]!.description.split('\n')).toHaveLength(3);
    expect(p.embeds[0]!.description).toContain('#6 crash: NaN loss');
  });

  it('ntfy gets a plain body with Title, Tags and Priority headers, one line of ASCII each', () => {
    for (const n of Object.values(notices)) {
      const d = ntfyPayload(n);
      expect(d.headers.Title).toMatch(/^[\x20-\x7e]+$/);
      expect(d.headers.Tags).toMatch(/^\w+$/);
      expect(d.headers.Priority).toMatch(/^[1-5]$/);
      expect(d.body.length).toBeGreaterThan(0);
    }
    expect(ntfyPayload(notices.crashes).headers.Title).toBe('[apr] 3 crashes in a row');
    expect(ntfyPayload(notices.crashes).body).toContain('#4 crash: CUDA out of memory');
    // Non-ASCII titles travel as an RFC 2047 encoded word.
    const title = ntfyPayload({ ...notices.stop, reason: 'arrêt\ndemandé' }).headers.Title;
    expect(title).toMatch(/^=\?UTF-8\?B\?[A-Za-z0-9+/=]+\?=$/);
    expect(Buffer.from(title.slice(10, -2), 'base64').toString('utf8')).toBe(
      '[apr] run stopped: arrêt',
    );
  });

  it('the webhooks schema applies durations and rejects nonsense', () => {
    const ok = WebhooksSchema.parse([
      { url: 'https://ntfy.sh/x', format: 'ntfy', on: ['stop', 'digest'], digest_every: '1h30m' },
      { url: 'http://127.0.0.1:9/hook' },
    ]);
    expect(ok[0]).toMatchObject({ format: 'ntfy', digest_every: 5400 });
    expect(ok[1]!.format).toBe('json');
    expect(WebhooksSchema.safeParse([{ url: 'https://x.test', format: 'teams' }]).success).toBe(
      false,
    );
    expect(
      WebhooksSchema.safeParse([{ url: 'https://x.test', digest_every: 'soon' }]).success,
    ).toBe(false);
    expect(WebhooksSchema.safeParse([{ url: 'ftp://x.test' }]).success).toBe(false);
    expect(WebhooksSchema.safeParse([{ url: 'https://x.test', on: ['everything'] }]).success).toBe(
      false,
    );
  });
});
