/**
 * The front matter contract of program.md: what the harness reads. The Markdown body is for the
 * agent. Strict objects everywhere, so a typo is an error with a line number, not a silent default.
 */
import { z } from 'zod';
import { DurationSchema } from './zod-types.js';
import { WebhooksSchema } from '../notify/config.js';
import { METRIC_NAME, METRIC_NAME_PATTERN } from '../metrics/line.js';

const duration = DurationSchema;

const pathList = z.array(z.string().min(1)).describe('a list of paths or glob patterns');

const MetricSchema = z.strictObject({
  name: z
    .string()
    .regex(
      METRIC_NAME_PATTERN,
      'a metric name is letters (any alphabet, e.g. total_µs), digits, _ . / - (starting with a letter or _)',
    ),
  goal: z.enum(['minimize', 'maximize']),
  /** The same code always gives the same value: one run each, keep on any improvement above `tolerance`. */
  deterministic: z.boolean().default(false),
  tolerance: z.number().nonnegative().default(0),
});

export type MetricSpec = z.output<typeof MetricSchema>;

/**
 * Pareto mode: `metric: [{ name: ms_per_op, goal: minimize }, { name: heap_mb, goal: minimize }]`.
 * A candidate joins the front when no member is as good or better, beyond the noise, on every
 * metric (policy/pareto.ts). The first metric is the primary one (the chart, results.tsv).
 */
const MetricListSchema = z
  .array(MetricSchema)
  .min(
    2,
    'list at least two metrics for Pareto mode, or write one as `metric: { name: val_bpb, goal: minimize }`',
  )
  .max(8, 'at most 8 metrics: a front over more is nearly every candidate')
  .superRefine((list, ctx) => {
    const seen = new Set<string>();
    list.forEach((m, i) => {
      if (seen.has(m.name))
        ctx.addIssue({
          code: 'custom',
          path: [i, 'name'],
          message: `${m.name} is listed twice: each metric of the front once`,
        });
      seen.add(m.name);
    });
  });

const BYTE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1024,
  kb: 1024,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1024 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1024 ** 3,
  gib: 1024 ** 3,
  t: 1024 ** 4,
  tb: 1024 ** 4,
};

/** `4GB`, `512MB`, `1.5G`, or a number of bytes. */
function parseBytes(value: string | number): number | null {
  if (typeof value === 'number') return Number.isFinite(value) && value > 0 ? value : null;
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(value);
  const unit = m ? BYTE_UNITS[m[2]!.toLowerCase()] : undefined;
  return m && unit ? Math.round(Number(m[1]) * unit) : null;
}

const bytes = z.union([z.number(), z.string()]).transform((value, ctx) => {
  const n = parseBytes(value);
  if (n === null) {
    ctx.addIssue({
      code: 'custom',
      message: `expected a size such as 4GB or 512MB, got ${JSON.stringify(value)}`,
    });
    return z.NEVER;
  }
  return n;
});

/** A file inside the repository, relative to its root: no absolute path, no `..`, not in .git. */
function insideRepo(path: string): boolean {
  const parts = path.split(/[\\/]+/);
  return (
    !/^([\\/]|[A-Za-z]:)/.test(path) &&
    !parts.includes('..') &&
    parts[0] !== '.git' &&
    parts.at(-1) !== '' &&
    parts.at(-1) !== '.'
  );
}

/** `memory_gb <= 60`: a secondary metric that must hold for a candidate to be kept. */
export const CONSTRAINT_PATTERN = new RegExp(
  String.raw`^\s*(${METRIC_NAME})\s*(<=|<|>=|>|==|!=)\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*$`,
  'u',
);

const RepeatsSchema = z.strictObject({
  /** Runs of the baseline, to measure the noise (default 3, or 1 for a deterministic metric). */
  baseline: z.number().int().min(1).max(50).optional(),
  /** Noisy metrics: the most pairs (candidate run, incumbent run) a candidate that looks better gets (default 3, or 1). */
  max: z.number().int().min(1).max(50).optional(),
  /**
   * Noisy metrics: a keep needs at least this many runs of the candidate, each next to a run of
   * the incumbent (A B B A ...), so one lucky run never keeps and a drift of the machine cancels.
   */
  confirm: z.number().int().min(2).max(50).default(2),
  /**
   * Noisy metrics: a candidate's first run that is not better than the incumbent's newest runs is
   * discarded on that run only while those runs are at most this many experiments old; older
   * (or while drift is detected), the incumbent is measured again next to it.
   */
  refresh_incumbent: z.number().int().nonnegative().default(5),
});

const DecisionSchema = z.strictObject({
  /** Confidence of the one-sided paired t-test that the candidate is better. */
  confidence: z.number().gt(0.5).lt(1).default(0.95),
  /** The smallest improvement worth keeping, in metric units. */
  min_effect: z.number().nonnegative().default(0),
});

const command = z.union([
  z.string().min(1),
  z.strictObject({ run: z.string().min(1), timeout: duration.optional() }),
]);

/** `eval:` may also read the `hidden:` paths (an answer key), when it says so. */
const evalCommand = z.union([
  z.string().min(1),
  z.strictObject({
    run: z.string().min(1),
    timeout: duration.optional(),
    reads_hidden: z.boolean().default(false),
  }),
]);

/** `10%` of the budget (at least 5 s), or a duration such as `30s`. */
const grace = z.union([z.number(), z.string()]).transform((value, ctx) => {
  const percent = typeof value === 'string' ? /^\s*(\d+(?:\.\d+)?)\s*%\s*$/.exec(value) : null;
  if (percent) return { percent: Number(percent[1]) };
  const seconds = DurationSchema.safeParse(value);
  if (!seconds.success) {
    ctx.addIssue({
      code: 'custom',
      message: `expected a percentage of the budget such as 10% or a duration such as 30s, got ${JSON.stringify(value)}`,
    });
    return z.NEVER;
  }
  return { seconds: seconds.data };
});

/** Seconds a run may exceed its budget before it ends as "over budget". */
export function graceSeconds(
  budget: number,
  setting: { percent: number } | { seconds: number },
): number {
  return 'seconds' in setting ? setting.seconds : Math.max(5, (budget * setting.percent) / 100);
}

/** `agent: tune` or `agent: { name: command, command: ./propose.sh }`; options belong to the agent. */
const AgentSchema = z.union([z.string().min(1), z.looseObject({ name: z.string().min(1) })]);

const StopSchema = z.strictObject({
  experiments: z.number().int().positive().optional(),
  hours: z.number().positive().optional(),
  agent_failures: z.number().int().positive().default(5),
  /** Skipped proposals (duplicates, no change) in a row that end the run: the agent finds nothing new. */
  skips_in_a_row: z.number().int().positive().default(10),
  /** Hard cap on the agent's spend in US dollars, checked before each proposal. */
  spend_usd: z.number().positive().optional(),
  /** Hard cap on the agent's tokens (input + output), checked before each proposal. */
  tokens: z.number().int().positive().optional(),
});

const PriceSchema = z.strictObject({
  input: z.number().nonnegative(),
  output: z.number().nonnegative(),
  cached_input: z.number().nonnegative().optional(),
  /** Input written to the prompt cache (Anthropic: 1.25x input); defaults to `input`. */
  cache_write: z.number().nonnegative().optional(),
});

const EnvSchema = z.strictObject({
  /** Secret variables the experiment is allowed to see (stripped by default). */
  allow: z.array(z.string()).default([]),
  /** More variable names to strip, beyond the built-in list of API keys. */
  secrets: z.array(z.string()).default([]),
  /** Variables set for every experiment. */
  set: z
    .record(z.string(), z.union([z.string(), z.number(), z.boolean()]).transform(String))
    .default({}),
});

/**
 * Which experiment the next candidate is built on (search/parents.ts): `parents: tree` or
 * `parents: { strategy: islands, islands: 4 }`. Not `search:`, which is the tune agent's space.
 */
const ParentsObject = z.strictObject({
  strategy: z.enum(['greedy', 'tree', 'islands'], {
    error: 'expected greedy (build on the incumbent), tree or islands',
  }),
  /** tree: repair attempts along one chain of crashed experiments. */
  repairs: z.number().int().nonnegative().max(10).default(1),
  /** tree: weight of the bonus for experiments with few children (0: always the best one). */
  explore: z.number().nonnegative().max(10).default(0.05),
  /** islands: how many sub-populations. */
  islands: z.number().int().min(2).max(32).default(3),
  /** islands: every this many experiments the global best becomes the parent on the worst island (0: never). */
  migrate_every: z.number().int().nonnegative().default(10),
});

const meterMetric = z
  .string()
  .regex(METRIC_NAME_PATTERN, 'name a metric the experiment prints, e.g. eval_cost_usd');

/**
 * `meter: { usd: eval_cost_usd, tokens: eval_tokens }`: metrics an experiment prints about its
 * own spend (model calls), summed into the run's spend and its `stop` caps.
 */
const MeterSchema = z
  .strictObject({ usd: meterMetric.optional(), tokens: meterMetric.optional() })
  .refine((m) => m.usd !== undefined || m.tokens !== undefined, {
    message: 'name at least one metric: `meter: { usd: eval_cost_usd, tokens: eval_tokens }`',
  });

/** The roles a `cache:` folder is mounted into: never `run` or the agent, which could forge answers. */
const CACHE_ROLES = ['eval', 'holdout'] as const;

const CacheObject = z.strictObject({
  roles: z
    .array(
      z.string().refine((r) => (CACHE_ROLES as readonly string[]).includes(r), {
        message:
          'the cache is mounted only into `eval` and `holdout`: `run` and the agent could forge cached answers',
      }),
    )
    .min(1, 'list eval, holdout or both')
    .transform((roles) => roles as Array<(typeof CACHE_ROLES)[number]>),
});

const CacheSchema = z
  .union([z.boolean(), CacheObject], {
    error: 'expected `cache: true` or `cache: { roles: [eval, holdout] }`',
  })
  .transform((v) => (v === false ? null : v === true ? { roles: [...CACHE_ROLES] } : v));

const ParentsSchema = z
  .union([z.enum(['greedy', 'tree', 'islands']), ParentsObject], {
    error: 'expected greedy, tree, islands, or { strategy: tree, repairs: 1 }',
  })
  .transform((v) => ParentsObject.parse(typeof v === 'string' ? { strategy: v } : v));

export const FrontMatterSchema = z.strictObject({
  metric: MetricSchema,
  run: z.string().min(1),
  budget: duration.default(300),
  timeout: duration.optional(),
  kill_grace: duration.default(10),
  editable: pathList.min(1, 'list at least one file the agent may change'),
  protected: pathList.default([]),
  agent: AgentSchema.optional(),
  stop: StopSchema.default({ agent_failures: 5, skips_in_a_row: 10 }),
  /** Experiments at once, one worktree each (default: one per device, else 1). */
  slots: z.number().int().positive().max(256).optional(),
  /** Devices handed out one per slot, e.g. [0, 1, 2, 3] or ["0,1", "2,3"]. */
  devices: z
    .array(z.union([z.string().min(1), z.number().int().nonnegative()]).transform(String))
    .min(1)
    .optional(),
  /** The variable that gets a slot's device, or a map of variables to templates with {device} and {slot}. */
  device_env: z
    .union([
      z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'a variable name such as CUDA_VISIBLE_DEVICES'),
      z.record(z.string(), z.string()),
    ])
    .default('CUDA_VISIBLE_DEVICES'),
  /** The most tokens (about 4 characters each) a brief may take; older history is summarized first. */
  brief_tokens: z.number().int().min(500).default(8000),
  /** Secondary metrics the run prints, shown per experiment in the brief's history (e.g. memory next to the score). */
  brief_metrics: z
    .array(
      z
        .string()
        .regex(
          METRIC_NAME_PATTERN,
          'a metric name is letters (any alphabet), digits, _ . / - (starting with a letter or _), as the run prints it, e.g. peak_vram_mb',
        ),
    )
    .max(8, 'at most 8 metrics: each is a column of every history row in the brief')
    .default([]),
  /**
   * A candidate that makes the same change as a discarded one (normalized diffs alike, whatever
   * its title or numbers): `flag` runs it and tells the next brief, `strict` skips it, `off`.
   */
  novelty: z.enum(['off', 'flag', 'strict']).default('flag'),
  /** Experiments in a row without a keep after which the brief asks for a structurally different idea and tune explores more. */
  plateau_after: z.number().int().positive().default(10),
  /** Model prices in US dollars per million tokens, keyed "provider:model" (overrides the built-in table). */
  prices: z.record(z.string(), PriceSchema).default({}),
  /** Notifications: a new best, crashes in a row, the run stopping, a periodic digest. */
  webhooks: WebhooksSchema.default([]),
  /** Let the agent prepare the next candidate while the current one runs (the accelerator never waits for the agent). */
  pipeline: z.boolean().default(false),
  /** Where experiments run: local processes, or Slurm jobs. */
  executor: z.enum(['local', 'slurm']).default('local'),
  slurm: z
    .strictObject({
      partition: z.string().min(1).optional(),
      gres: z.string().min(1).optional(),
      account: z.string().min(1).optional(),
      /** Slurm's own time limit, a backstop (minutes granularity); the budget is enforced inside the job. */
      time: z.string().min(1).optional(),
      /** Extra sbatch options, e.g. ["--qos=high", "--constraint=a100"]. */
      sbatch: z.array(z.string()).default([]),
      poll: duration.default(0.5),
      /**
       * A folder the compute nodes see (the cluster's shared filesystem) for worktrees and
       * experiment folders, when the repository itself is not on it. Relative to program.md.
       */
      shared_dir: z.string().min(1).optional(),
    })
    .default({ sbatch: [], poll: 0.5 }),
  /** Re-measure a winner that was re-based onto a newer incumbent before the branch moves (default: unless deterministic). */
  verify_rebased: z.boolean().optional(),
  metrics_file: z.string().min(1).optional(),
  /** Where results.tsv is written, relative to the repository root (default: .autoresearch/<tag>/results.tsv). */
  results_tsv: z
    .string()
    .min(1)
    .refine(
      insideRepo,
      'write a file path inside the repository, relative to its root, e.g. `results_tsv: results.tsv`',
    )
    .optional(),
  env: EnvSchema.default({ allow: [], secrets: [], set: {} }),
  /** The tune agent's search space; validated by the tune agent, which owns its shape. */
  search: z
    .unknown()
    .optional()
    .superRefine((v, ctx) => {
      const strategy = (v as { strategy?: unknown } | null | undefined)?.strategy;
      if (strategy === 'greedy' || strategy === 'tree' || strategy === 'islands')
        ctx.addIssue({
          code: 'custom',
          path: ['strategy'],
          message: `choosing parents is \`parents: ${strategy}\` at the top level; \`search:\` is the tune agent's search space`,
        });
    }),
  /** Which experiment each candidate is built on: greedy (the incumbent), tree, islands. */
  parents: ParentsSchema.default({
    strategy: 'greedy',
    repairs: 1,
    explore: 0.05,
    islands: 3,
    migrate_every: 10,
  }),
  repeats: RepeatsSchema.default({ refresh_incumbent: 5, confirm: 2 }),
  decision: DecisionSchema.default({ confidence: 0.95, min_effect: 0 }),
  /** Metrics the experiment prints about its own spend, counted into the run's spend and caps. */
  meter: MeterSchema.optional(),
  /** A folder kept across experiments ($AUTORESEARCH_CACHE), for `eval` and `holdout` only. */
  cache: CacheSchema.default(null),
  /** Cheap checks (tests, lint, type-check) run before the experiment; failing -> invalid. */
  checks: command.optional(),
  /** Protected command that computes the metric from what the run produced; the run's own output is then ignored. */
  eval: evalCommand.optional(),
  /** Protected command run on kept candidates only; its metrics are recorded as the holdout. */
  holdout: command.optional(),
  /** Secondary metrics that must hold, e.g. ["memory_gb <= 60", "p99_ms <= 20"]. */
  constraints: z
    .array(
      z
        .string()
        .regex(
          CONSTRAINT_PATTERN,
          'write a constraint as `name <= number` (operators <=, <, >=, >, ==, !=)',
        ),
    )
    .default([]),
  /** Penalty in metric units per net added line of code (deleting lines earns it back). */
  simplicity: z.number().nonnegative().default(0),
  /** auto: seal agents and experiments where bubblewrap works, say "unsealed" elsewhere; required: refuse to run unsealed; off. */
  sandbox: z.enum(['auto', 'required', 'off']).default('auto'),
  /** Paths (holdout data, answer keys) no agent or run may read; only `holdout` (and `eval` with reads_hidden) see them. */
  hidden: pathList.default([]),
  /** Ignored paths of your checkout (node_modules, a dataset cache) every sealed process sees, read-only, in its worktree. */
  keep_ignored: pathList.default([]),
  /** What the run writes that `eval` and `holdout` may read (a checkpoint, predictions); nothing else crosses over. */
  artifacts: pathList.default([]),
  /** The largest file a candidate may add or change. */
  max_file_bytes: bytes.default(10 * 1024 * 1024),
  /** How far past `budget` a run may go before it ends as "over budget" (`timeout` stays the hard kill). */
  budget_grace: grace.default({ percent: 10 }),
  limits: z
    .strictObject({
      memory: bytes.optional(),
      processes: z.number().int().positive().optional(),
      network: z.boolean().default(true),
    })
    .default({ network: true }),
});

/** The front matter of Pareto mode: `metric:` is a list (program.ts picks the schema by its shape). */
export const ParetoFrontMatterSchema = FrontMatterSchema.extend({ metric: MetricListSchema });

export type FrontMatter = z.output<typeof FrontMatterSchema>;
export type CommandSetting = z.output<typeof command>;

/** A command setting as `{ run, timeout }`, the timeout defaulting to the program's hard timeout. */
export function commandOf(
  setting: CommandSetting | undefined,
  fallbackTimeout: number,
): { run: string; timeout: number } | null {
  if (setting === undefined) return null;
  return typeof setting === 'string'
    ? { run: setting, timeout: fallbackTimeout }
    : { run: setting.run, timeout: setting.timeout ?? fallbackTimeout };
}

export const KNOWN_KEYS: Record<string, string[]> = {
  '': Object.keys(FrontMatterSchema.shape),
  metric: Object.keys(MetricSchema.shape),
  stop: Object.keys(StopSchema.shape),
  env: Object.keys(EnvSchema.shape),
  repeats: Object.keys(RepeatsSchema.shape),
  decision: Object.keys(DecisionSchema.shape),
  limits: ['memory', 'processes', 'network'],
  parents: Object.keys(ParentsObject.shape),
  meter: ['usd', 'tokens'],
  cache: ['roles'],
  slurm: ['partition', 'gres', 'account', 'time', 'sbatch', 'poll', 'shared_dir'],
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
