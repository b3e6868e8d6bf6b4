/**
 * `autoresearch mcp`: the MCP server of an agent-owned run over stdio. It is the run's harness
 * (the ledger names its pid, so `autoresearch status/pause/stop` and the dashboard work as for
 * `autoresearch run`). Stdout is the protocol's: progress lines go to stderr.
 */
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { ProgressReporter } from '../cli/progress.js';
import { INSTRUCTIONS } from './describe.js';
import { McpSession, type SessionOptions } from './session.js';
import { registerTools } from './tools.js';

export interface ServeMcpOptions extends SessionOptions {
  waitSeconds: number;
  /** Serve the dashboard on 127.0.0.1 (any free port, or this one). */
  dashboard?: { port?: number };
}

export async function serveMcp(opts: ServeMcpOptions): Promise<void> {
  const log = (text: string) => process.stderr.write(text);
  const reporter = new ProgressReporter({ write: (t: string) => (log(t), true) });
  const session = new McpSession({ ...opts, onProgram: ({ goal }) => reporter.setGoal(goal) });
  session.onEvent(reporter.handle);
  let dashboard: { url: string; close(): Promise<void> } | null = null;
  if (opts.dashboard) {
    const { startDashboard } = await import('../server/dashboard.js');
    const { repoRoot } = await import('../workspace/git.js');
    dashboard = await startDashboard({
      repo: await repoRoot(opts.cwd),
      host: '127.0.0.1',
      port: opts.dashboard.port ?? 0,
      allowHosts: [],
    });
    log(`dashboard: ${dashboard.url}\n`);
  }
  const server = new McpServer(
    { name: 'autoresearch', version: '0.1.0' },
    { instructions: INSTRUCTIONS },
  );
  registerTools(server, session, { waitSeconds: opts.waitSeconds, dashboard: dashboard?.url });
  // The run starts at once (its baseline measures while the client connects); a run that cannot
  // start is reported by every tool, so the model can tell the user why.
  session.start().catch((e: unknown) => log(`autoresearch: ${(e as Error).message}\n`));

  const gone = new Promise<void>((resolve) => {
    // The client closes stdin when it is done (and sends SIGTERM only if the server lingers).
    process.stdin.once('end', resolve);
    process.stdin.once('close', resolve);
    let signals = 0;
    const onSignal = (sig: NodeJS.Signals) => {
      // The first stops the run as Ctrl-C does (`autoresearch stop --now` sends it); the tools
      // then say it stopped. The second ends the server.
      if (++signals > 1) resolve();
      else {
        log(`\n${sig}: stopping the run (again to end the server)\n`);
        session.stopNow();
      }
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
  await server.connect(new StdioServerTransport());
  await gone;
  await session.close();
  await server.close();
  await dashboard?.close();
}
