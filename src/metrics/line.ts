/**
 * One line of an experiment's output -> the metrics it prints. Two shapes are metric lines:
 *   `METRIC val_bpb=0.9979 tokens_per_s=1.2e5`   (pairs, separated by spaces or commas)
 *   `val_bpb:          0.997900`                  (or `val_bpb = 0.9979`: the name alone, then
 *                                                   a value that starts like a number)
 * Anything else is an ordinary log line. On a metric line every value is either a plain number
 * or refused (value.ts), never guessed; prose after a colon (`Note: the run took 3 steps`) is not
 * a value because it does not start like a number.
 */
import { quote, readValue } from './value.js';

/** A metric name: any Unicode letter or `_`, then letters, marks, digits, `_ . / -` (`total_µs`, `精度`). */
export const METRIC_NAME = String.raw`[\p{L}_][\p{L}\p{M}\p{N}_.\/-]*`;
export const METRIC_NAME_PATTERN = new RegExp(`^${METRIC_NAME}$`, 'u');

/** Longer lines are not read (a metric on one is refused): memory stays bounded on any output. */
export const MAX_LINE_BYTES = 4096;
/** The quoted line in a refusal is cut to this many characters. */
export const QUOTE_CHARS = 200;

/** Why one occurrence of a metric was not recorded as a number, and how to print it instead. */
export interface MetricRefusal {
  /** 1-based line of the output; null when the line number is not known (metrics file, Slurm). */
  line: number | null;
  /** Where it was: `line 12 of the output`, `the output`, `the metrics file`. */
  where: string;
  /** The line (or the metrics file's entry) as printed, cut to QUOTE_CHARS characters. */
  text: string;
  /** What is wrong with the value: `has a unit (ms)`. */
  reason: string;
  /** What to print instead: "print a plain number: `val_ms: 12.5`". */
  fix: string;
}

/** Each metric on a line, in order: its number or its refusal. */
export type Occurrence = number | MetricRefusal;

const SUMMARY = new RegExp(String.raw`^\s*(${METRIC_NAME})\s*[:=]\s*(.*?)\s*$`, 'u');
/** A summary value must start like a number for the line to be a metric line at all. */
const NUMBERISH =
  /^(?:[-+]?\.?\d|[-+]?(?:nan|inf)\b|[-+]?infinity\b|(?:none|null|n\/a|undefined)$)/i;
/** A value that starts like a number (or is nan/inf/none): it is read, or refused. */
export const looksNumeric = (value: string): boolean => NUMBERISH.test(value);
const METRIC_LINE = /^\s*METRIC\s+(.*)$/;
const PAIR = new RegExp(`^(${METRIC_NAME})=(.*)$`, 'u');

export interface LineContext {
  /** 1-based line number, or null when unknown. */
  line: number | null;
  /** The line was longer than MAX_LINE_BYTES: `text` is only its beginning. */
  overlong: boolean;
}

function refusal(text: string, ctx: LineContext, reason: string, fix: string): MetricRefusal {
  const where = ctx.line === null ? 'the output' : `line ${ctx.line} of the output`;
  return { line: ctx.line, where, text: quote(text.trim(), QUOTE_CHARS), reason, fix };
}

/** "print a plain number: `t: 12.5`", or an example when there is no number to suggest. */
export function plainFix(
  verb: string,
  printed: (plain: string) => string,
  plain: string | null,
): string {
  return plain === null
    ? `${verb} a plain decimal number, e.g. \`${printed('0.25')}\``
    : `${verb} a plain number: \`${printed(plain)}\``;
}

function occurrence(
  value: string,
  text: string,
  ctx: LineContext,
  printed: (plain: string) => string,
): Occurrence {
  if (ctx.overlong)
    return refusal(
      text,
      ctx,
      `is on a line longer than ${MAX_LINE_BYTES} bytes`,
      `print it on a line of its own: \`${printed('…')}\``,
    );
  const r = readValue(value);
  if (r.ok) return r.value;
  if (r.reason.startsWith('is not finite')) {
    return refusal(
      text,
      ctx,
      r.reason,
      'print a finite number, or exit with a non-zero status when the run failed',
    );
  }
  return refusal(text, ctx, r.reason, plainFix('print', printed, r.plain));
}

/** Calls `emit` for every metric on the line, in order (a later one of the same name wins). */
export function readMetricLine(
  text: string,
  ctx: LineContext,
  emit: (name: string, o: Occurrence) => void,
): void {
  const metric = METRIC_LINE.exec(text);
  if (metric) return readPairs(metric[1]!, text, ctx, emit);
  const s = SUMMARY.exec(text);
  if (!s || !looksNumeric(s[2]!)) return;
  const name = s[1]!;
  emit(
    name,
    occurrence(s[2]!, text, ctx, (plain) => `${name}: ${plain}`),
  );
}

const pairFix = (name: string) => (plain: string) => `METRIC ${name}=${plain}`;

function readPairs(
  rest: string,
  text: string,
  ctx: LineContext,
  emit: (name: string, o: Occurrence) => void,
): void {
  const tokens = rest
    .replace(/\s*=\s*/g, '=')
    .split(/\s+/)
    .map((t) => t.replace(/^,+/, ''))
    .filter(Boolean);
  let previous: { name: string; value: string } | null = null;
  for (const token of tokens) {
    const pair = PAIR.exec(token);
    if (!pair) {
      // `METRIC n=1 234 567`, `METRIC t=5 ms`: the value goes on after the pair.
      if (previous)
        emit(
          previous.name,
          refusal(
            text,
            ctx,
            'has text after its number',
            plainFix('print', pairFix(previous.name), previous.value),
          ),
        );
      previous = null;
      continue;
    }
    let value = pair[2]!;
    let more: string[] = [];
    if (value.includes(',')) {
      // `a=1,b=2` or a trailing comma are separators; `n=1,234` is a number with a comma in it.
      const parts = value.split(',');
      if (parts.slice(1).every((p) => p === '' || PAIR.test(p))) {
        value = parts[0]!;
        more = parts.slice(1).filter(Boolean);
      }
    }
    previous = { name: pair[1]!, value };
    for (const extra of more) {
      const p = PAIR.exec(extra)!;
      emit(previous.name, occurrence(previous.value, text, ctx, pairFix(previous.name)));
      previous = { name: p[1]!, value: p[2]! };
    }
    emit(previous.name, occurrence(previous.value, text, ctx, pairFix(previous.name)));
  }
}
