/**
 * program.md = YAML front matter (for the harness) + Markdown body (for the agent).
 * Parsing is pure: text in, Program or ProgramError (with file, line, key and a fix) out.
 */
import { readFileSync } from 'node:fs';
import { isAbsolute, relative } from 'node:path';
import { isMap, isPair, isScalar, LineCounter, parseDocument, type Document } from 'yaml';
import type { z } from 'zod';
import { closest, ProgramError } from './errors.js';
import {
  FrontMatterSchema,
  KNOWN_KEYS,
  ParetoFrontMatterSchema,
  type FrontMatter,
  type MetricSpec,
} from './schema.js';

export interface Program {
  file: string;
  config: Omit<FrontMatter, 'slots' | 'verify_rebased'> & {
    timeout: number;
    repeats: { baseline: number; max: number; confirm: number; refresh_incumbent: number };
    slots: number;
    verify_rebased: boolean;
    /**
     * Pareto mode (`metric:` a list): every metric of the front, the first being `metric`, the
     * primary one; null in the scalar mode.
     */
    pareto: MetricSpec[] | null;
  };
  body: string;
  /** The front matter text as written, for the ledger. */
  frontMatterText: string;
}

const FENCE = /^---[ \t]*\r?$/;

function splitFrontMatter(
  text: string,
  file: string,
): { yaml: string; body: string; yamlStartLine: number } {
  const lines = text.split('\n');
  if (!FENCE.test(lines[0] ?? '')) {
    throw new ProgramError(
      file,
      1,
      null,
      'no front matter: the file must start with a line `---`, then YAML settings, then `---`',
      'run `autoresearch init` to write one, or add at the top:\n---\nmetric: { name: val_bpb, goal: minimize }\nrun: python train.py\neditable: [train.py]\n---',
    );
  }
  const end = lines.findIndex((line, i) => i > 0 && FENCE.test(line));
  if (end < 0) {
    throw new ProgramError(
      file,
      1,
      null,
      'the front matter opened with `---` on line 1 is never closed',
      'add a line `---` after the settings',
    );
  }
  return {
    yaml: lines.slice(1, end).join('\n'),
    body: lines
      .slice(end + 1)
      .join('\n')
      .replace(/^\s*\n/, ''),
    yamlStartLine: 2,
  };
}

export function parseProgram(text: string, file: string): Program {
  const { yaml, body, yamlStartLine } = splitFrontMatter(text, file);
  const lineCounter = new LineCounter();
  const doc = parseDocument(yaml, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const lineOf = (offset: number | undefined) =>
    offset === undefined ? null : lineCounter.linePos(offset).line + yamlStartLine - 1;
  if (doc.errors.length > 0) {
    const err = doc.errors[0]!;
    throw new ProgramError(
      file,
      lineOf(err.pos[0]),
      null,
      `YAML syntax: ${err.message.split('\n')[0]}`,
      'check indentation and quoting on that line (strings with `:` or `#` need quotes)',
    );
  }
  const raw = doc.toJS() ?? {};
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ProgramError(
      file,
      yamlStartLine,
      null,
      'the front matter must be a set of `key: value` settings',
    );
  }
  const listed = Array.isArray((raw as { metric?: unknown }).metric);
  const parsed = (listed ? ParetoFrontMatterSchema : FrontMatterSchema).safeParse(raw);
  if (!parsed.success) {
    // A typo shows up twice (unknown key + missing key); the unknown key is the useful one to report.
    const issues = [...parsed.error.issues].sort(
      (a, b) => Number(b.code === 'unrecognized_keys') - Number(a.code === 'unrecognized_keys'),
    );
    throw issueToError(issues[0]!, doc, file, lineOf);
  }
  const pareto = listed ? (parsed.data.metric as unknown as MetricSpec[]) : null;
  const config = {
    ...parsed.data,
    metric: pareto ? pareto[0]! : (parsed.data.metric as MetricSpec),
  };
  if (pareto) checkPareto(config, doc, file, lineOf);
  const timeout = config.timeout ?? Math.max(config.budget * 2, config.budget + 60);
  if (timeout < config.budget) {
    throw new ProgramError(
      file,
      lineOf(nodeRange(doc, ['timeout'])),
      'timeout',
      `the hard timeout (${timeout}s) is shorter than the budget (${config.budget}s)`,
      `set timeout to at least ${config.budget}s, e.g. ${Math.ceil(config.budget * 2)}s`,
    );
  }
  // Noise is measured, not assumed: unless the metric is declared deterministic, the baseline
  // runs three times and a promising candidate may be measured up to three times.
  const deterministic = (pareto ?? [config.metric]).every((m) => m.deterministic);
  const runs = deterministic ? 1 : 3;
  const repeats = {
    baseline: config.repeats.baseline ?? runs,
    max: config.repeats.max ?? runs,
    confirm: config.repeats.confirm,
    refresh_incumbent: config.repeats.refresh_incumbent,
  };
  if (!pareto && !deterministic && repeats.max < repeats.confirm) {
    throw new ProgramError(
      file,
      lineOf(nodeRange(doc, ['repeats', 'max'])),
      'repeats.max',
      `repeats.max (${repeats.max}) is below repeats.confirm (${repeats.confirm}): on a noisy metric a keep needs ${repeats.confirm} runs of the candidate`,
      `set repeats.max to at least ${repeats.confirm}, or mark the metric \`deterministic: true\` if it has no noise`,
    );
  }
  const slots = config.slots ?? config.devices?.length ?? 1;
  if (config.devices && slots > config.devices.length) {
    throw new ProgramError(
      file,
      lineOf(nodeRange(doc, ['slots'])),
      'slots',
      `${slots} slots but only ${config.devices.length} devices: two experiments would share a device`,
      `list one device per slot in \`devices:\`, or set \`slots: ${config.devices.length}\``,
    );
  }
  const uncached = (config.cache?.roles ?? []).filter((role) => config[role] === undefined);
  if (uncached.length > 0 && uncached.length === config.cache!.roles.length) {
    throw new ProgramError(
      file,
      lineOf(nodeRange(doc, ['cache'])),
      'cache',
      `the cache is for the \`${uncached.join('` and `')}\` command${uncached.length > 1 ? 's' : ''}, and the program has none`,
      'move the model calls into a protected `eval:` command (the run cannot see the cache), or remove `cache:`',
    );
  }
  const verify_rebased = config.verify_rebased ?? !deterministic;
  return {
    file,
    config: { ...config, timeout, repeats, slots, verify_rebased, pareto },
    body,
    frontMatterText: yaml,
  };
}

/**
 * Settings that have no meaning with several metrics are refused, not ignored: islands keep one
 * best per island; the tune agent, `simplicity` and `min_effect` need one number to improve.
 */
function checkPareto(
  config: FrontMatter,
  doc: Document,
  file: string,
  lineOf: (offset: number | undefined) => number | null,
): void {
  const refuse = (key: string, problem: string, hint: string) => {
    throw new ProgramError(file, lineOf(nodeRange(doc, [key])), key, problem, hint);
  };
  if (config.parents.strategy === 'islands')
    refuse(
      'parents',
      'islands keep one best experiment per island; in Pareto mode there is a front, not a best',
      'use `parents: tree` (builds on the front member with the fewest children) or `parents: greedy` (on the newest member)',
    );
  const agent = typeof config.agent === 'string' ? config.agent : config.agent?.name;
  if (agent === 'tune')
    refuse(
      'agent',
      'the tune agent improves one metric, and this program lists several (Pareto mode)',
      'use another agent, or write one metric: `metric: { name: ..., goal: ... }`',
    );
  if (config.decision.min_effect > 0)
    refuse(
      'decision',
      '`min_effect` is in the units of one metric, and this program lists several (Pareto mode)',
      'give each metric its own smallest difference that counts: `tolerance:` in its entry of `metric:`',
    );
  if (config.simplicity > 0)
    refuse(
      'simplicity',
      'the simplicity penalty is in the units of one metric, and this program lists several (Pareto mode)',
      'remove `simplicity:`, or write one metric',
    );
}

/** Reads program.md; errors name it as the user would (relative to the current folder when inside it). */
export function loadProgram(path: string): Program {
  const shown = relative(process.cwd(), path);
  const file = shown && !shown.startsWith('..') && !isAbsolute(shown) ? shown : path;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ProgramError(
      file,
      null,
      null,
      code === 'ENOENT' ? 'file not found' : `cannot read: ${(e as Error).message}`,
      code === 'ENOENT'
        ? 'run `autoresearch init` to write it, or pass --program <path>'
        : undefined,
    );
  }
  return parseProgram(text, file);
}

function nodeRange(doc: Document, path: (string | number)[]): number | undefined {
  const node = doc.getIn(path, true) as { range?: [number, number, number] } | undefined;
  if (node?.range) return node.range[0];
  // Fall back to the nearest existing parent.
  return path.length > 0 ? nodeRange(doc, path.slice(0, -1)) : undefined;
}

function keyRange(doc: Document, parent: (string | number)[], key: string): number | undefined {
  const map = parent.length === 0 ? doc.contents : doc.getIn(parent, true);
  if (isMap(map)) {
    for (const item of map.items) {
      if (isPair(item) && isScalar(item.key) && item.key.value === key) return item.key.range?.[0];
    }
  }
  return nodeRange(doc, parent);
}

function issueToError(
  issue: z.core.$ZodIssue,
  doc: Document,
  file: string,
  lineOf: (offset: number | undefined) => number | null,
): ProgramError {
  const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
  const dotted = path.join('.');
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0]!;
    // `metric.1.goall` in Pareto mode: the keys of one list item are the keys of `metric`.
    const known = KNOWN_KEYS[path.filter((p) => typeof p === 'string').join('.')] ?? [];
    const guess = closest(key, known);
    const where = dotted ? `${dotted}.${key}` : key;
    return new ProgramError(
      file,
      lineOf(keyRange(doc, path, key)),
      where,
      'unknown setting',
      guess
        ? `did you mean \`${guess}\`? Known settings here: ${known.join(', ')}`
        : `known settings here: ${known.join(', ')}`,
    );
  }
  const present = doc.hasIn(path);
  const line = lineOf(present ? nodeRange(doc, path) : nodeRange(doc, path.slice(0, -1)));
  if (!present && issue.code === 'invalid_type') {
    return new ProgramError(
      file,
      line,
      dotted,
      'required setting is missing',
      REQUIRED_HINTS[dotted] ?? `add \`${dotted}: ...\``,
    );
  }
  if (issue.code === 'invalid_value' && 'values' in issue) {
    return new ProgramError(
      file,
      line,
      dotted,
      `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`,
      `write e.g. \`${path.at(-1)}: ${String(issue.values[0])}\``,
    );
  }
  // An item of a list (`brief_metrics.1`) takes the list's hint and names the value it got.
  const item = typeof path.at(-1) === 'number';
  const hint = TYPE_HINTS[dotted] ?? (item ? TYPE_HINTS[path.slice(0, -1).join('.')] : undefined);
  if (issue.code === 'invalid_type') {
    return new ProgramError(
      file,
      line,
      dotted,
      `expected ${describeExpected(issue.expected)}, got ${describeValue(doc.getIn(path))}`,
      hint,
    );
  }
  return new ProgramError(
    file,
    line,
    dotted || null,
    item ? `${issue.message}; got ${describeValue(doc.getIn(path))}` : issue.message,
    hint,
  );
}

function describeExpected(expected: string): string {
  return expected === 'object'
    ? 'a mapping of settings'
    : expected === 'array'
      ? 'a list such as [a.py, b.py]'
      : `a ${expected}`;
}

function describeValue(value: unknown): string {
  if (value === null || value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return `${typeof value} ${JSON.stringify(value)}`;
}

const REQUIRED_HINTS: Record<string, string> = {
  metric:
    'add `metric: { name: val_bpb, goal: minimize }` (the number your run prints, and whether lower or higher is better)',
  'metric.name':
    'add the metric name your run prints, e.g. `metric: { name: val_bpb, goal: minimize }`',
  'metric.goal': 'add `goal: minimize` or `goal: maximize` to metric',
  run: 'add the experiment command, e.g. `run: python train.py`',
  editable: 'add the files the agent may change, e.g. `editable: [train.py]`',
};

const TYPE_HINTS: Record<string, string> = {
  metric: 'write `metric: { name: val_bpb, goal: minimize }`',
  editable: 'write a list, e.g. `editable: [train.py]`',
  protected: 'write a list, e.g. `protected: [prepare.py]`',
  budget: 'write a duration such as `budget: 300s` or `budget: 5m`',
  timeout: 'write a duration such as `timeout: 10m`',
  stop: 'write e.g. `stop: { experiments: 100, hours: 8 }`',
  'stop.experiments': 'a whole number, e.g. `experiments: 100`',
  'stop.hours': 'a number of hours, e.g. `hours: 8`',
  agent:
    'write `agent: tune`, `agent: command` or `agent: { name: command, command: ./propose.sh }`',
  slots: 'a whole number of experiments to run at once, e.g. `slots: 2`',
  brief_metrics:
    'write a list of metric names the run prints, e.g. `brief_metrics: [peak_vram_mb, tokens_per_s]`',
};
