import { parseArgs } from 'node:util';
import { runAdminCommand } from './admin.command.ts';
import { runLaunchCommand } from './launch.command.ts';
import { runLoginCommand } from './login.command.ts';
import { runServerCommand } from './server.command.ts';
import { runAgentCommand } from './agent.command.ts';
import { runSessionShellCommand } from './session-shell.command.ts';

const USAGE = `usage: vigil <command> [options]

commands:
  server [--roles api,ssh,worker]   run a server node (API, web console, SSH proxy, workers)
  agent enroll|run|status           the host agent (see docs/AGENT.md)
  session-shell [-c CMD]            recording login shell for hosts with an agent
  login --server URL [--username NAME | --token T]   sign in for vigil launch (token kept 0600 in ~/.config/vigil)
  launch <secret> [--fps N] [--display :N]          start a desktop secret and record the screen until it ends
  admin retention --now             apply the retention settings now (archive, delete) and report
  admin verify <session-id>         recompute a recording's hash chain; exit 0 if intact, 1 if not
  help                              this text
`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'server': {
      const { values } = parseArgs({ args: rest, options: { roles: { type: 'string' } }, strict: true });
      return runServerCommand({ roles: values.roles });
    }
    case 'admin':
      return runAdminCommand(rest);
    case 'agent':
      return runAgentCommand(rest);
    case 'session-shell':
      return runSessionShellCommand(rest);
    case 'login':
      return runLoginCommand(rest);
    case 'launch': {
      const code = await runLaunchCommand(rest);
      // The session is closed and its recording uploaded: a child or socket something forgot to
      // release must not keep the user's command from returning (an unref'd timer only fires if
      // something else still holds the process).
      if (code !== -1) setTimeout(() => process.exit(code), 2000).unref();
      return code;
    }
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE);
      return command === undefined ? 2 : 0;
    default:
      process.stderr.write(`vigil: unknown command "${command}"\n${USAGE}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== -1) process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`vigil: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
