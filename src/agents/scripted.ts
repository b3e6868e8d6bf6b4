/**
 * The `scripted` agent applies given patches in order, one per experiment: deterministic
 * proposals for tests, benchmarks and replaying a list of ideas. The k-th proposal that was not
 * interrupted gets patch k, counted from the ledger, so a resumed run continues with the right patch.
 */
import { readFileSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { z } from 'zod';
import { git } from '../workspace/git.js';
import { AgentExhausted, type Agent, type Proposal, type ProposalContext } from './agent.js';
import { defineAgent } from './descriptor.js';

export const scriptedAgent = defineAgent({
  name: 'scripted',
  summary: 'applies the given patches in order, one per experiment',
  hint: 'write `agent: { name: scripted, patches: [ideas/1.patch, ideas/2.patch] }`',
  optionsSchema: z.strictObject({
    patches: z.array(z.string()).min(1, 'list at least one patch file'),
  }),
  load: async (o, ctx) =>
    new ScriptedAgent(
      o.patches.map((p) => resolve(ctx.programDirAbs, p)),
      (id) => ctx.ledger.proposalsBefore(ctx.runTag, id),
    ),
});

class ScriptedAgent implements Agent {
  readonly name = 'scripted';

  /** @param patches absolute paths of patch files (git diff format, paths relative to the repository root). */
  constructor(
    private readonly patches: string[],
    private readonly proposalsBefore: (experimentId: number) => number,
  ) {}

  async propose(ctx: ProposalContext): Promise<Proposal> {
    const index = this.proposalsBefore(ctx.experimentId);
    const patch = this.patches[index];
    if (patch === undefined)
      throw new AgentExhausted(`all ${this.patches.length} patches were proposed`);
    const text = readFileSync(patch, 'utf8');
    if (text.trim()) await git(ctx.workspace, ['apply', '--whitespace=nowarn', patch]);
    const subject = /^Subject:\s*(?:\[PATCH[^\]]*\]\s*)?(.+)$/m.exec(text)?.[1]?.trim();
    return {
      title: subject ?? basename(patch).replace(/\.(patch|diff)$/, ''),
      hypothesis: `patch ${index + 1} of ${this.patches.length}`,
    };
  }
}
