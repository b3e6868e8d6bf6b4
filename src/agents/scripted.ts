/**
 * The `scripted` agent applies given patches in order, one per experiment: deterministic
 * proposals for tests, benchmarks and replaying a list of ideas. Patch k goes to experiment k+1,
 * so a resumed run continues with the right patch.
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { git } from '../workspace/git.js';
import { AgentExhausted, type Agent, type Proposal, type ProposalContext } from './agent.js';

export class ScriptedAgent implements Agent {
  readonly name = 'scripted';

  /** @param patches absolute paths of patch files (git diff format, paths relative to the repository root). */
  constructor(private readonly patches: string[]) {}

  async propose(ctx: ProposalContext): Promise<Proposal> {
    const index = ctx.experimentId - 1;
    const patch = this.patches[index];
    if (patch === undefined) throw new AgentExhausted(`all ${this.patches.length} patches were proposed`);
    const text = readFileSync(patch, 'utf8');
    if (text.trim()) await git(ctx.workspace, ['apply', '--whitespace=nowarn', patch]);
    const subject = /^Subject:\s*(?:\[PATCH[^\]]*\]\s*)?(.+)$/m.exec(text)?.[1]?.trim();
    return { title: subject ?? basename(patch).replace(/\.(patch|diff)$/, ''), hypothesis: `patch ${index + 1} of ${this.patches.length}` };
  }
}
