/** `webhooks:` in program.md front matter: where to send notifications about a run. */
import { z } from 'zod';
import { parseDuration } from '../program/duration.js';

export const NOTICE_KINDS = ['new-best', 'crashes', 'stop', 'digest'] as const;
export type NoticeKind = (typeof NOTICE_KINDS)[number];
export type WebhookFormat = 'json' | 'slack' | 'discord' | 'ntfy';

export interface WebhookConfig {
  url: string;
  format: WebhookFormat;
  /** Which notices to send (default: all). */
  on?: NoticeKind[];
  /** Alert after this many crashes (crash or timeout) in a row (default 3). */
  crashes_in_a_row?: number;
  /** Seconds between digests (default 3600). */
  digest_every?: number;
}

export const DEFAULT_CRASHES_IN_A_ROW = 3;
export const DEFAULT_DIGEST_EVERY = 3600;

const seconds = z.union([z.number(), z.string()]).transform((value, ctx) => {
  const s = parseDuration(value);
  if (s === null || s <= 0) {
    ctx.addIssue({ code: 'custom', message: `expected a duration such as 30m or 1h, got ${JSON.stringify(value)}` });
    return z.NEVER;
  }
  return s;
});

export const WebhookSchema = z.strictObject({
  url: z.string().url('a webhook URL such as https://hooks.slack.com/services/...').refine((u) => /^https?:\/\//i.test(u), 'the webhook URL must be http(s)'),
  format: z.enum(['json', 'slack', 'discord', 'ntfy']).default('json'),
  on: z.array(z.enum(NOTICE_KINDS)).min(1).optional(),
  crashes_in_a_row: z.number().int().positive().optional(),
  digest_every: seconds.optional(),
});

/** `webhooks: [{ url, format, on, crashes_in_a_row, digest_every }]`. */
export const WebhooksSchema = z.array(WebhookSchema);

export type WebhooksSetting = z.output<typeof WebhooksSchema>;
