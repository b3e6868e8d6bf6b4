/**
 * The evaluator (protected): serves a built site on 127.0.0.1, runs Lighthouse's performance
 * audit on it (mobile, simulated throttling) in headless Chromium, checks that the page still
 * shows the same content, and prints
 *   METRIC score=...         Lighthouse's performance score, 0-100 (the metric: maximize)
 *   METRIC lcp_ms=... tbt_ms=... cls=... fcp_ms=... si_ms=...   its measurements
 *   METRIC bytes=...         bytes transferred to load the page
 *   METRIC content_diff=...  lines of visible text (and loaded images) that differ from
 *                            perf/expected.txt (a constraint: 0)
 * The content is checked first: a page that changed it is not audited (an audit costs about 15
 * CPU-seconds, and the constraint refuses the page anyway); it prints score=0 and content_diff.
 * The audit runs only what it prints and what the score weighs (see performanceConfig).
 * Usage: node perf/lighthouse.mjs [folder, default site/dist] [--write-expected]
 * Chromium: $CHROME_PATH, else /usr/bin/chromium. Lighthouse: npm install --prefix perf.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { serve } from './serve.mjs';

const args = process.argv.slice(2);
const writeExpected = args.includes('--write-expected');
const folder = args.find((a) => !a.startsWith('--')) ?? 'site/dist';
const expectedFile = new URL('expected.txt', import.meta.url);
const chromePath = process.env.CHROME_PATH || '/usr/bin/chromium';
const OPPORTUNITIES = [
  'render-blocking-resources',
  'uses-responsive-images',
  'unminified-javascript',
];

function fail(message, fix) {
  console.error(`perf/lighthouse.mjs: ${message}\n  fix: ${fix}`);
  process.exit(2);
}
if (!existsSync(chromePath))
  fail(`no Chromium at ${chromePath}`, 'install chromium, or set CHROME_PATH to a Chrome binary');
if (!existsSync(`${folder}/index.html`))
  fail(`no ${folder}/index.html to serve`, 'build the site first, or pass the folder to serve');

// Lighthouse from the project; chrome-launcher and puppeteer-core from Lighthouse's own deps.
const require = createRequire(import.meta.url);
let lighthousePath;
try {
  lighthousePath = require.resolve('lighthouse');
} catch {
  fail('Lighthouse is not installed', 'npm install --prefix perf (Lighthouse 12.2.3, Node 20)');
}
// Their ES module entries: Lighthouse imports puppeteer-core as one, and loading its CommonJS
// twin beside it would cost half a CPU-second more per run.
function fromLighthouse(name) {
  const manifest = createRequire(lighthousePath).resolve(`${name}/package.json`);
  const pkg = JSON.parse(readFileSync(manifest, 'utf8'));
  const entry = pkg.exports?.['.']?.import ?? pkg.main ?? 'index.js';
  return pathToFileURL(join(dirname(manifest), entry)).href;
}
const chromeLauncher = await import(fromLighthouse('chrome-launcher'));
const { default: puppeteer } = await import(fromLighthouse('puppeteer-core'));

const site = await serve(folder);
// chrome-launcher's flags, and no omnibox popup: headless Chromium builds it at start anyway (a
// WebUI renderer beside the page being measured; an audit took 14.6-15.2 CPU-seconds with it and
// 11.8-12.4 without on a 2-core VM). Chromium takes the last --disable-features only, so the two
// lists join.
const NO_OMNIBOX = 'WebUIOmniboxPopup,WebUIOmniboxAimPopup,WebUIOmniboxFullPopup';
const defaults = chromeLauncher.Launcher.defaultFlags();
const joined = defaults.some((f) => f.startsWith('--disable-features='))
  ? defaults.map((f) => (f.startsWith('--disable-features=') ? `${f},${NO_OMNIBOX}` : f))
  : [...defaults, `--disable-features=${NO_OMNIBOX}`];
const chrome = await chromeLauncher.launch({
  chromePath,
  ignoreDefaultFlags: true,
  // No Chromium sandbox inside the run's own, and no /dev/shm there.
  chromeFlags: [
    ...joined,
    '--headless=new',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-dev-shm-usage',
  ],
  logLevel: 'silent',
});
let exitCode = 0;
try {
  const content = await pageContent(chrome.port, site.url);
  if (writeExpected) {
    writeFileSync(expectedFile, content.filter((l) => l.trim()).join('\n') + '\n');
    console.log(`wrote perf/expected.txt`);
  }
  const diff = contentDiff(readFileSync(expectedFile, 'utf8').split('\n'), content);
  for (const line of diff.slice(0, 20)) console.log(`content: ${line}`);
  if (diff.length > 0) {
    console.log(
      'the page does not show the content of perf/expected.txt: not audited, score 0' +
        ' (if the original site differs, run node perf/lighthouse.mjs --write-expected)',
    );
    console.log(`METRIC score=0 content_diff=${diff.length}`);
  } else {
    // Imported only now: a second of CPU that a refused page does not need.
    const { default: lighthouse } = await import(pathToFileURL(lighthousePath).href);
    const result = await lighthouse(
      site.url,
      { port: chrome.port, output: 'json', logLevel: 'error' },
      await performanceConfig(),
    );
    const lhr = result?.lhr;
    if (!lhr || lhr.runtimeError) {
      console.error(`Lighthouse failed: ${lhr?.runtimeError?.message ?? 'no report'}`);
      exitCode = 1;
    } else report(lhr, diff.length);
  }
} finally {
  await chrome.kill();
  await site.close();
}
process.exit(exitCode);

/**
 * Lighthouse's default config cut down to what is printed: the performance category with the
 * audits it weighs (its score is their weighted mean; the others weigh 0), total-byte-weight and
 * the opportunities. Lighthouse then gathers only what these need: no full-page screenshot, no
 * back/forward-cache navigation, no coverage or console gatherers, and loads only these audits.
 */
async function performanceConfig() {
  const url = pathToFileURL(require.resolve('lighthouse/core/config/default-config.js'));
  const { default: config } = await import(url.href);
  const performance = config.categories.performance;
  const ids = new Set([
    ...performance.auditRefs.filter((ref) => ref.weight > 0).map((ref) => ref.id),
    'total-byte-weight',
    ...OPPORTUNITIES,
  ]);
  const audits = config.audits.filter((path) => ids.has(path.split('/').pop()));
  if (audits.length !== ids.size) fail('Lighthouse lacks an audit', 'npm install --prefix perf');
  return {
    ...config,
    audits,
    categories: {
      performance: {
        ...performance,
        auditRefs: performance.auditRefs.filter((ref) => ids.has(ref.id)),
      },
    },
    settings: { ...config.settings, disableFullPageScreenshot: true },
  };
}

/** What a reader sees once the page has loaded: its text lines, then its loaded images. */
async function pageContent(port, url) {
  const browser = await puppeteer.connect({ browserURL: `http://127.0.0.1:${port}` });
  try {
    const page = await browser.newPage();
    await page.goto(url, { waitUntil: 'networkidle0', timeout: 30_000 });
    const lines = await page.evaluate(() => [
      ...document.body.innerText.split('\n'),
      ...[...document.images]
        .filter((img) => img.complete && img.naturalWidth > 0 && img.getClientRects().length > 0)
        .map((img) => `[image: ${img.alt}]`),
    ]);
    await page.close(); // nothing of it may run beside the audit
    return lines;
  } finally {
    await browser.disconnect();
  }
}

/** Lines missing from the page (-) or new on it (+), whitespace and blank lines aside. */
function contentDiff(expected, actual) {
  const norm = (lines) => lines.map((l) => l.replace(/\s+/g, ' ').trim()).filter(Boolean);
  const left = new Map();
  for (const l of norm(expected)) left.set(l, (left.get(l) ?? 0) + 1);
  const added = [];
  for (const l of norm(actual)) {
    if (left.get(l)) left.set(l, left.get(l) - 1);
    else added.push(`+ ${l}`);
  }
  const missing = [...left].flatMap(([l, n]) => Array(n).fill(`- ${l}`));
  return [...missing, ...added];
}

function report(lhr, contentLines) {
  const value = (id) => lhr.audits[id]?.numericValue ?? NaN;
  const score = lhr.categories.performance.score * 100;
  for (const id of OPPORTUNITIES) {
    const a = lhr.audits[id];
    if (a?.score !== null && a?.score < 1)
      console.log(`opportunity: ${a.title} ${a.displayValue ?? ''}`);
  }
  console.log(
    `METRIC score=${score.toFixed(1)} lcp_ms=${value('largest-contentful-paint').toFixed(0)}` +
      ` tbt_ms=${value('total-blocking-time').toFixed(0)} cls=${value('cumulative-layout-shift').toFixed(3)}` +
      ` fcp_ms=${value('first-contentful-paint').toFixed(0)} si_ms=${value('speed-index').toFixed(0)}` +
      ` bytes=${value('total-byte-weight').toFixed(0)} content_diff=${contentLines}`,
  );
}
