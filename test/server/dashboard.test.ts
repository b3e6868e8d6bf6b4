/**
 * The dashboard against a real run in progress: the real CLI loop in the background, the server in
 * this process, and (when /usr/bin/chromium exists) the page in a real browser.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { Ledger } from '../../src/ledger/ledger.js';
import { startDashboard, isNonLoopbackHost, type Dashboard } from '../../src/server/dashboard.js';
import { cliHere } from '../helpers/cli-here.js';
import { ROOT, cliAsync, exited, ledgerRows, makeRepo, tempDir, waitFor } from '../helpers/repo.js';
import { WAITING } from '../helpers/shell.js';

const CHROMIUM = '/usr/bin/chromium';
const XSS = '<img src=x onerror=alert(1)>';
const TAG = 'dash';

// Runs until afterAll stops it. A noisy metric: the header shows the drift watch.
const PROGRAM = `---
metric: { name: score, goal: maximize }
run: bash exp.sh
budget: 5s
editable: [params.sh]
protected: [exp.sh]
agent: { name: command, command: "bash agent.sh" }
stop: { experiments: 1000 }
---
Raise the score.
`;
// Experiment 1 raises the score (a keep, confirmed in pairs); later ones lower it, each to a value
// of its own, and are discarded on their first run.
const AGENT = `#!/bin/bash
N=$((AUTORESEARCH_EXPERIMENT_ID + 1))
[ "$AUTORESEARCH_EXPERIMENT_ID" -gt 1 ] && N=$((0 - AUTORESEARCH_EXPERIMENT_ID))
echo "VALUE=$N" > params.sh
echo "TITLE: raise to $N ${XSS}"
echo "HYPOTHESIS: a larger VALUE <b>scores</b> higher"
`;
// Experiments after the first keep wait until a test lets them finish (`release`): the page and
// the controls are watched while one is in flight, and the loop moves on only when a test needs
// it, instead of spinning through experiments (most of the file's CPU) or sleeping a fixed time.
const GATE = tempDir('ar-gate-');
const EXP = `${WAITING}source ./params.sh
echo "starting <script>x</script>"
id=$AUTORESEARCH_EXPERIMENT_ID
if [ "$id" -gt 1 ]; then until [ -e "${GATE}/$id" ]; do nap; done; else nap 0.5; fi
echo "score: $VALUE"
`;

let repo = '';
let child: ReturnType<typeof cliAsync>;
let dash: Dashboard;
let base = '';
/** The dashboard the run serves itself (`autoresearch run` prints its URL), and its token. */
let own = { url: '', base: '', token: '' };
/**
 * How the page is asked while a test waits for it: every animation frame (Playwright's default)
 * keeps the page drawing 60 times a second, which cost more CPU than anything else the page did.
 */
const POLL = { polling: 100 };
/** One browser for the page tests, started by the first (absent: none started). */
let browser: Browser | null = null;
/** The page of the live run, at phone size, once that test is done with it. */
let phone: Page | null = null;
/** For the API calls of tests about something else than how a browser signs in. */
const auth = () => ({ headers: { Authorization: `Bearer ${dash.token}` } });

const recorded = () => ledgerRows(repo, TAG).filter((r) => r.state === 'recorded');
/** Lets every experiment proposed so far finish: the one in flight, if any. */
const release = () => {
  for (const r of ledgerRows(repo, TAG)) writeFileSync(join(GATE, String(r.id)), '');
};
/**
 * Waits for `event` while letting every experiment finish, also one proposed meanwhile: the loop
 * may be between two experiments when the wait starts.
 */
async function releasing<T>(event: Promise<T>): Promise<T> {
  release();
  // A tick that cannot read the ledger (busy for longer than its timeout) is retried by the next,
  // not thrown from a timer where it would fail the whole file.
  const timer = setInterval(() => {
    try {
      release();
    } catch {
      // the next tick
    }
  }, 100);
  try {
    return await event;
  } finally {
    clearInterval(timer);
  }
}

beforeAll(async () => {
  repo = makeRepo({
    'exp.sh': EXP,
    'params.sh': 'VALUE=1\n',
    'agent.sh': AGENT,
    'program.md': PROGRAM,
  });
  child = cliAsync(repo, ['run', '--tag', TAG]);
  const url = await waitFor(
    () => /^dashboard: (http:\S+)$/m.exec(child.output())?.[1],
    60_000,
    'the URL of the dashboard `run` serves',
  );
  own = { url, base: new URL(url).origin, token: new URL(url).searchParams.get('token')! };
  await waitFor(() => recorded().some((r) => r.id >= 1), 120_000, 'experiment 1 to be recorded');
  dash = await startDashboard({ repo });
  base = `http://127.0.0.1:${dash.port}`;
});

afterAll(async () => {
  if (repo && child && child.exitCode === null && child.signalCode === null) {
    await cliHere(repo, ['stop', '--now', '--tag', TAG]);
    const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited(child);
    clearTimeout(t);
  }
  await browser?.close();
  await dash?.close();
});

/** The API of the dashboard `run` serves, as a script calls it: the token as Bearer. */
const ownApi = (path: string, method = 'GET') =>
  fetch(`${own.base}${path}`, {
    method,
    headers: { Authorization: `Bearer ${own.token}`, Origin: own.base },
  });

async function chromiumPage(width: number, height: number) {
  if (!browser) {
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  }
  const context = await browser.newContext({ viewport: { width, height } });
  return context.newPage();
}

// The guards, JSON shapes and controls are tested in process (dashboard-app, dashboard-guards);
// here: the real server over a socket, over the ledger of a real run in progress.
describe('dashboard server', () => {
  it('prints a token URL that sets the cookie, and refuses a rebound Host name over the socket', async () => {
    expect(dash.token).toMatch(/^[0-9a-f]{32}$/);
    expect(dash.url).toBe(`${base}/?token=${dash.token}`);
    expect((await fetch(`${base}/api/runs`)).status).toBe(401);
    const r = await fetch(dash.url, { redirect: 'manual' });
    expect(r.status).toBe(303);
    const cookie = (r.headers.get('set-cookie') ?? '').split(';')[0]!;
    const runs = await (await fetch(`${base}/api/runs`, { headers: { Cookie: cookie } })).json();
    expect(runs.runs).toEqual([expect.objectContaining({ tag: TAG, state: 'running' })]);

    // fetch() sets Host from the URL; a rebound name reaches the same socket with its own Host.
    const asHost = (host: string, path: string) =>
      new Promise<{ status: number; body: string }>((done, fail) => {
        const req = request(
          { host: '127.0.0.1', port: dash.port, path, headers: { Host: host, Cookie: cookie } },
          (res) => {
            let body = '';
            res.on('data', (d: Buffer) => (body += d.toString()));
            res.on('end', () => done({ status: res.statusCode ?? 0, body }));
          },
        );
        req.on('error', fail);
        req.end();
      });
    const refused = await asHost(`evil.example:${dash.port}`, '/api/runs');
    expect(refused.status).toBe(421);
    expect(refused.body).toMatch(/^misdirected request/);
    expect((await asHost(`localhost:${dash.port}`, '/api/runs')).status).toBe(200);

    expect(isNonLoopbackHost('127.0.0.1')).toBe(false);
    expect(isNonLoopbackHost('localhost')).toBe(false);
    expect(isNonLoopbackHost('::1')).toBe(false);
    expect(isNonLoopbackHost('0.0.0.0')).toBe(true);
    expect(isNonLoopbackHost('192.168.1.5')).toBe(true);
  });

  it('serves the experiments of the run as the loop records them, with diff, brief and log', async () => {
    const h = auth();
    const api = (await (await fetch(`${base}/api/runs/${TAG}/experiments`, h)).json())
      .experiments as Array<Record<string, unknown>>;
    const rows = ledgerRows(repo, TAG);
    expect(api.length).toBeGreaterThanOrEqual(2);
    expect(rows.length).toBeGreaterThanOrEqual(api.length);
    for (const e of api.filter((x) => x.state === 'recorded')) {
      const row = rows.find((r) => r.id === e.id)!;
      expect({
        id: e.id,
        status: e.status,
        value: e.value,
        title: e.title,
        reason: e.reason,
      }).toEqual({
        id: row.id,
        status: row.status,
        value: row.primary_value,
        title: row.title,
        reason: row.reason,
      });
    }
    const summary = await (await fetch(`${base}/api/runs/${TAG}`, h)).json();
    expect(summary).toMatchObject({
      tag: TAG,
      state: 'running',
      baseline: 1,
      goal: 'maximize',
      budgetSeconds: 5,
    });
    expect(summary.best).toBeGreaterThanOrEqual(2);
    // The drift watch for the header: exact runs of the incumbent never drift (a new incumbent may have too few runs yet to say).
    expect(summary.drift).toMatchObject({
      drifting: false,
      sentence: expect.stringMatching(
        /^(no drift: the incumbent's \d+ runs are identical|too few runs of the incumbent to tell drift from noise \(n=[0-3], needs 4\))$/,
      ),
    });

    const d = await (await fetch(`${base}/api/runs/${TAG}/experiments/1`, h)).json();
    expect(d.title).toBe(`raise to 2 ${XSS}`);
    expect(d.status).toBe('keep');
    expect(d.diff).toContain('+VALUE=2');
    expect(d.brief).toContain('Raise the score.');
    expect(d.log.tail).toContain('starting <script>x</script>');
    const log = await fetch(`${base}/api/runs/${TAG}/experiments/1/log`, h);
    expect(await log.text()).toBe(
      readFileSync(join(repo, '.autoresearch', TAG, 'experiments', '1', 'run.log'), 'utf8'),
    );
  });

  it('streams a change event when an experiment changes', async () => {
    const ac = new AbortController();
    const r = await fetch(`${base}/api/runs/${TAG}/events`, { ...auth(), signal: ac.signal });
    expect(r.headers.get('content-type')).toContain('text/event-stream');
    const reader = r.body!.getReader();
    let text = '';
    await releasing(
      (async () => {
        while (!text.includes('event: change')) {
          const { value, done } = await reader.read();
          if (done) break;
          text += new TextDecoder().decode(value);
        }
      })(),
    );
    ac.abort();
    expect(text).toContain('event: hello');
    expect(text).toContain('event: change');
  });
});

describe('the dashboard `run` serves', () => {
  it('controls its own run: running while it runs, paused and resumed through its API', async () => {
    const view = (await (await ownApi(`/api/runs/${TAG}`)).json()) as Record<string, unknown>;
    expect(view).toMatchObject({ tag: TAG, state: 'running', pid: child.pid });
    const pause = await ownApi(`/api/runs/${TAG}/pause`, 'POST');
    expect(pause.status).toBe(200);
    expect(((await pause.json()) as { message: string }).message).toBe(
      `run ${TAG}: pausing after the experiments in flight (autoresearch resume to continue)`,
    );
    await releasing(
      waitFor(
        () => child.output().includes('paused: `autoresearch resume` continues'),
        120_000,
        'the loop to pause',
      ),
    );
    expect(((await (await ownApi(`/api/runs/${TAG}`)).json()) as { state: string }).state).toBe(
      'paused',
    );
    expect((await ownApi(`/api/runs/${TAG}/resume`, 'POST')).status).toBe(200);
    await waitFor(() => child.output().includes('\nresumed\n'), 60_000, 'the loop to resume');
    expect(((await (await ownApi(`/api/runs`)).json()) as { runs: unknown[] }).runs).toEqual([
      expect.objectContaining({ tag: TAG, state: 'running' }),
    ]);
  });
});

describe.skipIf(!existsSync(CHROMIUM))('dashboard page in Chromium', () => {
  it('plots the run live, pauses and resumes it from its own dashboard, adds a note, and fits a phone', async () => {
    const artifacts = join(ROOT, 'test-artifacts');
    mkdirSync(artifacts, { recursive: true });
    {
      const page = await chromiumPage(1280, 900);
      const dialogs: string[] = [];
      const errors: string[] = [];
      page.on('dialog', (dlg) => {
        dialogs.push(dlg.message());
        void dlg.dismiss();
      });
      page.on('pageerror', (e) => errors.push(e.message));
      // The dashboard the run serves itself: its controls act on its own harness.
      await page.goto(own.url);
      expect(page.url()).toBe(`${own.base}/`);
      // The controls wait for the run's state, then allow what it allows.
      await expect
        .poll(() => page.locator('#run-state').textContent(), { timeout: 120_000 })
        .toBe('running');
      expect(await page.locator('#btn-pause').isDisabled()).toBe(false);
      expect(await page.locator('#btn-resume').isDisabled()).toBe(true);
      // The in-flight bar moves in steps: an animated one redraws the page 60 times a second for
      // as long as an experiment runs.
      expect(
        await page.evaluate(
          () => getComputedStyle(document.getElementById('inflight-bar')!).transitionDuration,
        ),
        'the in-flight bar is not animated',
      ).toBe('0s');
      const points = () =>
        page.evaluate(() => Number(document.getElementById('chart')!.getAttribute('data-points')));

      // The chart has one point per recorded experiment (the run moves on, so compare when they agree).
      await page.waitForFunction(
        () => Number(document.getElementById('chart')!.getAttribute('data-points')) > 0,
        undefined,
        POLL,
      );
      let agreed = false;
      for (let i = 0; i < 60 && !agreed; i++) {
        const before = recorded().length;
        const shown = await points();
        agreed = shown === before && recorded().length === before;
        if (!agreed) await page.waitForTimeout(100);
      }
      expect(agreed).toBe(true);
      const p0 = await points();
      expect(
        await page.evaluate(
          () =>
            (window as unknown as { dashboard: { plot: { data: unknown[][] } } }).dashboard.plot
              .data[0]!.length,
        ),
      ).toBe(p0);
      await releasing(
        page.waitForFunction(
          (n) => Number(document.getElementById('chart')!.getAttribute('data-points')) >= n + 1,
          p0,
          { ...POLL, timeout: 120_000 },
        ),
      );

      // Agent text shows literally and creates no element.
      await expect.poll(() => page.locator('#experiments tbody').textContent()).toContain(XSS);
      expect(await page.locator('img').count()).toBe(0);
      await page.click('#experiments tbody tr[data-id="1"]');
      await expect
        .poll(() => page.locator('#detail-title').textContent())
        .toBe(`#1 raise to 2 ${XSS}`);
      expect(await page.locator('#detail-hypothesis').textContent()).toBe(
        'a larger VALUE <b>scores</b> higher',
      );
      expect(await page.locator('#detail-diff').textContent()).toContain('+VALUE=2');
      expect(await page.locator('#detail-log').textContent()).toContain(
        'starting <script>x</script>',
      );
      expect(await page.locator('#detail b, #detail script, #detail img').count()).toBe(0);
      await page.screenshot({ path: join(artifacts, 'dashboard-desktop.png'), fullPage: true });

      // Pause from the page: the PAUSE file appears and the loop pauses; resume continues.
      await page.click('#btn-pause');
      await waitFor(
        () => existsSync(join(repo, '.autoresearch', TAG, 'PAUSE')),
        120_000,
        'the PAUSE file',
      );
      await releasing(
        waitFor(
          () => child.output().includes('paused: `autoresearch resume` continues'),
          120_000,
          'the loop to pause',
        ),
      );
      expect((await cliHere(repo, ['status', '--tag', TAG])).stdout).toMatch(/: paused \(pid \d+/);
      await expect
        .poll(() => page.locator('#run-state').textContent(), { timeout: 120_000 })
        .toBe('paused');
      expect(await page.locator('#btn-pause').isDisabled()).toBe(true);
      expect(await page.locator('#btn-resume').isDisabled()).toBe(false);
      const atPause = ledgerRows(repo, TAG).length;
      await page.click('#btn-resume');
      await waitFor(
        () => !existsSync(join(repo, '.autoresearch', TAG, 'PAUSE')),
        120_000,
        'the PAUSE file to go',
      );
      await waitFor(
        () => ledgerRows(repo, TAG).length > atPause,
        120_000,
        'a new experiment after resume',
      );

      // A steering note from the page reaches the ledger and the next brief.
      const note = 'try <b>bigger</b> steps & report';
      const lastId = Math.max(...ledgerRows(repo, TAG).map((r) => r.id));
      await page.fill('#note-text', note);
      await page.click('#note-form button[type=submit]');
      await expect.poll(() => page.locator('#note-msg').textContent()).toContain('note added');
      expect((await cliHere(repo, ['note', '--list', '--tag', TAG])).stdout).toContain(note);
      const briefWithNote = () => {
        const dir = join(repo, '.autoresearch', TAG, 'experiments');
        return readdirSync(dir)
          .map(Number)
          .filter((id) => id > lastId)
          .some((id) => {
            const f = join(dir, String(id), 'brief.md');
            return existsSync(f) && readFileSync(f, 'utf8').includes(`- ${note}`);
          });
      };
      await releasing(waitFor(briefWithNote, 120_000, 'a brief with the note'));

      // A phone: header and chart fit, no horizontal scrolling of the page.
      await page.setViewportSize({ width: 390, height: 844 });
      await page.waitForFunction(
        () =>
          document.querySelector('#chart canvas')!.getBoundingClientRect().width <=
          window.innerWidth,
        undefined,
        POLL,
      );
      const fit = await page.evaluate(() => ({
        scroll: document.scrollingElement!.scrollWidth,
        inner: window.innerWidth,
        chart: document.querySelector('#chart canvas')!.getBoundingClientRect().width,
        header: document.getElementById('top')!.getBoundingClientRect().width,
      }));
      expect(fit.scroll).toBeLessThanOrEqual(fit.inner);
      expect(fit.chart).toBeLessThanOrEqual(fit.inner);
      expect(fit.chart).toBeGreaterThan(250);
      expect(fit.header).toBeLessThanOrEqual(fit.inner);
      await expectCards(page);
      await page.screenshot({ path: join(artifacts, 'dashboard-phone.png'), fullPage: true });

      expect(dialogs).toEqual([]);
      expect(errors).toEqual([]);
      // Left open at phone size for the finished run: a page of its own costs a renderer start.
      phone = page;
    }
  });
});

/** At phone width the experiments are cards: no header row, nothing wider than the screen, every title whole. */
async function expectCards(page: Page): Promise<void> {
  const cards = await page.evaluate(() => {
    const wrap = document.querySelector('.table-wrap')!;
    const rows = [...document.querySelectorAll('#experiments tbody tr')];
    return {
      head: getComputedStyle(document.querySelector('#experiments thead')!).display,
      display: rows.map((r) => getComputedStyle(r).display),
      widest: Math.max(...rows.map((r) => r.getBoundingClientRect().right)),
      inner: window.innerWidth,
      clipped: wrap.scrollWidth > wrap.clientWidth,
      titles: rows.map((r) => (r.querySelector('td[data-label="title"]') as HTMLElement).innerText),
    };
  });
  expect(cards.head).toBe('none');
  expect(new Set(cards.display)).toEqual(new Set(['flex']));
  expect(cards.widest).toBeLessThanOrEqual(cards.inner);
  expect(cards.clipped).toBe(false);
  expect(cards.titles).toContain(`raise to 2 ${XSS}`);
}

describe('the end of the run', () => {
  it('stops its own run through the API of the dashboard it serves', async () => {
    const r = await ownApi(`/api/runs/${TAG}/stop`, 'POST');
    expect(r.status).toBe(200);
    expect(((await r.json()) as { message: string }).message).toBe(
      `run ${TAG}: will stop after the experiment in flight (harness pid ${child.pid})`,
    );
    expect(await releasing(exited(child))).toEqual({ code: 0, signal: null });
    expect(child.output()).toContain('stopped: stop requested');
  });

  it.skipIf(!existsSync(CHROMIUM))(
    'shows a finished run with its controls disabled, and its best line redrawn when the incumbent is measured again',
    async () => {
      const page = phone ?? (await chromiumPage(390, 844));
      await page.goto(dash.url);
      await expect
        .poll(() => page.locator('#run-state').textContent(), { timeout: 120_000 })
        .toBe('stopped: stop requested');
      for (const verb of ['pause', 'resume', 'stop', 'stop-now', 'abort'])
        expect(await page.locator(`#btn-${verb}`).isDisabled(), verb).toBe(true);
      expect(await page.locator('#controls-off').textContent()).toBe(
        `not running: autoresearch run --tag ${TAG} continues it`,
      );
      await expectCards(page);

      // The best line is the incumbent's current value: a re-measurement that moves it moves the line.
      const best = () =>
        page.evaluate(() => {
          const d = (window as unknown as { dashboard: { plot: { data: number[][] } } }).dashboard
            .plot.data;
          return d[0]!.map((id, i) => [id, d[4]![i]] as const);
        });
      const incumbent = recorded()
        .filter((r) => r.status === 'keep')
        .at(-1)!;
      expect((await best()).find(([id]) => id === incumbent.id)![1]).toBe(incumbent.primary_value);
      const ledger = new Ledger(join(repo, '.autoresearch', 'ledger.sqlite'));
      try {
        ledger.updateExperiment(TAG, incumbent.id, { primary_value: 0.5 });
      } finally {
        ledger.close();
      }
      await page.waitForFunction(
        (id) => {
          const d = (window as unknown as { dashboard: { plot: { data: number[][] } } }).dashboard
            .plot.data;
          return d[4]![d[0]!.indexOf(id)] === 0.5;
        },
        incumbent.id,
        POLL,
      );
      // Every later experiment was judged against it: the line stays at its value, and each
      // discard (lower scores, the goal is to maximize) stays on the worse side of it.
      const line = await best();
      const rows = recorded();
      for (const [id, v] of line.filter(([id]) => id >= incumbent.id)) {
        expect(v, `#${id}`).toBe(0.5);
        const r = rows.find((x) => x.id === id)!;
        if (r.status === 'discard') expect(r.primary_value!).toBeLessThan(0.5);
      }
      await page.screenshot({ path: join(ROOT, 'test-artifacts', 'dashboard-finished-phone.png') });
      await page.context().close();
    },
  );
});

describe('stop now', () => {
  it('kills the experiment in flight and stops the run at once; the experiment runs again on resume', async () => {
    // A run of its own, whose candidates run until they are killed.
    const own = makeRepo({
      'exp.sh':
        '#!/bin/bash\nsource ./params.sh\n[ "$AUTORESEARCH_EXPERIMENT_ID" -gt 0 ] && sleep 600\necho "score: $VALUE"\n',
      'params.sh': 'VALUE=1\n',
      'agent.sh': AGENT,
      'program.md': PROGRAM,
    });
    const run = cliAsync(own, ['run', '--tag', TAG, '--no-dashboard']);
    const server = await startDashboard({ repo: own });
    try {
      const at = `http://127.0.0.1:${server.port}`;
      const stopNow = () =>
        fetch(`${at}/api/runs/${TAG}/stop-now`, {
          method: 'POST',
          headers: { Authorization: `Bearer ${server.token}`, Origin: at },
        });
      await waitFor(
        () => ledgerRows(own, TAG).some((r) => r.id === 1 && r.state === 'running'),
        120_000,
        'experiment 1 to run',
      );
      const r = await stopNow();
      expect(r.status).toBe(200);
      expect(((await r.json()) as { message: string }).message).toContain('stopping now');
      const { code } = await exited(run);
      expect(code).toBe(130); // interrupted, as after Ctrl-C
      expect(run.output()).toContain(
        'SIGTERM: stopping the experiment in flight and saving the run',
      );
      const row = ledgerRows(own, TAG).find((x) => x.id === 1)!;
      expect(row.state).toBe('committed'); // not finished, not lost: the next start runs it again
      expect((await stopNow()).status).toBe(409);
    } finally {
      if (run.exitCode === null && run.signalCode === null) run.kill('SIGKILL');
      await server.close();
    }
  });
});
