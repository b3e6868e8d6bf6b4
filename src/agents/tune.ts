/**
 * The `tune` agent: the built-in optimizer, no LLM needed. Each proposal rewrites the declared
 * assignments (`LR = 0.04` in train.ts) to a configuration suggested by TPE (or random search),
 * a real code change committed like any other. Its state is rebuilt from the ledger every time,
 * so a resumed run continues where it stopped; crashes and timeouts count as bad outcomes. The
 * random stream is seeded from the run tag unless `search.seed` fixes it.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Ledger } from '../ledger/ledger.js';
import type { ExperimentRow, Goal } from '../ledger/types.js';
import { ProgramError } from '../program/errors.js';
import { onPlateau } from '../program/plateau.js';
import type { Program } from '../program/program.js';
import { checkSpaceAgainstFiles, readAssignment, rewriteAssignment } from '../tune/assignments.js';
import {
  describeChange,
  propose,
  SpaceExhaustedError,
  type HistoryEntry,
} from '../tune/optimizer.js';
import { stringSeed } from '../tune/random.js';
import {
  parseSearchSpace,
  SearchSpaceError,
  type Config,
  type SearchSpace,
} from '../tune/space.js';
import { z } from 'zod';
import { AgentExhausted, type Agent, type Proposal, type ProposalContext } from './agent.js';
import { defineAgent } from './descriptor.js';

export const tuneAgent = defineAgent({
  name: 'tune',
  summary: 'built-in optimizer (TPE) over the constants under `search:`; no model',
  hint: 'write `agent: tune`; the search space goes under `search:`',
  optionsSchema: z.strictObject({}),
  load: async (_o, ctx) => {
    const { space, defaults } = loadSearchSpace(ctx.program, ctx.programDirAbs);
    const c = ctx.program.config;
    return new TuneAgent(space, defaults, c.metric.goal, ctx.ledger, ctx.runTag, c.plateau_after);
  },
});

interface TuneMeta {
  config: Config;
  source: string;
  /** Experiments without a keep when it was proposed, when that made it explore (plateau_after). */
  plateau?: number;
}

/** Parses and checks `search:` against the files, turning problems into errors on program.md. */
function loadSearchSpace(
  program: Program,
  programDirAbs: string,
): { space: SearchSpace; defaults: Config } {
  if (program.config.search === undefined) {
    throw new ProgramError(
      program.file,
      null,
      'search',
      'the tune agent needs a search space',
      'add e.g.\nsearch:\n  params:\n    LR: { file: train.ts, type: float, min: 0.0001, max: 0.1, log: true }\n(or run `autoresearch init --tune train.ts --force` to detect constants)',
    );
  }
  try {
    const space = parseSearchSpace(program.config.search);
    const { defaults } = checkSpaceAgainstFiles(space, (rel) => {
      const path = join(programDirAbs, rel);
      return existsSync(path) ? readFileSync(path, 'utf8') : null;
    });
    return { space, defaults };
  } catch (e) {
    if (e instanceof SearchSpaceError) {
      const line = lineOfKey(program, e.param ?? e.key);
      const key = e.param ? `search.params.${e.param}` : e.key ? `search.${e.key}` : 'search';
      const problem = e.message.startsWith(`${key}: `)
        ? e.message.slice(key.length + 2)
        : e.message;
      throw new ProgramError(program.file, line, key, problem);
    }
    throw e;
  }
}

/** The line of the first indented `name:` after `search:` (a param, or a key of `search:` itself). */
function lineOfKey(program: Program, name: string | undefined): number | null {
  if (!name) return null;
  const lines = program.frontMatterText.split('\n');
  const search = Math.max(
    0,
    lines.findIndex((l) => /^search\s*:/.test(l)),
  );
  const index = lines.findIndex((l, i) => i > search && new RegExp(`^\\s+${name}\\s*:`).test(l));
  return index < 0 ? null : index + 2; // +1 for 1-based, +1 for the opening ---
}

/** Observations from the ledger: the baseline's defaults and every finished tune proposal. */
function tuneHistory(rows: ExperimentRow[], defaults: Config): HistoryEntry[] {
  const history: HistoryEntry[] = [];
  for (const r of rows) {
    if (
      r.state !== 'recorded' ||
      r.status === 'skipped' ||
      r.status === 'interrupted' ||
      r.status === 'failed'
    )
      continue;
    const config =
      r.id === 0
        ? defaults
        : r.agent_meta_json
          ? (JSON.parse(r.agent_meta_json) as Partial<TuneMeta>).config
          : undefined;
    if (!config) continue;
    const measured = r.status === 'keep' || r.status === 'discard';
    history.push({ config, value: measured ? r.primary_value : null });
  }
  return history;
}

/**
 * Configurations that ended without teaching anything and must not come back: aborted by the
 * user (`interrupted`: proposing it again would run what the user just killed) and `skipped`
 * (a duplicate or no change: proposing it again would be skipped again, in a loop).
 */
function tuneRetired(rows: ExperimentRow[]): Config[] {
  const retired: Config[] = [];
  for (const r of rows) {
    if (
      r.state !== 'recorded' ||
      (r.status !== 'interrupted' && r.status !== 'skipped') ||
      !r.agent_meta_json
    )
      continue;
    const config = (JSON.parse(r.agent_meta_json) as Partial<TuneMeta>).config;
    if (config) retired.push(config);
  }
  return retired;
}

/**
 * Tune proposals not recorded yet: running in another slot, waiting to run (pipeline), or just
 * proposed by this process and not yet committed (`proposedHere`: the ledger learns the config
 * only after the commit, and two slots may propose in that window). `exclude`: the proposal being made.
 */
function tunePending(
  rows: ExperimentRow[],
  proposedHere: ReadonlyMap<number, Config>,
  exclude: number,
): Config[] {
  const pending: Config[] = [];
  for (const r of rows) {
    if (r.state === 'recorded' || r.id === exclude) continue;
    const config = r.agent_meta_json
      ? (JSON.parse(r.agent_meta_json) as Partial<TuneMeta>).config
      : proposedHere.get(r.id);
    if (config) pending.push(config);
  }
  return pending;
}

class TuneAgent implements Agent {
  readonly name = 'tune';
  readonly searchesNumbers = true;
  /** Configs this process proposed, by experiment id, until their rows are recorded. */
  private readonly proposedHere = new Map<number, Config>();
  private readonly seed: number;

  constructor(
    private readonly space: SearchSpace,
    private readonly defaults: Config,
    private readonly goal: Goal,
    private readonly ledger: Ledger,
    private readonly runTag: string,
    private readonly plateauAfter: number,
  ) {
    this.seed = space.seed ?? stringSeed(runTag);
  }

  async propose(ctx: ProposalContext): Promise<Proposal> {
    const rows = this.ledger.listExperiments(this.runTag);
    for (const r of rows) if (r.state === 'recorded') this.proposedHere.delete(r.id);
    const history = tuneHistory(rows, this.defaults);
    let suggestion;
    const plateau = onPlateau(
      rows.filter((r) => r.state === 'recorded'),
      this.plateauAfter,
    );
    try {
      const pending = tunePending(rows, this.proposedHere, ctx.experimentId);
      suggestion = propose({
        space: this.space,
        history,
        pending,
        retired: tuneRetired(rows),
        goal: this.goal,
        seed: this.seed,
        explore: plateau !== null,
      });
    } catch (e) {
      if (e instanceof SpaceExhaustedError)
        throw new AgentExhausted(
          `every configuration of the search space was tried (${e.message})`,
        );
      throw e;
    }
    const current = this.write(ctx.programDir, suggestion.config);
    this.proposedHere.set(ctx.experimentId, suggestion.config);
    const meta: TuneMeta = {
      config: suggestion.config,
      source: suggestion.source,
      ...(plateau !== null ? { plateau } : {}),
    };
    const exploring = plateau === null ? '' : `; exploring: ${plateau} experiments without a keep`;
    return {
      title: describeChange(
        current,
        suggestion.config,
        this.space.params.map((p) => p.name),
      ),
      hypothesis: `${suggestion.source === 'tpe' ? 'TPE' : suggestion.source} suggestion after ${history.length} observation${history.length === 1 ? '' : 's'} (${this.space.strategy}${exploring})`,
      meta,
    };
  }

  /** The same configuration on top of another incumbent: what runs is exactly what was proposed. */
  async reapply(meta: unknown, programDir: string): Promise<void> {
    const config = (meta as Partial<TuneMeta> | null)?.config;
    if (!config) throw new Error('no configuration in the proposal');
    this.write(programDir, config);
  }

  /** Rewrites every parameter's assignment to `config`; returns the values they had. */
  private write(programDir: string, config: Config): Config {
    const current: Config = {};
    const byFile = new Map<string, string>();
    for (const p of this.space.params) {
      const path = join(programDir, p.file);
      const text = byFile.get(path) ?? readFileSync(path, 'utf8');
      const found = readAssignment(text, p.name);
      if (!found) throw new Error(`${p.file} no longer assigns ${p.name}`);
      current[p.name] = found.value;
      if (config[p.name] === undefined)
        throw new Error(`the configuration has no value for ${p.name}`);
      byFile.set(path, rewriteAssignment(text, p.name, config[p.name]!));
    }
    for (const [path, text] of byFile) writeFileSync(path, text);
    return current;
  }
}
