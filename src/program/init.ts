/**
 * What `autoresearch init` writes: pure functions from the files in a folder and the user's
 * answers to the text of program.md.
 */
import { stringify } from 'yaml';

export interface InitAnswers {
  metric: string;
  goal: 'minimize' | 'maximize';
  run: string;
  budget: string;
  timeout: string;
  editable: string[];
  protected: string[];
  agent?: string;
  experiments?: number;
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
  if (a.agent) lines.push(`agent: ${flow(a.agent)}`);
  if (a.experiments) lines.push(`stop: ${flow({ experiments: a.experiments })}`);
  if (a.extra && Object.keys(a.extra).length > 0) lines.push(renderExtra(a.extra));
  lines.push('---', '');
  return lines.join('\n') + (body.trim() ? body.replace(/^\s*\n/, '') : DEFAULT_BODY(a));
}

const DEFAULT_BODY = (a: InitAnswers) => `# Research program

Goal: ${a.goal} \`${a.metric}\`, printed by \`${a.run}\`.

## Rules
- Change only ${a.editable.join(', ')}.
- Each experiment gets a fixed budget (AUTORESEARCH_TIME_BUDGET seconds); respect it.
- One focused change per experiment, with a one-line title saying what changed.

## Ideas to try
- (write the directions you want the agent to explore here)
`;
