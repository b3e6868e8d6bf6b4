/**
 * The control files a person's `pause`, `stop` and `abort` leave in the run's folder. Their text
 * says when they were asked for, to the millisecond: an abort ends only the measurements that had
 * started by then, whatever the file system's timestamp resolution.
 */
export type RequestVerb = 'pause' | 'stop' | 'abort';

export function requestText(verb: RequestVerb, at: Date): string {
  return `${verb} requested at ${at.toISOString()}\n`;
}

/**
 * Does an abort file (its text and modification time) end a measurement that started at
 * `startedAt` (epoch ms)? A request made before the measurement started is old news: it was meant
 * for the experiments in flight then. A file without a readable time falls back to its mtime, with
 * a second's slack for coarse file systems.
 */
export function abortsMeasurement(text: string, mtimeMs: number, startedAt: number): boolean {
  const at = /requested at (\S+)/.exec(text)?.[1];
  const ms = at === undefined ? NaN : Date.parse(at);
  return Number.isFinite(ms) ? ms >= startedAt : mtimeMs >= startedAt - 1000;
}
