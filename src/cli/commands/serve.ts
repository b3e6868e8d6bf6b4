import type { Command } from 'commander';
import { repoRoot } from '../../workspace/git.js';
import { hostNameOption, intOption } from '../options.js';

/** Starts the dashboard for the repository at `cwd` and prints its URL (with the access token, once). */
export async function serveDashboard(
  cwd: string,
  host: string,
  port?: number,
  allowHosts: string[] = [],
): Promise<{ close(): Promise<void>; url: string }> {
  const repo = await repoRoot(cwd);
  const { isNonLoopbackHost, startDashboard } = await import('../../server/dashboard.js');
  const dashboard = await startDashboard({ repo, host, port: port ?? 0, allowHosts });
  if (isNonLoopbackHost(host)) {
    process.stderr.write(
      `warning: the dashboard listens on ${host}: anyone who can reach it and has the token can pause or stop the run\n`,
    );
  }
  process.stdout.write(`dashboard: ${dashboard.url}\n`);
  return dashboard;
}

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description(
      'serve the live dashboard for the runs of this repository (running or finished): chart, experiments, diffs, logs, briefs, pause/resume/stop, steering notes',
    )
    .option(
      '--host <host>',
      'address (default 127.0.0.1; 0.0.0.0 exposes it, token-protected, with a warning)',
      '127.0.0.1',
    )
    .option('--port <port>', 'port (default: any free port)', intOption)
    .option(
      '--allow-host <name>',
      'another name it answers to, e.g. behind a reverse proxy (repeatable; other names are refused against DNS rebinding)',
      hostNameOption,
      [],
    )
    .addHelpText(
      'after',
      '\nOpen the printed URL once: it carries the access token and sets a cookie. Add &run=<tag> to open a given run.',
    )
    .action(async (o: { host: string; port?: number; allowHost: string[] }) => {
      const dashboard = await serveDashboard(process.cwd(), o.host, o.port, o.allowHost);
      await new Promise<void>((resolve) => {
        const done = () => resolve();
        process.once('SIGINT', done);
        process.once('SIGTERM', done);
      });
      await dashboard.close();
    });
}
