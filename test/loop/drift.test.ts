/**
 * Confirmed keeps and the drift watch, end to end: the loop (in this process) on a real
 * repository whose experiment's speed doubles in the middle of the run, a webhook on a local HTTP
 * server, and `autoresearch status`.
 */
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { gitIn, ledgerRows, makeRepo, waitFor, writeFiles } from '../helpers/repo.js';
import { cliHere } from '../helpers/cli-here.js';
import { runHere } from '../helpers/run.js';
import { patchBetween } from '../helpers/patches.js';
import { tempDir } from '../helpers/temp.js';

let server: Server | null = null;
afterEach(async () => {
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  server = null;
});

/** A webhook receiver on 127.0.0.1 that keeps every JSON body it gets. */
async function hookServer(): Promise<{ url: string; bodies: Array<Record<string, unknown>> }> {
  const bodies: Array<Record<string, unknown>> = [];
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      bodies.push(JSON.parse(body) as Record<string, unknown>);
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, bodies };
}

interface Measured {
  experiment_id: number;
  during_id: number;
  commit_sha: string;
  value: number;
}

function measurements(repo: string, tag: string): Measured[] {
  const db = new Database(join(repo, '.autoresearch/ledger.sqlite'), { readonly: true });
  try {
    return db
      .prepare(
        'SELECT experiment_id, during_id, commit_sha, value FROM measurements WHERE run_tag = ? ORDER BY rowid',
      )
      .all(tag) as Measured[];
  } finally {
    db.close();
  }
}

const params = (v: number, note: string) => `VALUE=${v}\n# ${note}\n`;

describe('confirmed keeps on a machine whose speed changes mid-run', () => {
  it('keeps no neutral candidate and the real improvements, says the machine drifted in status and a webhook', async () => {
    // throughput = VALUE x the machine's speed x 1% noise from the per-measurement seed. The
    // speed is 1 until experiment 3's first run, which waits for the test to double it: every
    // run before it saw speed 1, every run after it speed 2, wherever the loop is in between.
    const machine = tempDir('ar-speed-');
    const speedFile = join(machine, 'speed');
    const exp = `source ./params.sh
if [ "$AUTORESEARCH_EXPERIMENT_ID" = 3 ] && [ ! -e ${speedFile} ]; then
  echo "waiting for the machine to change"
  while [ ! -e ${speedFile} ]; do sleep 0.05; done
fi
SPEED=1; [ -e ${speedFile} ] && SPEED=$(cat ${speedFile})
awk -v v="$VALUE" -v m="$SPEED" -v s="$AUTORESEARCH_SEED" 'BEGIN { srand(s); u = rand(); w = rand(); printf "throughput: %.4f\\n", v * m * exp(0.01 * sqrt(-2 * log(u + 1e-12)) * cos(6.2831853 * w)) }'
`;
    const steps: Array<[number, string, number, string]> = [
      [100, 'tuned', 100, 'retuned (no real change)'],
      [100, 'tuned', 110, 'tuned'],
      [110, 'tuned', 110, 'comment only'],
      [110, 'tuned', 110, 'another comment'],
      [110, 'tuned', 121, 'tuned'],
      [121, 'tuned', 121, 'a last comment'],
    ];
    const hook = await hookServer();
    const repo = makeRepo({ 'exp.sh': exp, 'params.sh': params(100, 'tuned') });
    steps.forEach(([a, na, b, nb], i) =>
      writeFiles(repo, {
        [`ideas/${i + 1}.patch`]: patchBetween(
          repo,
          { 'params.sh': params(a, na) },
          { 'params.sh': params(b, nb) },
        ),
      }),
    );
    writeFiles(repo, {
      'program.md': `---
metric: { name: throughput, goal: maximize }
run: bash exp.sh
budget: 10s
editable: [params.sh]
protected: [exp.sh]
agent: { name: scripted, patches: [${steps.map((_, i) => `ideas/${i + 1}.patch`).join(', ')}] }
webhooks: [{ url: "${hook.url}", format: json, on: [drift] }]
---
`,
    });
    gitIn(repo, 'add', '-A');
    gitIn(repo, 'commit', '-q', '-m', 'program');

    const run = runHere(repo, { tag: 'd' });
    await waitFor(
      () => ledgerRows(repo, 'd').some((r) => r.id === 3 && r.state === 'running'),
      90_000,
      'experiment 3 to start',
    );
    writeFileSync(speedFile, '2\n');
    expect((await run).result.reason).toBe('the agent has no more proposals');

    const rows = ledgerRows(repo, 'd');
    // The two real improvements are kept; none of the four neutral changes is, though after the
    // speed doubled each of them measured twice the incumbent's earlier runs.
    expect(rows.map((r) => r.status)).toEqual([
      'keep',
      'discard',
      'keep',
      'discard',
      'discard',
      'keep',
      'discard',
    ]);
    const all = measurements(repo, 'd');
    for (const kept of rows.filter((r) => r.status === 'keep' && r.id > 0)) {
      expect(kept.reason).toMatch(
        /^kept: paired \+[\d.]+ \+- [\d.]+ \(\+\d[\d.]*%\), \d pairs, p=/,
      );
      // Never on one run: every run of the candidate has a run of the incumbent next to it in time.
      const during = all.filter((m) => m.during_id === kept.id);
      const arms = during.map((m) => (m.commit_sha === kept.candidate_commit ? 'C' : 'I')).join('');
      expect(arms).toMatch(/^(CI|IC){2,}$/);
    }
    // The neutral candidates measured after the change were paired with the incumbent at the new speed.
    for (const id of [3, 4])
      expect(all.filter((m) => m.during_id === id).some((m) => m.experiment_id !== id)).toBe(true);

    const status = (await cliHere(repo, ['status', '--tag', 'd'])).stdout;
    expect(status).toMatch(
      /^drift {8}.*drift: the incumbent measures \+100% since run \d+ compared with before/m,
    );
    const drifts = hook.bodies.filter((b) => b.kind === 'drift');
    expect(drifts).toHaveLength(1);
    expect(drifts[0]).toMatchObject({
      source: 'autoresearch',
      tag: 'd',
      metric: 'throughput',
      incumbent: 2,
    });
    expect(String(drifts[0]!.sentence)).toMatch(
      /^drift: the incumbent measures \+100% since run \d+/,
    );
  });
});
