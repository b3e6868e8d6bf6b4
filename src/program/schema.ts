/**
 * The front matter contract of program.md: what the harness reads. The Markdown body is for the
 * agent. Strict objects everywhere, so a typo is an error with a line number, not a silent default.
 */
import { z } from 'zod';
import { parseDuration } from './duration.js';

const duration = z
  .union([z.number(), z.string()])
  .transform((value, ctx) => {
    const seconds = parseDuration(value);
    if (seconds === null || seconds <= 0) {
      ctx.addIssue({ code: 'custom', message: `expected a duration such as 300s, 5m or 1h, got ${JSON.stringify(value)}` });
      return z.NEVER;
    }
    return seconds;
  });

const pathList = z.array(z.string().min(1)).describe('a list of paths or glob patterns');

export const MetricSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z_][\w.\/-]*$/, 'a metric name is letters, digits, _ . / - (starting with a letter or _)'),
  goal: z.enum(['minimize', 'maximize']),
});

/** `agent: tune` or `agent: { name: command, command: ./propose.sh }`; options belong to the agent. */
export const AgentSchema = z.union([
  z.string().min(1),
  z.looseObject({ name: z.string().min(1) }),
]);

export const StopSchema = z.strictObject({
  experiments: z.number().int().positive().optional(),
  hours: z.number().positive().optional(),
  agent_failures: z.number().int().positive().default(5),
});

export const EnvSchema = z.strictObject({
  /** Secret variables the experiment is allowed to see (stripped by default). */
  allow: z.array(z.string()).default([]),
  /** More variable names to strip, beyond the built-in list of API keys. */
  secrets: z.array(z.string()).default([]),
  /** Variables set for every experiment. */
  set: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]).transform(String)).default({}),
});

export const FrontMatterSchema = z.strictObject({
  metric: MetricSchema,
  run: z.string().min(1),
  budget: duration.default(300),
  timeout: duration.optional(),
  kill_grace: duration.default(10),
  editable: pathList.min(1, 'list at least one file the agent may change'),
  protected: pathList.default([]),
  agent: AgentSchema.optional(),
  stop: StopSchema.default({ agent_failures: 5 }),
  slots: z.number().int().positive().max(256).default(1),
  metrics_file: z.string().min(1).optional(),
  env: EnvSchema.default({ allow: [], secrets: [], set: {} }),
  /** The tune agent's search space; validated by the tune agent, which owns its shape. */
  search: z.unknown().optional(),
});

export type FrontMatter = z.output<typeof FrontMatterSchema>;
export type AgentSetting = z.output<typeof AgentSchema>;

export const KNOWN_KEYS: Record<string, string[]> = {
  '': Object.keys(FrontMatterSchema.shape),
  metric: Object.keys(MetricSchema.shape),
  stop: Object.keys(StopSchema.shape),
  env: Object.keys(EnvSchema.shape),
};

/** Variables never passed to experiments unless `env.allow` names them. */
export const DEFAULT_SECRETS = [
  'ANTHROPIC_API_KEY',
  'ANTHROPIC_AUTH_TOKEN',
  'OPENAI_API_KEY',
  'OPENROUTER_API_KEY',
  'GEMINI_API_KEY',
  'GOOGLE_API_KEY',
  'MISTRAL_API_KEY',
  'GROQ_API_KEY',
  'DEEPSEEK_API_KEY',
  'XAI_API_KEY',
  'TOGETHER_API_KEY',
  'HF_TOKEN',
  'GITHUB_TOKEN',
  'GH_TOKEN',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
];
