export { WebhookSchema, WebhooksSchema, NOTICE_KINDS, type WebhookConfig, type WebhookFormat, type NoticeKind, type WebhooksSetting } from './config.js';
export { buildDelivery, jsonPayload, slackPayload, discordPayload, ntfyPayload, plainText, type Notice, type Delivery } from './payloads.js';
export { Notifier, redactUrl, type NotifierOptions, type RetryOptions } from './notifier.js';
