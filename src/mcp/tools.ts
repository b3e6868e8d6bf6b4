/**
 * The MCP tools of an agent-owned run, on the official SDK's McpServer: thin callers of
 * McpSession (try, wait, state) and the ledger (results, diff); the verbs a person uses on a run
 * are in control-tools.ts. Inputs are zod schemas; read-only and destructive tools say so.
 */
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import { git } from '../workspace/git.js';
import { experimentView } from './describe.js';
import type { McpSession, TryOutcome } from './session.js';
import { registerControls } from './control-tools.js';
import { answer, failed, guarded, outcomeView, pendingView, stateView } from './views.js';

export interface ToolOptions {
  /** Seconds a try or wait holds the call before answering with a handle (a client's tool timeout). */
  waitSeconds: number;
  /** The dashboard's URL, when the server serves one. */
  dashboard?: string;
}

/** What a tool handler gets besides its arguments (the SDK's RequestHandlerExtra, the part used here). */
interface Extra {
  _meta?: { progressToken?: string | number };
  sendNotification: (n: {
    method: 'notifications/progress';
    params: { progressToken: string | number; progress: number; message?: string };
  }) => Promise<void>;
}

/** How often a long try says it is still measuring (clients may reset their timeout on it). */
const PROGRESS_EVERY_MS = 10_000;
const DIFF_MAX_CHARS = 60_000;

const READ_ONLY = { readOnlyHint: true, openWorldHint: false } as const;
const WAIT_SECONDS = z
  .number()
  .int()
  .min(0)
  .max(86_400)
  .optional()
  .describe('seconds to hold the call for the decision before answering with a handle');

export function registerTools(server: McpServer, s: McpSession, o: ToolOptions): void {
  server.registerTool(
    'state',
    {
      title: 'Run state and brief',
      description:
        'The research brief (objective, incumbent, what was tried and why it ended, notes), the session worktree to edit, budget and limits left, the decision rule, and the continuation. Call it first.',
      annotations: READ_ONLY,
    },
    async () =>
      guarded(async () => {
        const { facts, brief } = await stateView(s);
        const all = { ...facts, ...(o.dashboard ? { dashboard: o.dashboard } : {}) };
        // No structuredContent: a client that prefers it (Claude Code does) would hand the model
        // the brief as one escaped JSON string instead of Markdown.
        return {
          content: [
            { type: 'text', text: JSON.stringify(all, null, 2) },
            { type: 'text', text: brief },
          ],
        };
      }),
  );

  server.registerTool(
    'try',
    {
      title: 'Try a change',
      description:
        'Hand your change to the harness: the files of the session worktree as they are now (or `diff`, a unified diff applied to them first). It commits them, runs the experiment sealed on the fixed budget, measures, and decides keep or discard itself; you get the decision, its reason, the incumbent and the continuation. The worktree is then reset to the incumbent. One try at a time.',
      inputSchema: {
        title: z.string().min(1).max(200).describe('one line: what the change is'),
        hypothesis: z.string().max(4000).optional().describe('why you expect it to help'),
        lessons: z
          .string()
          .max(2000)
          .optional()
          .describe(
            'what you learned that later experiments should know (shown in every later brief)',
          ),
        diff: z
          .string()
          .max(2_000_000)
          .optional()
          .describe('a unified diff (paths from the repository root) to apply before trying'),
        wait_seconds: WAIT_SECONDS,
      },
      annotations: {
        readOnlyHint: false,
        destructiveHint: false,
        idempotentHint: false,
        openWorldHint: false,
      },
    },
    async (args, extra) =>
      guarded(async () => {
        const run = await s.ready();
        if (s.current)
          return failed(
            `try ${s.current.handle}${s.current.experimentId === null ? '' : ` (experiment ${s.current.experimentId})`} is still in flight: call wait with {"handle": "${s.current.handle}"} first`,
          );
        const continuation = s.continuation();
        if (continuation.state !== 'continue')
          return answer({ status: 'not tried', reason: continuation.reason, continuation });
        if (args.diff) {
          try {
            await run.worktree.apply(args.diff);
          } catch (e) {
            return failed(
              `the diff does not apply to the session worktree ${run.worktree.path}: ${(e as Error).message}`,
            );
          }
        }
        const tree = await run.worktree.capture();
        if (tree === (await run.worktree.baseTree()))
          return answer({
            status: 'not tried',
            reason: `no change: the session worktree is exactly the incumbent; edit files in ${run.worktree.programPath} (or pass diff) first`,
            continuation,
          });
        const t = s.submit(
          { title: args.title, hypothesis: args.hypothesis, lessons: args.lessons },
          run.worktree.base!,
          tree,
        );
        const seconds = args.wait_seconds ?? o.waitSeconds;
        const out = await until(s, t.outcome, () => t.experimentId, seconds, extra as Extra);
        return answer(out ? await outcomeView(s, t, out) : pendingView(s, t));
      }),
  );

  server.registerTool(
    'wait',
    {
      title: 'Wait for a decision',
      description:
        'The decision of a try that answered with a handle (or of an experiment by id, e.g. one a restarted server found unfinished). Answers again with the handle if the experiment is still running when the wait runs out.',
      inputSchema: {
        handle: z.string().optional().describe('the handle a try answered with, e.g. "t3"'),
        experiment: z.number().int().min(0).optional().describe('an experiment id instead'),
        wait_seconds: WAIT_SECONDS,
      },
      annotations: READ_ONLY,
    },
    async (args, extra) =>
      guarded(async () => {
        await s.ready();
        const seconds = args.wait_seconds ?? o.waitSeconds;
        if (args.handle !== undefined) {
          const t = s.tries.get(args.handle);
          if (!t)
            return failed(
              `no try ${args.handle} in this server (a restarted server forgets handles: wait for the experiment by id)`,
            );
          const out =
            t.done ?? (await until(s, t.outcome, () => t.experimentId, seconds, extra as Extra));
          return answer(out ? await outcomeView(s, t, out) : pendingView(s, t));
        }
        if (args.experiment === undefined) return failed('give a handle or an experiment id');
        const id = args.experiment;
        if (!s.ledger!.getExperiment(s.run!.tag, id))
          return failed(`run ${s.run!.tag} has no experiment ${id}`);
        const out = await until(s, s.waitFor(id), () => id, seconds, extra as Extra);
        return answer(
          out
            ? await outcomeView(s, null, out)
            : {
                experiment: id,
                pending: true,
                next: `Call wait with {"experiment": ${id}} again.`,
              },
        );
      }),
  );

  server.registerTool(
    'results',
    {
      title: 'Experiments so far',
      description:
        'The latest experiments of the run with status, value, runs and the reason of each decision.',
      inputSchema: {
        last: z.number().int().min(1).max(1000).optional().describe('how many (default 30)'),
      },
      annotations: READ_ONLY,
    },
    async (args) =>
      guarded(async () => {
        const run = await s.ready();
        const rows = s.ledger!.listExperiments(run.tag);
        return answer({
          run: run.tag,
          counts: s.ledger!.countByStatus(run.tag),
          incumbent: await s.incumbent(),
          experiments: rows.slice(-(args.last ?? 30)).map(experimentView),
        });
      }),
  );

  server.registerTool(
    'diff',
    {
      title: 'Diff of an experiment',
      description: 'The change an experiment made, as a unified diff against its parent commit.',
      inputSchema: { experiment: z.number().int().min(0).describe('the experiment id') },
      annotations: READ_ONLY,
    },
    async (args) =>
      guarded(async () => {
        const run = await s.ready();
        const e = s.ledger!.getExperiment(run.tag, args.experiment);
        if (!e) return failed(`run ${run.tag} has no experiment ${args.experiment}`);
        if (!e.candidate_commit)
          return failed(
            `experiment ${e.id} has no commit (${e.state}${e.status ? `, ${e.status}` : ''})`,
          );
        const text = await git(run.repo, [
          'diff',
          '--no-color',
          e.parent_commit,
          e.candidate_commit,
        ]);
        const shown =
          text.length > DIFF_MAX_CHARS
            ? `${text.slice(0, DIFF_MAX_CHARS)}\n[... ${text.length - DIFF_MAX_CHARS} more characters]`
            : text;
        return {
          content: [
            {
              type: 'text',
              text: `experiment ${e.id}: ${e.title ?? ''} (${e.status ?? e.state})\n\n${shown || '(no change)'}`,
            },
          ],
        };
      }),
  );
  registerControls(server, s);
}

/**
 * The outcome, or null when `seconds` pass first. Meanwhile a client that asked for progress
 * hears of the experiment's runs and, every few seconds, that it is still going.
 */
async function until(
  s: McpSession,
  outcome: Promise<TryOutcome>,
  experiment: () => number | null,
  seconds: number,
  extra: Extra,
): Promise<TryOutcome | null> {
  const token = extra._meta?.progressToken;
  let n = 0;
  const started = Date.now();
  const say = (message: string) => {
    if (token === undefined) return;
    extra
      .sendNotification({
        method: 'notifications/progress',
        params: { progressToken: token, progress: ++n, message },
      })
      .catch(() => {});
  };
  const off = s.onEvent((e) => {
    const id = experiment();
    if (id === null) return;
    if (e.type === 'running' && e.id === id)
      say(`experiment ${id}: running (budget ${e.budgetSeconds}s)`);
    if (e.type === 'note' && e.text.startsWith(`experiment ${id}`)) say(e.text);
  });
  const tick = setInterval(() => {
    const id = experiment();
    const secs = Math.round((Date.now() - started) / 1000);
    say(id === null ? `waiting for the harness (${secs}s)` : `experiment ${id}: ${secs}s`);
  }, PROGRESS_EVERY_MS);
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      outcome,
      new Promise<null>((r) => (timer = setTimeout(() => r(null), seconds * 1000))),
    ]);
  } finally {
    clearTimeout(timer);
    clearInterval(tick);
    off();
  }
}
