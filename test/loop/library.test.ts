/**
 * The library entry point, imported by the package's own name (its `exports` map, so dist/): the
 * public surface, startRun with an Agent object (sealed like the built-in agents), and the
 * read-only ledger. A real repository, real git, a real sealed run.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import * as lib from 'autoresearch';
import type { Agent, LoopResult, ProposalContext } from 'autoresearch';
import { gitIn, makeRepo } from '../helpers/repo.js';
import { tempDir } from '../helpers/temp.js';

const sealed = await lib.detectSandbox();

const PROGRAM = `---
metric: { name: score, goal: minimize, deterministic: true }
run: bash exp.sh
budget: 10s
editable: [params.sh]
protected: [exp.sh]
---
Lower the score.
`;

const FILES = {
  'program.md': PROGRAM,
  'exp.sh': 'source ./params.sh\necho "score: $VALUE"\n',
  'params.sh': 'VALUE=10\n',
};

/** What the agent saw from inside its sandbox, per proposal. */
interface Seen {
  experimentId: number;
  /** The sealed edit of params.sh exited 0. */
  edited: boolean;
  /** A write outside the workspace and the temp folder exited 0. */
  wroteOutside: boolean;
  /** The run's ledger was visible. */
  sawLedger: boolean;
  wroteTmp: boolean;
}

/** Lowers VALUE by one per proposal, through a process started in ctx.seal as an agent should. */
function loweringAgent(repo: string, outside: string, seen: Seen[]): Agent {
  return {
    name: 'lowering',
    async propose(ctx: ProposalContext) {
      const value =
        Number(/VALUE=(\d+)/.exec(readFileSync(join(ctx.programDir, 'params.sh'), 'utf8'))![1]) - 1;
      const sh = (script: string) =>
        spawnSync(
          ctx.seal.prefix[0] ?? 'bash',
          [...ctx.seal.prefix.slice(1), ...(ctx.seal.prefix.length ? ['bash'] : []), '-c', script],
          {
            cwd: ctx.programDir,
            env: { PATH: process.env.PATH ?? '', ...ctx.seal.env },
          },
        ).status === 0;
      seen.push({
        experimentId: ctx.experimentId,
        edited: sh(`echo VALUE=${value} > params.sh`),
        wroteOutside: sh(`echo escaped > ${outside}/escaped.txt`),
        sawLedger: sh(`test -e ${repo}/.autoresearch/ledger.sqlite`),
        wroteTmp: sh('echo ok > "$TMPDIR/scratch"'),
      });
      return { title: `value ${value}` };
    },
  };
}

describe('the library entry point', () => {
  it('exports exactly the documented surface (no Ledger writer, no fault injection)', () => {
    expect(Object.keys(lib).sort()).toEqual([
      'AgentExhausted',
      'CommandAgent',
      'LedgerReader',
      'LocalExecutor',
      'ProgramError',
      'SlurmExecutor',
      'UserError',
      'detectSandbox',
      'measureReruns',
      'noiseAwarePolicy',
      'openLedger',
      'pairedPolicy',
      'startRun',
      'strictPolicy',
    ]);
  });

  it('refuses an agent that is neither a name nor an Agent, and a model for an Agent object, before a run starts', async () => {
    const repo = makeRepo(FILES);
    await expect(
      lib.startRun({ cwd: repo, agent: { name: 'x' } as unknown as Agent }),
    ).rejects.toThrow(/neither a registered name nor an Agent/);
    const agent: Agent = { name: 'mine', propose: async () => ({ title: 't' }) };
    await expect(lib.startRun({ cwd: repo, agent, model: 'openai:gpt-5' })).rejects.toThrow(
      /`model` configures a named agent/,
    );
    await expect(lib.startRun({ cwd: repo, agent, model: 'openai:gpt-5' })).rejects.toBeInstanceOf(
      lib.UserError,
    );
    const reader = await lib.openLedger(repo);
    try {
      expect(reader.runs()).toEqual([]);
    } finally {
      reader.close();
    }
    expect(gitIn(repo, 'branch', '--list', 'autoresearch/*')).toBe('');
  });

  it('tells a reader of a repository without runs how to start one, and creates nothing', async () => {
    const repo = makeRepo(FILES);
    await expect(lib.openLedger(repo)).rejects.toThrow(
      /no runs yet in .*\n {2}fix: start a run first/,
    );
    expect(existsSync(join(repo, '.autoresearch'))).toBe(false);
  });
});

describe('startRun with an Agent object', () => {
  let repo: string;
  let outside: string;
  let result: LoopResult;
  const seen: Seen[] = [];

  beforeAll(async () => {
    repo = makeRepo(FILES); // program.md names no agent: the object is the agent
    outside = tempDir('ar-outside-');
    result = await lib.startRun({
      cwd: repo,
      tag: 'obj',
      agent: loweringAgent(repo, outside, seen),
      maxExperiments: 2,
    });
  });

  it('runs it like a built-in: each proposal committed, measured, kept and recorded under its name', async () => {
    expect(result.reason).toBe('reached 2 experiments');
    expect(result.summary).toMatchObject({
      baseline: 10,
      best: 8,
      candidates: 2,
      counts: { keep: 2 },
    });
    const reader = await lib.openLedger(repo);
    try {
      expect(reader.run()?.tag).toBe('obj');
      const rows = reader.experiments('obj');
      expect(rows.map((e) => [e.id, e.agent, e.status, e.primary_value, e.title])).toEqual([
        [0, 'baseline', 'keep', 10, 'baseline'],
        [1, 'lowering', 'keep', 9, 'value 9'],
        [2, 'lowering', 'keep', 8, 'value 8'],
      ]);
      expect(reader.measurements('obj', 2).map((m) => m.value)).toEqual([8]);
      expect(reader.commands('obj', 2).map((c) => c.kind)).toContain('run');
      expect(await reader.summary()).toMatchObject({ tag: 'obj', best: 8, bestTitle: 'value 8' });
    } finally {
      reader.close();
    }
    expect(seen.map((s) => [s.experimentId, s.edited])).toEqual([
      [1, true],
      [2, true],
    ]);
  });

  it.skipIf(!sealed.sealed)(
    'gives it the same seal: its processes write only the workspace and their temp folder, and see no ledger',
    () => {
      for (const s of seen)
        expect(s).toMatchObject({
          edited: true,
          wroteTmp: true,
          wroteOutside: false,
          sawLedger: false,
        });
      expect(existsSync(join(outside, 'escaped.txt'))).toBe(false);
    },
  );
});
