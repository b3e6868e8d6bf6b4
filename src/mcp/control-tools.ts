/**
 * The MCP tools for what a person does to a run (note, pause, resume, stop, rerun): thin callers
 * of loop/control.ts, each answering its sentence and the continuation.
 */
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import * as control from '../loop/control.js';
import type { McpSession } from './session.js';
import { answer, guarded } from './views.js';

type Act = (
  t: control.RunTarget,
  args: { text?: string; now?: boolean; experiment?: number },
) => Promise<control.Outcome> | control.Outcome;

export function registerControls(server: McpServer, s: McpSession): void {
  const verb = (
    name: string,
    title: string,
    description: string,
    annotations: { destructiveHint: boolean; idempotentHint: boolean },
    act: Act,
    inputSchema: Record<string, z.ZodType> = {},
  ) =>
    server.registerTool(
      name,
      {
        title,
        description,
        inputSchema,
        annotations: { readOnlyHint: false, openWorldHint: false, ...annotations },
      },
      async (args: Record<string, unknown>) =>
        guarded(async () => {
          await s.ready();
          const out = await act(s.target(), args);
          return answer({
            ok: out.ok,
            message: out.message,
            ...(out.ok ? {} : { hint: out.hint }),
            continuation: s.continuation(),
          });
        }),
    );

  verb(
    'note',
    'Steering note',
    'Add a note every following brief shows (a reminder to yourself or from the user).',
    { destructiveHint: false, idempotentHint: false },
    (t, a) => control.note(t, a.text ?? ''),
    { text: z.string().min(1).max(control.NOTE_MAX_CHARS) },
  );
  verb(
    'pause',
    'Pause the run',
    'Pause after the experiment in flight: tries are refused until resume.',
    { destructiveHint: false, idempotentHint: true },
    control.pause,
  );
  verb(
    'resume',
    'Resume the run',
    'Continue a paused run, or start the loop again after a stop.',
    { destructiveHint: false, idempotentHint: true },
    async (t) => {
      if (s.ended === null || s.failure) return control.resume(t);
      await s.start();
      return { ok: true, message: `run ${t.run.tag}: started again` };
    },
  );
  verb(
    'stop',
    'Stop the run',
    'Stop the run after the experiment in flight, or at once with now (the experiment in flight is then measured again on resume).',
    { destructiveHint: true, idempotentHint: true },
    async (t, a) => {
      const out = await control.stop(t);
      if (!out.ok || !a.now) return out;
      // This process is the harness: stop its loop as `stop --now`'s SIGTERM would.
      s.stopNow();
      return {
        ok: true,
        message: `run ${t.run.tag}: stopping now: the experiment in flight is killed and measured again on resume`,
      };
    },
    { now: z.boolean().optional().describe('kill the experiment in flight too') },
  );
  verb(
    'rerun',
    'Measure again',
    "Measure a recorded experiment's commit once more (its value becomes the mean of its runs); the harness does it before the proposal after the one now open.",
    { destructiveHint: false, idempotentHint: false },
    (t, a) => control.rerun(t, a.experiment ?? -1),
    { experiment: z.number().int().min(0) },
  );
}
