/**
 * When the SlurmExecutor looks at a job again: soon after something happened, then less and less
 * often, up to the configured poll interval. Something happened: the job was submitted, the
 * harness asked for a cancel, or the job wrote its status file (seen through a watch on its work
 * folder where the filesystem reports changes; a network filesystem may not, and then the poll
 * interval still bounds the wait). So a job's end is seen within a few tens of milliseconds
 * locally, while a long-running job costs the controller one query per poll interval.
 */
import * as fs from 'node:fs';

/** The first wait after an event; each further wait doubles, up to the poll interval. */
export const FIRST_LOOK_MS = 50;

export class JobPace {
  private readonly minMs: number;
  private next: number;
  private pending = false;
  private wake: (() => void) | null = null;
  private watcher: fs.FSWatcher | null = null;

  constructor(private readonly maxMs: number) {
    this.minMs = Math.min(FIRST_LOOK_MS, maxMs);
    this.next = this.minMs;
  }

  /** Look again soon: the next wait is the shortest again. */
  soon(): void {
    this.next = this.minMs;
  }

  /** Look again now (ending a wait in progress), then soon. */
  hurry(): void {
    this.soon();
    this.pending = true;
    this.wake?.();
  }

  /** Hurries whenever a file of `names` appears or changes in `dir` (where the OS reports it). */
  watch(dir: string, names: readonly string[]): void {
    try {
      this.watcher = fs.watch(dir, { persistent: false }, (_event, file) => {
        if (file === null || names.includes(String(file))) this.hurry();
      });
      this.watcher.on('error', () => this.unwatch());
    } catch {
      // No watch here (inotify limits, an exotic filesystem): polling alone still finds the end.
    }
  }

  /** Waits until the next look: the current interval, or less when something happens. */
  wait(): Promise<void> {
    if (this.pending) {
      this.pending = false;
      return Promise.resolve();
    }
    const ms = this.next;
    this.next = Math.min(this.next * 2, this.maxMs);
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wake = null;
        this.pending = false;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wake = done;
    });
  }

  unwatch(): void {
    this.watcher?.close();
    this.watcher = null;
  }
}
