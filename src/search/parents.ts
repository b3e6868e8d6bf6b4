/**
 * Parent selection: which recorded experiment the next candidate is built on. Pure: the
 * experiment tree comes from the ledger (search/tree.ts), so a resumed run chooses from the same
 * population. Only the parent is chosen here; whether the run branch moves is still the policy's
 * decision against the global incumbent.
 *
 * - greedy: always the incumbent (hill-climbing; in Pareto mode the newest member of the front).
 * - tree (AIDE-style): a crashed node first gets up to `repairs` repair attempts; otherwise the
 *   node with the best upper bound of "how good" (its value, normalized) plus "how unexplored"
 *   (a UCB bonus that shrinks with its children). In Pareto mode, after repairs, the member of
 *   the front with the fewest children.
 * - islands: `islands` sub-populations, experiment i on island (i - 1) mod K, each built on its
 *   island's best member; every `migrate_every` experiments the global incumbent becomes the
 *   parent on the worst island, and so joins it.
 *
 * On a plateau (`plateau_after` experiments without a keep, program/plateau.ts) the strategies
 * explore more: tree multiplies `explore` by PLATEAU_EXPLORE, so less-visited nodes win; islands
 * migrate the global best to the worst island every `plateau_after` experiments of the plateau,
 * and in between build on the least-tried island head (fewest children). Greedy stays on the
 * incumbent: its plateau escape is the brief's (a structurally different idea).
 */

export type Goal = 'minimize' | 'maximize';
type SearchStrategy = 'greedy' | 'tree' | 'islands';

export interface SearchSettings {
  strategy: SearchStrategy;
  /** tree: repair attempts along one chain of crashes (a crash of a repair is repaired again while under it). */
  repairs: number;
  /** tree: weight of the exploration bonus (0: always the best node). */
  explore: number;
  /** islands: how many sub-populations. */
  islands: number;
  /** islands: every this many experiments the global best migrates to the worst island (0: never). */
  migrate_every: number;
}

/** One experiment as parent selection sees it. */
export interface SearchNode {
  id: number;
  /** The experiment it was built on (null: the baseline, the root). */
  parent: number | null;
  /** Its measured value (the mean of its runs); null when it has none. */
  value: number | null;
  /** How it ended; null while in flight. */
  status: string | null;
  /** islands: the island it was proposed on (null for the baseline, and other strategies). */
  island: number | null;
}

export type ParentReason = 'incumbent' | 'promising' | 'repair' | 'island' | 'migration';

export interface ParentChoice {
  parent: number;
  /** islands: the island the new experiment belongs to. */
  island: number | null;
  why: ParentReason;
  /** Set when a plateau changed the rule: the experiments without a keep. */
  plateau?: number;
}

/** Where the run stands on a plateau (program/plateau.ts). */
interface PlateauState {
  /** Experiments without a keep. */
  since: number;
  /** The program's `plateau_after`. */
  after: number;
}

/** tree: how much more the exploration bonus weighs on a plateau. */
export const PLATEAU_EXPLORE = 4;

export interface ChoiceInput {
  /** The id the new experiment will have. */
  id: number;
  /** The global incumbent (the run branch). */
  incumbent: number;
  goal: Goal;
  /** Set while the run is on a plateau. */
  plateau?: PlateauState | null;
  /** Pareto mode: the front's members; tree then expands the one with the fewest children. */
  front?: number[] | null;
}

const CRASHED = new Set(['crash', 'timeout']);
/** Nodes with a value worth building on: measured and judged. */
const measured = (n: SearchNode): n is SearchNode & { value: number } =>
  (n.status === 'keep' || n.status === 'discard') && n.value !== null && Number.isFinite(n.value);

/** True when `a` is better than `b` under `goal`. */
const better = (goal: Goal, a: number, b: number) => (goal === 'minimize' ? a < b : a > b);

export function chooseParent(
  nodes: SearchNode[],
  settings: SearchSettings,
  at: ChoiceInput,
): ParentChoice {
  const plateau = at.plateau ?? null;
  if (settings.strategy === 'tree') {
    if (!plateau) return treeParent(nodes, settings, at);
    const explore = settings.explore * PLATEAU_EXPLORE;
    return { ...treeParent(nodes, { ...settings, explore }, at), plateau: plateau.since };
  }
  if (settings.strategy === 'islands') {
    if (!plateau) return islandParent(nodes, settings, at);
    return { ...plateauIslandParent(nodes, settings, at, plateau), plateau: plateau.since };
  }
  return { parent: at.incumbent, island: null, why: 'incumbent' };
}

function childCounts(nodes: SearchNode[]): Map<number, number> {
  const children = new Map<number, number>();
  for (const n of nodes)
    if (n.parent !== null) children.set(n.parent, (children.get(n.parent) ?? 0) + 1);
  return children;
}

/**
 * Crashed nodes that may be repaired: no child yet, and at most `repairs` crashes in a row up to
 * it (a repair that crashes again is itself repaired while the chain is under the bound).
 */
export function repairable(nodes: SearchNode[], repairs: number): SearchNode[] {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const children = childCounts(nodes);
  const chain = (n: SearchNode): number => {
    let length = 0;
    for (let c: SearchNode | undefined = n; c && CRASHED.has(c.status ?? '');) {
      length++;
      c = c.parent === null ? undefined : byId.get(c.parent);
    }
    return length;
  };
  return nodes.filter(
    (n) => CRASHED.has(n.status ?? '') && !children.has(n.id) && chain(n) <= repairs,
  );
}

function treeParent(nodes: SearchNode[], s: SearchSettings, at: ChoiceInput): ParentChoice {
  const repair = repairable(nodes, s.repairs).at(-1);
  if (repair) return { parent: repair.id, island: null, why: 'repair' };
  if (at.front?.length) return frontParent(nodes, at.front, at.incumbent);
  const pool = nodes.filter(measured);
  if (pool.length === 0) return { parent: at.incumbent, island: null, why: 'incumbent' };
  const values = pool.map((n) => n.value);
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  // 1 for the best value, 0 for the worst: the goal's direction folded in.
  const quality = (v: number) =>
    hi === lo ? 1 : at.goal === 'minimize' ? (hi - v) / (hi - lo) : (v - lo) / (hi - lo);
  const children = childCounts(nodes);
  const total = Math.log(nodes.length + 1);
  const score = (n: SearchNode & { value: number }) =>
    quality(n.value) + s.explore * Math.sqrt(total / ((children.get(n.id) ?? 0) + 1));
  let best = pool[0]!;
  for (const n of pool.slice(1)) {
    const d = score(n) - score(best);
    // Ties go to the incumbent, then to the better value: the greedy choice when nothing stands out.
    if (d > 1e-12 || (Math.abs(d) <= 1e-12 && tieBreak(n, best, at))) best = n;
  }
  return {
    parent: best.id,
    island: null,
    why: best.id === at.incumbent ? 'incumbent' : 'promising',
  };
}

/**
 * Pareto mode: the member of the front with the fewest children, the newest among equals, so
 * every point of the front gets explored in turn, the newest first.
 */
function frontParent(nodes: SearchNode[], front: number[], incumbent: number): ParentChoice {
  const children = childCounts(nodes);
  const tried = (id: number) => children.get(id) ?? 0;
  const parent = [...front].sort((a, b) => tried(a) - tried(b) || b - a)[0]!;
  return { parent, island: null, why: parent === incumbent ? 'incumbent' : 'promising' };
}

function tieBreak(
  a: SearchNode & { value: number },
  b: SearchNode & { value: number },
  at: ChoiceInput,
): boolean {
  if (b.id === at.incumbent) return false;
  if (a.id === at.incumbent) return true;
  return better(at.goal, a.value, b.value);
}

/** Island k's members: the baseline, the experiments proposed on it, and the parents they were built on (migrants). */
function islandMembers(nodes: SearchNode[], k: number): SearchNode[] {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const ids = new Set<number>([0]);
  for (const n of nodes) {
    if (n.island !== k) continue;
    ids.add(n.id);
    if (n.parent !== null) ids.add(n.parent);
  }
  return [...ids].map((id) => byId.get(id)).filter((n): n is SearchNode => n !== undefined);
}

/** The best measured member of each island (its incumbent), by island number. */
export function islandHeads(nodes: SearchNode[], count: number, goal: Goal): SearchNode[] {
  return Array.from({ length: count }, (_, k) => {
    const pool = islandMembers(nodes, k).filter(measured);
    let best: (SearchNode & { value: number }) | undefined;
    for (const n of pool) if (!best || better(goal, n.value, best.value)) best = n;
    // Before the baseline is measured there is nothing to compare: the root stands for every island.
    return (
      best ??
      nodes.find((n) => n.id === 0) ?? {
        id: 0,
        parent: null,
        value: null,
        status: null,
        island: null,
      }
    );
  });
}

/** Every experiment id that has been island k's member: its ref may lag on any of them. */
export function islandMemberIds(nodes: SearchNode[], k: number): Set<number> {
  return new Set(islandMembers(nodes, k).map((n) => n.id));
}

/** The global best migrating to the worst island, unless it already heads it. */
function migration(heads: SearchNode[], at: ChoiceInput): ParentChoice | null {
  let worst = 0;
  heads.forEach((h, i) => {
    const w = heads[worst]!;
    if (h.value !== null && (w.value === null || better(at.goal, w.value, h.value))) worst = i;
  });
  return heads[worst]!.id === at.incumbent
    ? null
    : { parent: at.incumbent, island: worst, why: 'migration' };
}

function islandParent(nodes: SearchNode[], s: SearchSettings, at: ChoiceInput): ParentChoice {
  const k = Math.max(1, s.islands);
  const heads = islandHeads(nodes, k, at.goal);
  const migrant = s.migrate_every > 0 && at.id % s.migrate_every === 0 && migration(heads, at);
  if (migrant) return migrant;
  const island = (at.id - 1 + k) % k;
  return { parent: heads[island]!.id, island, why: 'island' };
}

/**
 * islands on a plateau: the global best migrates at once (and again every `after` experiments
 * of the plateau); in between, the island whose head has the fewest children is expanded (ties in
 * the usual round-robin order), so a fresh local lead is tried before a worn-out one.
 */
function plateauIslandParent(
  nodes: SearchNode[],
  s: SearchSettings,
  at: ChoiceInput,
  plateau: PlateauState,
): ParentChoice {
  const k = Math.max(1, s.islands);
  const heads = islandHeads(nodes, k, at.goal);
  const migrant = (plateau.since - plateau.after) % plateau.after === 0 && migration(heads, at);
  if (migrant) return migrant;
  const children = childCounts(nodes);
  const first = (at.id - 1 + k) % k;
  let island = first;
  for (let step = 1; step < k; step++) {
    const i = (first + step) % k;
    if ((children.get(heads[i]!.id) ?? 0) < (children.get(heads[island]!.id) ?? 0)) island = i;
  }
  return { parent: heads[island]!.id, island, why: 'island' };
}
