/** The runs and their experiments as JSON, and an experiment's full log, read from the ledger. */
import { Hono, type Context } from 'hono';
import { basename, dirname, join, resolve } from 'node:path';
import type { ExperimentRow, RunRow } from '../../ledger/types.js';
import { runState } from '../../loop/control.js';
import { runPaths } from '../../loop/context.js';
import { incumbentValues } from '../../loop/summary.js';
import { frontScatter, paretoMetrics } from '../../loop/front-view.js';
import { git, readRef } from '../../workspace/git.js';
import { parseJson, readBelow, readTail } from '../files.js';
import type { LedgerSource } from '../source.js';
import { experimentJson, experimentsJson, runView } from '../views.js';

const LOG_TAIL_BYTES = 64 * 1024;
const DIFF_MAX_BYTES = 1024 * 1024;

export function runRoutes(source: LedgerSource): Hono {
  const { repo } = source;
  const app = new Hono();

  /**
   * A file of the experiment's folder, as the run's work folder and the path below it: only files
   * the harness writes there are served, by experiment id, and never through a link (openBelow).
   */
  const experimentFile = (run: RunRow, r: ExperimentRow, name: string): [string, string] => [
    runPaths(repo, run.tag, run.work_dir).workDir,
    join('experiments', String(r.id), name),
  ];
  const logFile = (run: RunRow, r: ExperimentRow): [string, string] => {
    const own = runPaths(repo, run.tag, run.work_dir).experimentDir(r.id);
    const named =
      r.log_path && dirname(resolve(repo, r.log_path)) === own ? basename(r.log_path) : 'run.log';
    return experimentFile(run, r, named);
  };

  const experimentOf = (c: Context): { run: RunRow; row: ExperimentRow } | null => {
    const found = source.run(c.req.param('tag') ?? '');
    const idText = c.req.param('id') ?? '';
    if (!found || !/^\d{1,9}$/.test(idText)) return null;
    const row = found.ledger.getExperiment(found.run.tag, Number(idText));
    return row ? { run: found.run, row } : null;
  };

  app.get('/', (c) => {
    const runs = (source.open()?.listRuns() ?? []).map((r) => ({
      tag: r.tag,
      branch: r.branch,
      state: runState(repo, r).state,
      metric: r.metric_name,
      goal: r.goal,
      created_at: r.created_at,
      updated_at: r.updated_at,
    }));
    runs.sort((a, b) => b.updated_at - a.updated_at);
    return c.json({ runs });
  });

  app.get('/:tag', async (c) => {
    const found = source.run(c.req.param('tag'));
    if (!found) return c.json({ error: 'no such run' }, 404);
    const { ledger, run } = found;
    const rows = ledger.listExperiments(run.tag);
    const head = await readRef(repo, `refs/heads/${run.branch}`).catch(() => null);
    return c.json(runView(run, rows, head, runState(repo, run), ledger.spend(run.tag), Date.now()));
  });

  app.get('/:tag/experiments', (c) => {
    const found = source.run(c.req.param('tag'));
    if (!found) return c.json({ error: 'no such run' }, 404);
    const rows = found.ledger.listExperiments(found.run.tag);
    // The chart's best line: the current value of the incumbent each experiment was judged against.
    return c.json({ experiments: experimentsJson(rows, incumbentValues(rows)) });
  });

  // Pareto mode: every judged experiment's point, the front's members flagged (the page's scatter).
  app.get('/:tag/front', (c) => {
    const found = source.run(c.req.param('tag'));
    if (!found) return c.json({ error: 'no such run' }, 404);
    const { ledger, run } = found;
    const metrics = paretoMetrics(run);
    if (!metrics) return c.json({ metrics: null, points: [] });
    const rows = ledger.listExperiments(run.tag);
    return c.json(frontScatter(metrics, rows, (id) => ledger.measurementsOf(run.tag, id)));
  });

  app.get('/:tag/experiments/:id', async (c) => {
    const found = experimentOf(c);
    if (!found) return c.json({ error: 'no such experiment' }, 404);
    const { run, row } = found;
    let diff: string | null = null;
    if (row.candidate_commit && row.parent_commit && row.candidate_commit !== row.parent_commit) {
      diff = await git(repo, ['diff', row.parent_commit, row.candidate_commit], {
        allowFail: true,
      });
      if (diff.length > DIFF_MAX_BYTES)
        diff = diff.slice(0, DIFF_MAX_BYTES) + '\n… (diff truncated)\n';
    }
    const tail = readTail(...logFile(run, row), LOG_TAIL_BYTES);
    return c.json({
      ...experimentJson(row),
      hypothesis: row.hypothesis,
      agent: row.agent,
      parent_commit: row.parent_commit,
      candidate_commit: row.candidate_commit,
      incumbent_value: row.incumbent_value,
      penalty: row.penalty,
      exit_code: row.exit_code,
      wall_seconds: row.wall_seconds,
      files_changed: row.files_changed,
      lines_added: row.lines_added,
      lines_deleted: row.lines_deleted,
      input_tokens: row.input_tokens,
      output_tokens: row.output_tokens,
      cached_tokens: row.cached_tokens,
      cache_write_tokens: row.cache_write_tokens,
      decision: parseJson(row.decision_json),
      metrics: parseJson(row.metrics_json),
      holdout: parseJson(row.holdout_json),
      diff,
      brief: readBelow(...experimentFile(run, row, 'brief.md'))?.toString('utf8') ?? null,
      log: tail ? { tail: tail.text, size: tail.size, truncated: tail.truncated } : null,
    });
  });

  app.get('/:tag/experiments/:id/log', (c) => {
    const found = experimentOf(c);
    if (!found) return c.json({ error: 'no such experiment' }, 404);
    const log = readBelow(...logFile(found.run, found.row));
    if (log === null) return c.json({ error: 'no log' }, 404);
    return c.body(new Uint8Array(log), 200, {
      'Content-Type': 'text/plain; charset=utf-8',
      'Content-Disposition': `attachment; filename="${found.run.tag}-${found.row.id}.log"`,
    });
  });

  return app;
}
