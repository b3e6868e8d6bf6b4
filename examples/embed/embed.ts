/**
 * Embedding autoresearch: a program of your own drives the loop with an agent of your own.
 *
 *   npx tsx embed.ts [folder]      (folder: where the toy repository goes; default a new temp folder)
 *
 * It creates a small git repository whose experiment trains a toy model by gradient descent and
 * prints its loss, then lets a seeded random-search agent tune the learning rate for a few
 * experiments. The harness does everything else exactly as `autoresearch run` does: commits each
 * proposal on branch autoresearch/<tag>, runs it sealed, keeps it only if it is better, records it.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  detectSandbox,
  openLedger,
  startRun,
  type Agent,
  type ProposalContext,
} from 'autoresearch';

const TAG = 'embed';
const EXPERIMENTS = 4;
const SEED = Number(process.env.SEED ?? 7);

const FILES: Record<string, string> = {
  'program.md': `---
metric: { name: loss, goal: minimize, deterministic: true }
run: node train.mjs
budget: 10s
editable: [config.mjs]
protected: [train.mjs]
---
Lower the loss of the toy training in train.mjs by tuning its learning rate in config.mjs.
`,
  'config.mjs': 'export const LEARNING_RATE = 0.001;\n',
  // Gradient descent on a quadratic with curvatures 1, 10 and 100: too small a rate leaves the flat
  // direction untrained after 50 steps, too large (above 0.02) diverges.
  'train.mjs': `import { LEARNING_RATE } from './config.mjs';
const curvature = [1, 10, 100];
let w = [1, 1, 1];
for (let step = 0; step < 50; step++) w = w.map((x, i) => x - LEARNING_RATE * curvature[i] * x);
const loss = w.reduce((sum, x, i) => sum + 0.5 * curvature[i] * x * x, 0);
console.log('loss: ' + (Number.isFinite(loss) ? Math.min(loss, 1e9) : 1e9));
`,
};

/** A small seeded generator (mulberry32), so a run proposes the same values every time. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * The agent: multiplies the incumbent's learning rate by a random factor between 1/4 and 4. The
 * workspace it gets is a checkout of the incumbent, so this is a hill climb. It changes files
 * only; the harness commits, runs, measures and decides.
 */
const seededSearch: Agent = {
  name: 'seeded-search',
  async propose(ctx: ProposalContext) {
    const file = join(ctx.programDir, 'config.mjs');
    const text = readFileSync(file, 'utf8');
    const current = Number(/LEARNING_RATE = ([\d.e+-]+)/.exec(text)?.[1]);
    const next = Number(
      (current * 4 ** (2 * random(SEED * 1000 + ctx.experimentId)() - 1)).toPrecision(3),
    );
    writeFileSync(file, text.replace(/LEARNING_RATE = [\d.e+-]+/, `LEARNING_RATE = ${next}`));
    // A process an agent starts goes in the sandbox: ctx.seal.prefix before the command (empty
    // when the run is unsealed), ctx.seal.env added. Here: check the edited file still parses.
    const [cmd, ...args] = [...ctx.seal.prefix, process.execPath, '--check', file];
    const check = spawnSync(cmd!, args, {
      cwd: ctx.programDir,
      env: { PATH: process.env.PATH ?? '', ...ctx.seal.env },
      encoding: 'utf8',
    });
    if (check.status !== 0) throw new Error(`config.mjs does not parse: ${check.stderr}`);
    return {
      title: `learning rate ${current} -> ${next}`,
      hypothesis: `the brief's best so far is ${ctx.brief.incumbent.value}`,
    };
  },
};

function createRepository(dir: string): void {
  if (existsSync(dir) && readdirSync(dir).length > 0) {
    console.error(`${dir} is not empty: pass a new folder (or none, for a temporary one)`);
    process.exit(2);
  }
  const git = (...args: string[]) => execFileSync('git', args, { cwd: dir, stdio: 'pipe' });
  mkdirSync(dir, { recursive: true });
  for (const [path, content] of Object.entries(FILES)) writeFileSync(join(dir, path), content);
  git('init', '-q', '-b', 'main');
  git('config', 'user.name', 'embed example');
  git('config', 'user.email', 'embed@example.invalid');
  git('add', '-A');
  git('commit', '-q', '-m', 'toy training');
}

const repo = process.argv[2] ?? mkdtempSync(join(tmpdir(), 'autoresearch-embed-'));
createRepository(repo);
const sandbox = await detectSandbox();
console.log(
  `repository ${repo}; ${sandbox.sealed ? `sealed by bubblewrap ${sandbox.version}` : `unsealed: ${sandbox.reason}`}`,
);

const result = await startRun({
  cwd: repo,
  tag: TAG,
  agent: seededSearch,
  maxExperiments: EXPERIMENTS,
  onEvent: (e) => {
    if (e.type === 'recorded')
      console.log(
        `#${e.experiment.id} ${e.experiment.status} ${e.experiment.primary_value ?? '-'}  ${e.experiment.title}`,
      );
  },
});

const ledger = await openLedger(repo);
try {
  const s = await ledger.summary(TAG);
  console.log(`stopped: ${result.reason}`);
  console.log(
    `baseline ${s.baseline}, best ${s.best} (${s.bestTitle}), ${s.improvementPct?.toFixed(1)}% better after ${s.candidates} experiments`,
  );
  for (const e of ledger.experiments(TAG))
    console.log(`  ${e.id}  ${e.agent}  ${e.status}  ${e.primary_value}  ${e.title}`);
} finally {
  ledger.close();
}
