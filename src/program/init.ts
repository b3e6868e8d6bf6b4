/**
 * What `autoresearch init` writes: pure functions from the files in a folder and the user's
 * answers to the text of program.md.
 */
import { parse, stringify } from 'yaml';

export interface InitAnswers {
  metric: string;
  goal: 'minimize' | 'maximize';
  run: string;
  budget: string;
  timeout: string;
  editable: string[];
  protected: string[];
  /** Written as `checks:` (tests, lint) when set. */
  checks?: string;
  constraints?: string[];
  /** Untracked folders sealed processes need to see (`keep_ignored:`), e.g. node_modules. */
  keepIgnored?: string[];
  agent?: string | Record<string, unknown>;
  stop?: { experiments?: number; hours?: number; spend_usd?: number };
  /** How an experiment reads its budget in the project's language, for the body's rules. */
  budgetHint?: string;
  /** Extra front matter (e.g. a tune search space), appended as YAML. */
  extra?: Record<string, unknown>;
}

export interface Layout {
  name: string;
  defaults: Partial<InitAnswers>;
}

/** Recognizes well-known layouts, most importantly the single-GPU training setup. */
export function detectLayout(files: string[]): Layout | null {
  const has = (f: string) => files.includes(f);
  if (has('train.py') && has('prepare.py')) {
    return {
      name: 'single-GPU training (train.py + prepare.py)',
      defaults: {
        metric: 'val_bpb',
        goal: 'minimize',
        run:
          has('pyproject.toml') || has('uv.lock') || has('program.md')
            ? 'uv run train.py'
            : 'python train.py',
        budget: '300s',
        timeout: '600s',
        editable: ['train.py'],
        protected: ['prepare.py'],
      },
    };
  }
  if (has('train.ts') && has('prepare.ts')) {
    return {
      name: 'TypeScript training (train.ts + prepare.ts)',
      defaults: {
        metric: 'val_bpb',
        goal: 'minimize',
        run: 'node --import tsx train.ts',
        budget: '10s',
        timeout: '60s',
        editable: ['train.ts'],
        protected: ['prepare.ts'],
      },
    };
  }
  if (has('package.json') && has('bench.js')) {
    return { name: 'Node benchmark', defaults: { run: 'node bench.js', goal: 'minimize' } };
  }
  return null;
}

/** The settings `init` writes; any other key of an old front matter is not carried over. */
const WRITTEN = [
  'metric',
  'run',
  'budget',
  'timeout',
  'editable',
  'protected',
  'checks',
  'constraints',
  'keep_ignored',
  'agent',
  'stop',
  'search',
];

/**
 * The answers an existing front matter already gives (`init --force` offers them as defaults),
 * and the keys of it that `init` does not write. Lenient: whatever does not read is left out.
 */
export function previousAnswers(frontMatter: string): {
  answers: Partial<InitAnswers>;
  dropped: string[];
} {
  let data: unknown;
  try {
    data = parse(frontMatter);
  } catch {
    return { answers: {}, dropped: [] };
  }
  if (!data || typeof data !== 'object' || Array.isArray(data)) return { answers: {}, dropped: [] };
  const o = data as Record<string, unknown>;
  const str = (v: unknown) =>
    typeof v === 'string' || typeof v === 'number' ? String(v) : undefined;
  const strings = (v: unknown) =>
    Array.isArray(v) && v.every((x) => typeof x === 'string') ? (v as string[]) : undefined;
  const num = (v: unknown) => (typeof v === 'number' ? v : undefined);
  const metric = (o.metric ?? {}) as Record<string, unknown>;
  const stop = (o.stop ?? {}) as Record<string, unknown>;
  const goal = metric.goal === 'minimize' || metric.goal === 'maximize' ? metric.goal : undefined;
  const agent =
    typeof o.agent === 'string' ||
    (o.agent && typeof o.agent === 'object' && !Array.isArray(o.agent))
      ? (o.agent as InitAnswers['agent'])
      : undefined;
  const answers: Partial<InitAnswers> = {
    metric: str(metric.name),
    goal,
    run: str(o.run),
    budget: str(o.budget),
    timeout: str(o.timeout),
    editable: strings(o.editable),
    protected: strings(o.protected),
    checks: str(o.checks),
    constraints: strings(o.constraints),
    agent,
    stop: {
      experiments: num(stop.experiments),
      hours: num(stop.hours),
      spend_usd: num(stop.spend_usd),
    },
  };
  for (const k of Object.keys(answers) as (keyof InitAnswers)[])
    if (answers[k] === undefined) delete answers[k];
  const nested = (key: string, value: unknown, kept: string[]) =>
    value && typeof value === 'object'
      ? Object.keys(value)
          .filter((k) => !kept.includes(k))
          .map((k) => `${key}.${k}`)
      : [];
  const dropped = [
    ...Object.keys(o).filter((k) => !WRITTEN.includes(k)),
    ...nested('metric', o.metric, ['name', 'goal']),
    ...nested('stop', o.stop, ['experiments', 'hours', 'spend_usd']),
  ];
  return { answers, dropped };
}

/** Nested settings in block style, with one flow-style line per search parameter. */
function renderExtra(extra: Record<string, unknown>): string {
  const doc = stringify(extra, { lineWidth: 0 });
  return doc
    .trimEnd()
    .replace(
      /^( {4})(\w+):\n((?: {6}.+\n?)+)/gm,
      (_m, indent: string, name: string, body: string) => {
        const obj = Object.fromEntries(
          body
            .trimEnd()
            .split('\n')
            .map((l) => {
              const [k, ...v] = l.trim().split(': ');
              return [k, v.join(': ')];
            }),
        );
        return `${indent}${name}: { ${Object.entries(obj)
          .map(([k, v]) => `${k}: ${v}`)
          .join(', ')} }\n`;
      },
    )
    .trimEnd();
}

const flow = (value: unknown) =>
  stringify(value, { flowCollectionPadding: true, collectionStyle: 'flow', lineWidth: 0 }).trim();

export function renderProgram(a: InitAnswers, body: string): string {
  const lines = [
    '---',
    `metric: ${flow({ name: a.metric, goal: a.goal })}`,
    `run: ${flow(a.run)}`,
    `budget: ${a.budget}`,
    `timeout: ${a.timeout}`,
    `editable: ${flow(a.editable)}`,
    `protected: ${flow(a.protected)}`,
  ];
  if (a.checks) lines.push(`checks: ${flow(a.checks)}`);
  if (a.constraints?.length) lines.push(`constraints: ${flow(a.constraints)}`);
  if (a.keepIgnored?.length) lines.push(`keep_ignored: ${flow(a.keepIgnored)}`);
  if (a.agent) lines.push(`agent: ${flow(a.agent)}`);
  const stop = Object.fromEntries(Object.entries(a.stop ?? {}).filter(([, v]) => v !== undefined));
  if (Object.keys(stop).length > 0) lines.push(`stop: ${flow(stop)}`);
  if (a.extra && Object.keys(a.extra).length > 0) lines.push(renderExtra(a.extra));
  lines.push('---', '');
  return lines.join('\n') + (body.trim() ? body.replace(/^\s*\n/, '') : DEFAULT_BODY(a));
}

const DEFAULT_BODY = (a: InitAnswers) => `# Research program

Goal: ${a.goal} \`${a.metric}\`, printed by \`${a.run}\`.

## Rules
- Change only ${a.editable.join(', ')}.
- Each experiment gets a fixed budget of AUTORESEARCH_TIME_BUDGET seconds (${a.budgetHint ?? '$AUTORESEARCH_TIME_BUDGET'}); respect it.${a.checks ? `\n- \`${a.checks}\` must pass before an experiment runs.` : ''}
- One focused change per experiment, with a one-line title saying what changed.

## Ideas to try
- (write the directions you want the agent to explore here)
`;
