import { parseArgs } from 'node:util';
import { runAdminCommand } from './admin.command.ts';
import { runServerCommand } from './server.command.ts';

const USAGE = `usage: vigil <command> [options]

commands:
  server [--roles api,ssh,worker]   run a server node (API, web console, SSH proxy, workers)
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
