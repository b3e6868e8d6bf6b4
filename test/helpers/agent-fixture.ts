/**
 * What every agent test starts from: a real repository whose program lives in `exp/`, the
 * AgentContext an agent is created with, and the ProposalContext of experiment 1 with its brief.
 */
import { afterEach } from 'vitest';
import { join } from 'node:path';
import type { AgentSeal, ProposalContext } from '../../src/agents/agent.js';
import { detectSandbox } from '../../src/sandbox/detect.js';
import { Sandbox } from '../../src/sandbox/sandbox.js';
import { hashFiles, resolveProtected } from '../../src/workspace/protect.js';
import type { AgentContext } from '../../src/agents/descriptor.js';
import type { Ledger } from '../../src/ledger/ledger.js';
import { buildBrief } from '../../src/program/brief.js';
import { parseProgram, type Program } from '../../src/program/program.js';
import { startFakeLlm, type FakeLlm, type FakeLlmScript, type Turn } from './fake-llm.js';
import { makeRepo } from './repo.js';
import { tempDir } from './temp.js';

export interface AgentFixture {
  repo: string;
  /** The program's folder (`exp/` of the repository). */
  dir: string;
  program: Program;
  actx: AgentContext;
  ctx: ProposalContext;
}

/** `files` must hold `exp/program.md`; `briefPath` defaults to a file in the repository. */
export function agentFixture(
  files: Record<string, string>,
  env: NodeJS.ProcessEnv,
  briefPath?: string,
): AgentFixture {
  const repo = makeRepo(files);
  const dir = join(repo, 'exp');
  const program = parseProgram(files['exp/program.md']!, join(dir, 'program.md'));
  const actx: AgentContext = {
    program,
    programDirAbs: dir,
    ledger: {} as Ledger,
    runTag: 'test',
    env,
  };
  const c = program.config;
  const brief = buildBrief({
    experimentId: 1,
    objective: {
      metric: c.metric.name,
      goal: c.metric.goal,
      budgetSeconds: 60,
      run: c.run,
      editable: c.editable,
      protected: c.protected,
    },
    directions: program.body,
    incumbent: { commit: 'abcdef1234567', value: 1.5, experimentId: 0, title: 'baseline' },
    baselineValue: 1.5,
    experiments: [],
  });
  // Unsealed by default: tests of one agent's own behaviour; `sealed()` below puts it in the sandbox.
  const seal = { prefix: [], env: {}, tmp: tempDir('ar-agent-tmp-') };
  const ctx: ProposalContext = {
    workspace: repo,
    programDir: dir,
    brief,
    briefPath: briefPath ?? join(repo, 'brief.md'),
    experimentId: 1,
    signal: new AbortController().signal,
    seal,
  };
  return { repo, dir, program, actx, ctx };
}

/**
 * The agent's sandbox for a fixture, as a run would build it (the repository root stands in for
 * the worktree); null where this machine cannot seal.
 */
export async function sealedSeal(f: AgentFixture): Promise<AgentSeal | null> {
  const support = await detectSandbox();
  if (!support.sealed) return null;
  const sandbox = new Sandbox(support, {
    repo: f.repo,
    programDir: 'exp',
    stateDir: join(f.repo, '.autoresearch'),
    workDir: tempDir('ar-agent-work-'),
    hidden: [],
    keepIgnored: [],
    protectedFiles: Object.keys(await protectedHashesOf(f)),
  });
  const tmp = sandbox.tempDir('agent-test');
  const seal = sandbox.seal({ role: 'agent', root: f.repo, cwd: f.dir, tmp, network: true });
  return { prefix: seal.prefix, env: seal.env, tmp };
}

async function protectedHashesOf(f: AgentFixture): Promise<Record<string, string>> {
  return hashFiles(f.dir, await resolveProtected(f.dir, f.program.config.protected));
}

/** Starts fake model servers on demand and closes them after each test of the file. */
export function fakeServers(
  wrap: (script: FakeLlmScript | Turn[]) => FakeLlmScript | Turn[] = (s) => s,
): (script: FakeLlmScript | Turn[]) => Promise<FakeLlm> {
  let servers: FakeLlm[] = [];
  afterEach(async () => {
    await Promise.all(servers.map((s) => s.close()));
    servers = [];
  });
  return async (script) => {
    const s = await startFakeLlm(wrap(script));
    servers.push(s);
    return s;
  };
}
