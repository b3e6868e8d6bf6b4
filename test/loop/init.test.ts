/**
 * `autoresearch init` through the command line, in this process (cliHere): answers piped in,
 * flags, `--probe`, and a program.md that `run` takes as written.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseProgram } from '../../src/program/program.js';
import { cliHere } from '../helpers/cli-here.js';
import { ledgerRows, makeRepo, type CliResult } from '../helpers/repo.js';

/** The CLI with `input` on its stdin (a pipe, not a terminal). */
function init(cwd: string, args: string[], input: string): Promise<CliResult> {
  return cliHere(cwd, ['init', ...args], { ANTHROPIC_API_KEY: '', OPENAI_API_KEY: '' }, input);
}

const programOf = (repo: string) => {
  const text = readFileSync(join(repo, 'program.md'), 'utf8');
  return { text, config: parseProgram(text, 'program.md').config };
};

// A Node project: a benchmark whose time depends on a size constant, and a test script.
const NODE_PROJECT = {
  'package.json': JSON.stringify({ scripts: { test: 'node check.js' } }),
  'check.js': "require('./lib.js');\n",
  'lib.js': 'const CHUNK = 2**12;\nmodule.exports = { CHUNK };\n',
  'bench.js': "const { CHUNK } = require('./lib.js');\nconsole.log(`time_ms: ${1e6 / CHUNK}`);\n",
};

describe('autoresearch init', () => {
  it('takes answers piped in, detects the tests, and writes a program run takes as written', async () => {
    const repo = makeRepo(NODE_PROJECT);
    const answers = [
      'node bench.js', // run
      '10s', // budget
      'time_ms', // metric
      '', // goal: guessed from the name
      '', // timeout
      'lib.js', // editable
      'bench.js', // protected
      '', // checks: the detected npm test
      '', // constraints
      'tune', // agent
      '', // files to tune: the editable ones
      '', // tune which: all
      '1', // stop after experiments
      // hours: the input ends, so the default
    ];
    const r = await init(repo, [], answers.join('\n') + '\n');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('tests: npm test');
    expect(r.stdout).toMatch(/agents:\n {2}tune .*needs nothing\n {2}llm .*API key/);
    const { text, config } = programOf(repo);
    expect(config.metric).toMatchObject({ name: 'time_ms', goal: 'minimize' });
    expect(config.run).toBe('node bench.js');
    expect(config.budget).toBe(10);
    expect(config.editable).toEqual(['lib.js']);
    expect(config.protected).toEqual(['bench.js']);
    expect(config.checks).toBe('npm test');
    expect(config.agent).toBe('tune');
    expect(config.stop.experiments).toBe(1);
    expect(config.stop.hours).toBeUndefined();
    expect(text).toContain('CHUNK: { file: lib.js, type: int, min: 512, max: 32768');
    expect(text).toContain('process.env.AUTORESEARCH_TIME_BUDGET'); // a Node hint, not a Python one
    // The first `run` works without editing: the baseline, then one tuned candidate.
    spawnSync('git', ['add', '-A'], { cwd: repo });
    spawnSync('git', ['commit', '-qm', 'program'], { cwd: repo });
    const run = await cliHere(repo, ['run', '--tag', 't']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const rows = ledgerRows(repo, 't');
    expect(rows.map((e) => e.status)).toEqual(['keep', expect.stringMatching(/keep|discard/)]);
    // The candidate changed the size as a size: still written as 2**k.
    const diff = spawnSync('git', ['show', rows[1]!.candidate_commit!, '--', 'lib.js'], {
      cwd: repo,
      encoding: 'utf8',
    }).stdout;
    expect(diff).toMatch(/^\+const CHUNK = 2\*\*\d+;$/m);
  });

  it('--probe runs the command once and proposes the metrics it printed', async () => {
    const repo = makeRepo({
      'exp.sh':
        'echo "step 1"\necho "METRIC latency_ms=3.5 budget=$AUTORESEARCH_TIME_BUDGET"\necho "accuracy: 0.91"\n',
    });
    const r = await init(
      repo,
      ['--probe', '--run', 'bash exp.sh', '--budget', '7s', '--editable', 'exp.sh', '-y'],
      '',
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/probe: exit 0 after [\d.]+s; 3 metrics printed/);
    expect(r.stdout).toContain('  latency_ms = 3.5\n  budget = 7\n  accuracy = 0.91\n');
    // -y takes the first metric printed, and a goal that fits its name.
    expect(programOf(repo).config.metric).toMatchObject({ name: 'latency_ms', goal: 'minimize' });
    const quiet = await init(
      makeRepo({ 'exp.sh': 'echo done\n' }),
      ['--probe', '--run', 'bash exp.sh', '--budget', '5s', '--editable', 'exp.sh', '-y'],
      '',
    );
    expect(quiet.stdout).toContain('0 metrics printed');
    expect(quiet.stdout).toContain('    | done');
    expect(quiet.code).toBe(2);
    expect(quiet.stderr).toContain('missing --metric');
  });

  it('takes checks, constraints, the command agent and stop conditions as flags', async () => {
    const repo = makeRepo(NODE_PROJECT);
    const r = await cliHere(repo, [
      'init',
      '-y',
      '--run',
      'node bench.js # quick',
      '--metric',
      'time_ms',
      '--budget',
      '30s',
      '--editable',
      'lib.js',
      '--checks',
      'npm test -- --quiet',
      '--constraints',
      'memory_gb <= 2, p99_ms <= 20',
      '--agent-command',
      './propose.sh',
      '--hours',
      '8',
    ]);
    expect(r.stderr).toBe('');
    const { text, config } = programOf(repo);
    expect(text).toContain('run: "node bench.js # quick"');
    expect(config.timeout).toBe(90); // max(2 x budget, budget + 60 s), as run's own default
    expect(config.checks).toBe('npm test -- --quiet');
    expect(config.constraints).toEqual(['memory_gb <= 2', 'p99_ms <= 20']);
    expect(config.agent).toEqual({ name: 'command', command: './propose.sh' });
    expect(config.stop.hours).toBe(8);
    // --force: the old settings are the defaults; flags change only what they name.
    const again = await cliHere(repo, ['init', '-y', '--force', '--no-checks', '--hours', 'none']);
    expect(again.stderr).toBe('');
    const kept = programOf(repo).config;
    expect(kept.metric.name).toBe('time_ms');
    expect(kept.constraints).toEqual(['memory_gb <= 2', 'p99_ms <= 20']);
    expect(kept.agent).toEqual({ name: 'command', command: './propose.sh' });
    expect(kept.checks).toBeUndefined();
    expect(kept.stop.hours).toBeUndefined();
    // An answer run would reject: the reason, and the file left as it was.
    const before = readFileSync(join(repo, 'program.md'), 'utf8');
    const bad = await cliHere(repo, ['init', '-y', '--force', '--constraints', 'mem < x']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('constraints.0: write a constraint as `name <= number`');
    expect(readFileSync(join(repo, 'program.md'), 'utf8')).toBe(before);
    // --agent command alone: a placeholder run accepts, and init says what to replace.
    const fresh = makeRepo(NODE_PROJECT);
    const stub = await cliHere(fresh, [
      'init',
      '-y',
      ...['--agent', 'command', '--run', 'node bench.js', '--metric', 'time_ms'],
      ...['--editable', 'lib.js'],
    ]);
    expect(stub.stdout).toContain('before run: agent.command is a placeholder');
    expect(programOf(fresh).config.agent).toMatchObject({
      name: 'command',
      command: expect.stringMatching(/^exit 99 /),
    });
    // Missing answers: the fix is an example in the project's language.
    const missing = await cliHere(makeRepo({ 'package.json': '{}' }), ['init', '-y']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('missing --metric, --run, --editable');
    expect(missing.stderr).toContain('--run "node bench.js"');
    expect(missing.stderr).not.toContain('python');
  });

  it('recognizes the single-GPU training layout and keeps existing prose', async () => {
    const repo = makeRepo({
      'train.py': 'LR = 0.04\n',
      'prepare.py': '# data\n',
      'program.md': '# My research\nTry a bigger model.\n',
      'pyproject.toml': '',
    });
    const r = await cliHere(repo, ['init', '--yes', '--force']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('detected: single-GPU training');
    const text = readFileSync(join(repo, 'program.md'), 'utf8');
    expect(text).toContain('metric: { name: val_bpb, goal: minimize }');
    expect(text).toContain('run: uv run train.py');
    expect(text).toContain('budget: 300s');
    expect(text).toContain('editable: [ train.py ]');
    expect(text).toContain('protected: [ prepare.py ]');
    // Nobody chose an agent: the constants of train.py make tune the one that runs as is.
    expect(text).toContain('agent: tune');
    expect(text).toContain('LR: { file: train.py, type: float, min: 0.004, max: 0.4, log: true }');
    expect(text.endsWith('# My research\nTry a bigger model.\n')).toBe(true);
    expect((await cliHere(repo, ['init', '--yes'])).stderr).toContain('already has front matter');
  });

  it('--tune offers the constants of a file as the search space', async () => {
    const repo = makeRepo({
      'train.ts':
        'const LEARNING_RATE = 0.003; // lr\nconst HIDDEN_DIM = 64;\nconst WARMDOWN_RATIO = 0.4;\nconst SEED = 1;\n',
      'prepare.ts': '',
    });
    const r = await cliHere(repo, ['init', '-y', '--tune', 'train.ts']);
    expect(r.code).toBe(0);
    const text = readFileSync(join(repo, 'program.md'), 'utf8');
    expect(text).toContain('agent: tune');
    expect(text).toContain(
      'LEARNING_RATE: { file: train.ts, type: float, min: 0.0003, max: 0.03, log: true }',
    );
    expect(text).toContain(
      'HIDDEN_DIM: { file: train.ts, type: int, min: 8, max: 512, log: false, pow2: true }',
    );
    expect(text).toContain('WARMDOWN_RATIO: { file: train.ts, type: float, min: 0, max: 1');
    expect(text).not.toContain('SEED:'); // seeds only fit noise
  });
});
