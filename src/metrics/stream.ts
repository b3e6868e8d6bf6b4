/**
 * MetricStream: reads metrics from an experiment's output as it arrives, so they come from the
 * whole stream, not from the head and tail the log keeps. Lines end at `\n`, and at `\r` too (a
 * progress bar's final text after its last `\r` is a line). For every name it keeps only the
 * last occurrence, a number or a refusal, so memory is bounded whatever the output size: at
 * most MAX_METRIC_NAMES names, and MAX_LINE_BYTES of any one line.
 */
import { MAX_LINE_BYTES, type MetricRefusal, type Occurrence, readMetricLine } from './line.js';
import type { Metrics, ParsedMetrics } from './parse.js';

/** Names beyond this many are not kept (a run that prints a metric per item, say). */
export const MAX_METRIC_NAMES = 10_000;

export interface MetricStreamOptions {
  /**
   * false: the text is not the output itself but lines picked from it (a Slurm job's scan), so
   * line numbers mean nothing and refusals say `the output`.
   */
  numbered?: boolean;
}

export class MetricStream {
  private readonly found = new Map<string, Occurrence>();
  private readonly numbered: boolean;
  /** The start of the current line, when it began in an earlier chunk (MAX_LINE_BYTES + 1 at most). */
  private readonly pending = Buffer.alloc(MAX_LINE_BYTES + 1);
  private pendingLength = 0;
  private overlong = false;
  private line = 1;
  private truncated = false;
  private result: ParsedMetrics | null = null;

  constructor(options: MetricStreamOptions = {}) {
    this.numbered = options.numbered ?? true;
  }

  /**
   * Bytes (UTF-8, split anywhere) or text; ignored after end(). Lines are cut at the bytes of
   * `\n` and `\r`, which never occur inside a UTF-8 character, and only metric-looking lines
   * are decoded: most output costs a byte search and nothing else.
   */
  write(chunk: Buffer | string): void {
    if (this.result) return;
    const buf = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    let start = 0;
    let nl = buf.indexOf(10);
    let cr = buf.indexOf(13);
    while (nl !== -1 || cr !== -1) {
      const end = cr === -1 || (nl !== -1 && nl < cr) ? nl : cr;
      if (this.pendingLength > 0 || this.overlong) {
        this.append(buf, start, end);
        this.finishPending();
      } else this.readLine(buf, start, end, false);
      if (end === nl) {
        this.line++;
        nl = buf.indexOf(10, end + 1);
      } else cr = buf.indexOf(13, end + 1);
      start = end + 1;
    }
    if (start < buf.length) this.append(buf, start, buf.length);
  }

  /** The last occurrence of every name: numbers in `values`, refused ones in `refused`. */
  end(): ParsedMetrics {
    if (this.result) return this.result;
    this.finishPending();
    const values: Array<[string, number]> = [];
    const refused: Array<[string, MetricRefusal]> = [];
    for (const [name, o] of this.found) {
      if (typeof o === 'number') values.push([name, o]);
      else refused.push([name, o]);
    }
    // fromEntries defines own properties: a metric called `__proto__` stays a metric.
    this.result = {
      values: Object.fromEntries(values) as Metrics,
      refused: Object.fromEntries(refused),
      truncated: this.truncated,
    };
    return this.result;
  }

  private append(buf: Buffer, start: number, end: number): void {
    const room = this.pending.length - this.pendingLength;
    const n = Math.min(end - start, room);
    buf.copy(this.pending, this.pendingLength, start, start + n);
    this.pendingLength += n;
    if (end - start > room) this.overlong = true;
  }

  private finishPending(): void {
    const overlong = this.overlong;
    const length = this.pendingLength;
    this.pendingLength = 0;
    this.overlong = false;
    this.readLine(this.pending, 0, length, overlong);
  }

  private readLine(buf: Buffer, start: number, end: number, overlong: boolean): void {
    if (!mayBeMetric(buf, start, end)) return;
    const tooLong = overlong || end - start > MAX_LINE_BYTES;
    const text = buf.toString('utf8', start, Math.min(end, start + MAX_LINE_BYTES + 1));
    readMetricLine(
      text,
      { line: this.numbered ? this.line : null, overlong: tooLong },
      (name, o) => {
        if (this.found.size >= MAX_METRIC_NAMES && !this.found.has(name)) this.truncated = true;
        else this.found.set(name, o);
      },
    );
  }
}

const isBlank = (c: number) => c === 32 || c === 9 || c === 11 || c === 12;
/** ASCII letters, digits, `_ . / -`, and every byte of a non-ASCII character (a letter, a mark, a Unicode space). */
const isNameByte = (c: number) =>
  (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 45 && c <= 57) || c === 95 || c >= 128;
const METRIC = Buffer.from('METRIC');

/**
 * Whether a line may be a metric line (a cheap superset of what line.ts reads): after blanks, a
 * name and then `:` or `=` after blanks, or `METRIC` and a blank.
 */
function mayBeMetric(buf: Buffer, start: number, end: number): boolean {
  let i = start;
  while (i < end && isBlank(buf[i]!)) i++;
  const first = buf[i];
  if (i === end || first === undefined || (first >= 45 && first <= 57)) return false;
  const name = i;
  while (i < end && isNameByte(buf[i]!)) i++;
  if (i === name) return false;
  if (i - name === 6 && i < end && isBlank(buf[i]!) && buf.compare(METRIC, 0, 6, name, i) === 0)
    return true;
  while (i < end && isBlank(buf[i]!)) i++;
  return i < end && (buf[i] === 58 || buf[i] === 61);
}
