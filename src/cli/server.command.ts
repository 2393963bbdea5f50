import { ConfigError, loadConfig, SERVER_ROLES, type ServerRole } from '../config.ts';
import { startServer } from '../server/server.ts';

/** Runs until SIGINT/SIGTERM; returns -1 so main leaves the exit to the shutdown path. */
export async function runServerCommand(args: { roles: string | undefined }): Promise<number> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`vigil: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  const roles = (args.roles ?? SERVER_ROLES.join(',')).split(',').map((r) => r.trim());
  const unknown = roles.find((r) => !(SERVER_ROLES as readonly string[]).includes(r));
  if (unknown) {
    process.stderr.write(`vigil: --roles: unknown role "${unknown}" (choose from ${SERVER_ROLES.join(', ')})\n`);
    return 2;
  }
  let server;
  try {
    server = await startServer(config, { roles: roles as ServerRole[] });
  } catch (err) {
    process.stderr.write(`vigil: cannot start: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
  if (server.generatedAdminPassword) {
    process.stdout.write(`\nVigil created the user "admin" with this password (shown once; change it after signing in):\n\n    ${server.generatedAdminPassword}\n\n`);
  }
  if (server.sshPort !== undefined) process.stdout.write(`SSH proxy on port ${server.sshPort}, host key ${server.sshHostKeyFingerprint}\n`);
  process.stdout.write(`Vigil is listening on ${server.url} (data in ${config.dataDir}, ${config.databaseUrl ? 'PostgreSQL' : 'SQLite'}, ${config.busUrl ? 'RabbitMQ' : 'in-memory'} bus)\n`);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    server.logger.info({ signal }, 'shutting down');
    void server.close().then(() => {
      process.exitCode = 0;
    });
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  return -1;
}
