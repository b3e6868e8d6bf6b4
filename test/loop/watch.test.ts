import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { beforeAll, describe, expect, it } from 'vitest';
import { cliHere } from '../helpers/cli-here.js';
import { cliAsync, exited, makeRepo, waitFor } from '../helpers/repo.js';
import { runHere } from '../helpers/run.js';

const EXP = 'source ./params.sh\necho "score: $VALUE"\n';
const program = (extra: string) => `---
metric: { name: score, goal: maximize, deterministic: true }
run: bash exp.sh
budget: 5s
editable: [params.sh]
agent: { name: command, command: 'echo VALUE=$((AUTORESEARCH_EXPERIMENT_ID + 1)) > params.sh; echo "TITLE: raise <b>$AUTORESEARCH_EXPERIMENT_ID</b>"' }
stop: { experiments: 2 }
${extra}---
`;

describe('watching a run', () => {
  it('webhooks announce each new best and the stop, in the generic JSON format', async () => {
    const received: Array<{ kind?: string; [k: string]: unknown }> = [];
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', async () => {
        received.push(JSON.parse(body));
        res.end('ok');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
    try {
      const repo = makeRepo({
        'exp.sh': EXP,
        'params.sh': 'VALUE=1\n',
        'program.md': program(`webhooks: [{ url: "${url}", format: json }]\n`),
      });
      await runHere(repo, { tag: 'w' });
      await waitFor(() => received.length >= 3, 120_000, 'three webhook deliveries');
      const text = JSON.stringify(received);
      expect(received.filter((r) => JSON.stringify(r).includes('new-best'))).toHaveLength(2);
      expect(text).toContain('reached 2 experiments');
      // The same from a flag, in Slack's format, for one more experiment (the webhook server lives
      // in this process: the command line runs here, without blocking it).
      received.length = 0;
      const more = await cliHere(repo, [
        'run',
        '--tag',
        'w',
        '-n',
        '3',
        '--no-dashboard',
        '--webhook',
        `slack:${url}`,
      ]);
      expect(more.code).toBe(0);
      await waitFor(
        () =>
          received.some(
            (r) => typeof r.text === 'string' && String(r.text).includes('reached 3 experiments'),
          ),
        120_000,
        'a Slack-format stop message',
      );
      expect((await cliHere(repo, ['run', '--webhook', 'ftp://x'])).stderr).toContain(
        'expected [json|slack|discord|ntfy:]http(s)://',
      );

      // A run that dies with an error is announced too, with the error as the reason.
      received.length = 0;
      const broken = makeRepo({
        'exp.sh': 'echo "no score here"\nexit 3\n',
        'params.sh': 'VALUE=1\n',
        'program.md': program(`webhooks: [{ url: "${url}", format: json }]\n`),
      });
      const failing = await cliHere(broken, ['run', '--tag', 'f', '--no-dashboard']);
      expect(failing.code).toBe(2);
      const output = failing.stdout + failing.stderr;
      expect(output).toContain('the baseline did not produce a usable score');
      expect(output.match(/the baseline did not produce/g)).toHaveLength(1); // said once, by the command
      await waitFor(
        () => received.some((r) => r.kind === 'stop'),
        120_000,
        'a stop message for the failed run',
      );
      expect(String(received.find((r) => r.kind === 'stop')!.reason)).toMatch(
        /^error: the baseline did not produce a usable score: crash/,
      );
    } finally {
      server.close();
    }
  });
});

// One finished run for both: report reads it, serve shows it and takes a re-run request for it.
describe('a finished run', () => {
  let repo = '';
  beforeAll(async () => {
    repo = makeRepo({ 'exp.sh': EXP, 'params.sh': 'VALUE=1\n', 'program.md': program('') });
    await runHere(repo, { tag: 's' });
  });

  it('report writes a self-contained HTML report and the chart', async () => {
    const r = await cliHere(repo, ['report']);
    expect(r.code).toBe(0);
    const html = readFileSync(`${repo}/.autoresearch/s/report/report.html`, 'utf8');
    expect(html).toContain('2 experiments, 2 kept');
    expect(html).toContain('raise &lt;b&gt;1&lt;/b&gt;'); // agent text is escaped
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
    expect(existsSync(`${repo}/.autoresearch/s/report/chart.svg`)).toBe(true);
    if (existsSync('/usr/bin/chromium'))
      expect(
        readFileSync(`${repo}/.autoresearch/s/report/chart.png`).subarray(1, 4).toString(),
      ).toBe('PNG');
  });

  it('serve prints a tokenized URL, refuses requests without the token, and stops on SIGINT', async () => {
    const child = cliAsync(repo, ['serve']);
    const url = await waitFor(
      () => /dashboard: (http:\/\/127\.0\.0\.1:\d+\/\?token=\w+)/.exec(child.output())?.[1],
      120_000,
      'the dashboard URL',
    );
    const base = url.replace(/\/\?token=.*/, '');
    const token = url.split('token=')[1]!;
    expect((await fetch(`${base}/api/runs`)).status).toBe(401);
    const runs = (await (
      await fetch(`${base}/api/runs`, { headers: { authorization: `Bearer ${token}` } })
    ).json()) as { runs: Array<{ tag: string }> };
    expect(runs.runs.map((r) => r.tag)).toEqual(['s']);
    const post = (path: string) =>
      fetch(`${base}${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, origin: base },
      });
    // Remote control: abort needs a live harness; a re-run request is taken by the next start.
    expect((await post('/api/runs/s/abort')).status).toBe(409);
    expect((await post('/api/runs/s/experiments/99/rerun')).status).toBe(404);
    const rerun = (await (await post('/api/runs/s/experiments/1/rerun')).json()) as {
      message: string;
    };
    expect(rerun.message).toBe(
      'run s: experiment 1 will be measured again when the run continues (autoresearch run)',
    );
    child.kill('SIGINT');
    expect((await exited(child)).code).toBe(0);
    expect((await runHere(repo, { tag: 's' })).output).toContain('re-ran experiment 1');
  });
});
