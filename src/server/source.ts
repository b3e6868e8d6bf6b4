/** What the dashboard's routes read: the repository's ledger, opened at first use and shared. */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { Ledger } from '../ledger/ledger.js';
import type { RunTarget } from '../loop/control.js';
import { ledgerPath } from '../loop/context.js';

export class LedgerSource {
  readonly repo: string;
  private ledger: Ledger | null = null;
  private closing = false;

  constructor(repo: string) {
    this.repo = resolve(repo);
  }

  /** Null until the first run creates the ledger (a dashboard may start before it), and after close. */
  open(): Ledger | null {
    if (this.ledger || this.closing) return this.ledger;
    const path = ledgerPath(this.repo);
    if (!existsSync(path)) return null;
    this.ledger = new Ledger(path);
    return this.ledger;
  }

  run(tag: string): RunTarget | null {
    const ledger = this.open();
    const run = ledger?.getRun(tag);
    return ledger && run ? { repo: this.repo, ledger, run } : null;
  }

  get closed(): boolean {
    return this.closing;
  }

  /** Ends the event streams (they watch `closed`) and closes the ledger. */
  close(): void {
    this.closing = true;
    this.ledger?.close();
    this.ledger = null;
  }
}
