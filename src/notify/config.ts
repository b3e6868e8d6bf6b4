/** `webhooks:` in program.md front matter: where to send notifications about a run. */
import { DurationSchema } from '../program/zod-types.js';
import { z } from 'zod';

export const NOTICE_KINDS = ['new-best', 'crashes', 'stop', 'digest', 'drift'] as const;
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

const seconds = DurationSchema;

export const WebhookSchema = z.strictObject({
  url: z
    .string()
    .url('a webhook URL such as https://hooks.slack.com/services/...')
    .refine((u) => /^https?:\/\//i.test(u), 'the webhook URL must be http(s)'),
  format: z.enum(['json', 'slack', 'discord', 'ntfy']).default('json'),
  on: z.array(z.enum(NOTICE_KINDS)).min(1).optional(),
  crashes_in_a_row: z.number().int().positive().optional(),
  digest_every: seconds.optional(),
});

/** `webhooks: [{ url, format, on, crashes_in_a_row, digest_every }]`. */
export const WebhooksSchema = z.array(WebhookSchema);
