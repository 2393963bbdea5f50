import { readFileSync } from 'node:fs';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { createLogger } from '../adapters/log/logger.ts';
import { AgentClient, ServerError } from '../agent/agent-client.ts';
import { BusDelivery } from '../agent/bus-delivery.ts';
import { hostAddresses, HostAgent } from '../agent/agent.ts';
import { DEFAULT_SHELL_SOCKET, DEFAULT_STATE_DIR, forgetIdentity, loadIdentity, saveIdentity } from '../agent/agent-state.ts';
import { LogindLoginSource } from '../agent/logins/logind-logins.ts';
import type { LoginSource } from '../agent/logins/login.ts';
import { ProcLoginSource } from '../agent/logins/proc-logins.ts';
import { UserNames } from '../agent/proc.ts';
import type { ProcessCapture } from '../agent/processes/capture.ts';
import { ForkstatCapture } from '../agent/processes/forkstat-capture.ts';
import { buildProcConnector, ProcConnectorCapture } from '../agent/processes/proc-connector-capture.ts';
import path from 'node:path';
import { ProcPollCapture } from '../agent/processes/proc-poll-capture.ts';
import { X11WindowWatcher } from '../agent/window/x11-window.ts';
import { hostName as hostNameSchema } from '../protocol/agents.ts';
import { VERSION } from '../version.ts';

const USAGE = `usage:
  vigil agent enroll --server URL (--token-file FILE | --token TOKEN) [--state-dir DIR] [--host-name NAME]
  vigil agent run [--state-dir DIR] [--capture auto|proc-connector|proc-polling] [--logins auto|logind|proc] [--display :0] [--socket PATH] [--bus-url-file FILE]
    (session data over RabbitMQ: the amqp:// URL from --bus-url-file or VIGIL_AGENT_BUS_URL, never on the command line)
  vigil agent status [--state-dir DIR]
`;

/** `vigil agent …`: the host agent's composition root. */
export async function runAgentCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  const { values } = parseArgs({
    args: rest,
    options: {
      server: { type: 'string' }, token: { type: 'string' }, 'token-file': { type: 'string' }, 'state-dir': { type: 'string' },
      'host-name': { type: 'string' }, capture: { type: 'string' }, display: { type: 'string' }, socket: { type: 'string' },
      'bus-url-file': { type: 'string' }, logins: { type: 'string' },
    },
    strict: true,
  });
  const stateDir = values['state-dir'] ?? process.env.VIGIL_AGENT_STATE_DIR ?? DEFAULT_STATE_DIR;
  const hostName = values['host-name'] ?? os.hostname();
  if (!hostNameSchema.safeParse(hostName).success) return fail(`--host-name: "${hostName}" is not a valid host name`);
  switch (sub ?? '') {
    case 'enroll': {
      if (!values.server) return fail('--server: the Vigil server URL is required');
      let server: URL;
      try {
        server = new URL(values.server);
      } catch {
        return fail('--server: not a URL');
      }
      // Prefer --token-file (or "-" for stdin): a token on the command line shows in `ps`.
      const token = values['token-file'] ? readFileSync(values['token-file'] === '-' ? 0 : values['token-file'], 'utf8').trim() : (values.token ?? process.env.VIGIL_AGENT_TOKEN);
      if (!token) return fail('--token-file: an enrollment token is required');
      try {
        const res = await AgentClient.enroll(server.origin, { token, hostName, version: VERSION, addresses: hostAddresses() });
        saveIdentity(stateDir, { server: server.origin, agentId: res.agentId, credential: res.credential });
        process.stdout.write(`enrolled as agent ${res.agentId} (${hostName}); credential stored in ${stateDir}/agent.json\n`);
        return 0;
      } catch (err) {
        return fail(`enrollment failed: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    case 'status': {
      const id = loadIdentity(stateDir);
      if (!id) return fail(`not enrolled (no ${stateDir}/agent.json)`);
      process.stdout.write(`agent ${id.agentId} enrolled with ${id.server}\n`);
      return 0;
    }
    case 'run': {
      const id = loadIdentity(stateDir);
      if (!id) return fail(`not enrolled (no ${stateDir}/agent.json); run "vigil agent enroll" first`);
      const capture = values.capture ?? 'auto';
      if (!['auto', 'proc-connector', 'proc-polling'].includes(capture)) return fail('--capture: choose auto, proc-connector or proc-polling');
      const loginsFrom = values.logins ?? 'auto';
      if (!['auto', 'logind', 'proc'].includes(loginsFrom)) return fail('--logins: choose auto, logind or proc');
      const logger = createLogger({ level: process.env.VIGIL_LOG_LEVEL ?? 'info', component: 'agent' });
      const users = new UserNames();
      const captures: ProcessCapture[] = [];
      if (capture !== 'proc-polling') {
        // Vigil's own helper first (built with cc on first start), then Debian's forkstat.
        captures.push(new ProcConnectorCapture(users, () => buildProcConnector(path.join(stateDir, 'bin'))));
        captures.push(new ForkstatCapture(users, process.env.VIGIL_FORKSTAT ?? 'forkstat'));
      }
      if (capture !== 'proc-connector') captures.push(new ProcPollCapture(users));
      const display = values.display ?? process.env.DISPLAY;
      let busUrl: string | undefined;
      try {
        busUrl = values['bus-url-file'] ? readFileSync(values['bus-url-file'], 'utf8').trim() : process.env.VIGIL_AGENT_BUS_URL || undefined;
      } catch (err) {
        return fail(`--bus-url-file: cannot read it (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
      }
      if (busUrl !== undefined && !/^amqps?:\/\//.test(busUrl)) return fail('the Bus URL must start with amqp:// or amqps://');
      let bus: BusDelivery | undefined;
      if (busUrl) {
        try {
          bus = await BusDelivery.open(busUrl, logger);
        } catch (err) {
          // The message names the broker, never the URL's password.
          return fail(`cannot reach the Bus (RabbitMQ): ${err instanceof Error ? err.message.replace(/\/\/[^@/]*@/g, '//') : String(err)}`);
        }
      }
      // Logins from logind over D-Bus where it runs; /proc where it does not (containers).
      let logins: LoginSource = new ProcLoginSource(users);
      if (loginsFrom !== 'proc') {
        try {
          logins = await LogindLoginSource.connect();
        } catch (err) {
          if (loginsFrom === 'logind') {
            await bus?.stop().catch(() => undefined);
            return fail(`--logins logind: ${err instanceof Error ? err.message : String(err)}`);
          }
          logger.info({ err: String(err) }, 'no logind on the system bus: logins from /proc');
        }
      }
      let done: () => void = () => undefined;
      const finished = new Promise<void>((r) => (done = r));
      let deactivated = false;
      const agent = new HostAgent({
        client: new AgentClient(id.server, id.credential),
        logger, hostName, version: VERSION, stateDir,
        shellSocket: values.socket ?? process.env.VIGIL_AGENT_SOCKET ?? DEFAULT_SHELL_SOCKET,
        logins,
        captures,
        ...(display ? { window: new X11WindowWatcher(display) } : {}),
        ...(bus ? { bus } : {}),
        heartbeatMs: Number(process.env.VIGIL_AGENT_HEARTBEAT_MS) || 15_000,
        onDeactivated: () => {
          forgetIdentity(stateDir);
          deactivated = true;
          done();
        },
      });
      try {
        await agent.start();
      } catch (err) {
        await bus?.stop().catch(() => undefined);
        logins.close?.();
        return fail(`cannot start: ${err instanceof ServerError ? err.message : err instanceof Error ? err.message : String(err)}`);
      }
      logger.info({ status: agent.status }, 'agent running');
      process.stdout.write(`vigil agent running (${agent.status.processCapture}, logins via ${agent.status.logins})\n`);
      const stop = (): void => void agent.stop().then(() => done());
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
      await finished;
      await bus?.stop().catch(() => undefined);
      if (deactivated) {
        process.stderr.write('vigil agent: deactivated by an administrator; the credential was removed\n');
        return 3;
      }
      return 0;
    }
    default:
      process.stderr.write(USAGE);
      return 2;
  }
}

function fail(msg: string): number {
  process.stderr.write(`vigil agent: ${msg}\n`);
  return 1;
}
