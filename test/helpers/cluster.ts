import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { freePort } from './sshd.ts';
import { tempDir } from './stores.ts';

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');

export interface Node {
  name: string;
  base: string;
  sshPort: number | undefined;
  child: ChildProcess;
  /** Everything the node printed (stdout + stderr), for failure messages. */
  output(): string;
  exited: Promise<number | null>;
  stop(): Promise<void>;
}

/** Starts `vigil server` as its own process (a cluster node) and waits until it listens. */
export async function spawnNode(name: string, env: Record<string, string>, roles = 'api,ssh,worker'): Promise<Node> {
  const data = tempDir(`vigil-node-${name}-`);
  const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'vigil.js'), 'server', '--roles', roles], {
    cwd: ROOT,
    env: { ...process.env, VIGIL_DATA_DIR: data.dir, VIGIL_HTTP_HOST: '127.0.0.1', VIGIL_HTTP_PORT: '0', VIGIL_SSH_PORT: '0', VIGIL_LOG_LEVEL: process.env.VIGIL_TEST_LOG_LEVEL ?? 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const deadline = Date.now() + 60_000;
  let base: string | undefined;
  while (base === undefined) {
    base = /Vigil is listening on (http:\/\/\S+)/.exec(out)?.[1];
    if (base) break;
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`node ${name} did not start: ${out}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const ssh = /SSH proxy on port (\d+)/.exec(out)?.[1];
  return {
    name,
    base,
    sshPort: ssh === undefined ? undefined : Number(ssh),
    child,
    output: () => out,
    exited,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
        await exited;
        clearTimeout(timer);
      }
      data.remove();
    },
  };
}

export interface PrivateRabbit {
  url: string;
  /** Stops the broker process (connections drop) and starts it again on the same port. */
  restart(downMs?: number): Promise<void>;
  stop(): Promise<void>;
}

/**
 * A RabbitMQ node of its own (own port, data and Erlang node name), so a test can restart the
 * broker without disturbing anything else that uses the machine's RabbitMQ.
 */
export async function startPrivateRabbit(): Promise<PrivateRabbit> {
  const dir = tempDir('vigil-rabbit-');
  const port = await freePort();
  const distPort = await freePort();
  const node = `vigiltest${port}@localhost`;
  for (const d of ['mnesia', 'log']) fs.mkdirSync(path.join(dir.dir, d));
  fs.writeFileSync(path.join(dir.dir, 'plugins'), '[].\n');
  fs.writeFileSync(path.join(dir.dir, 'rabbitmq.conf'), `listeners.tcp.local = 127.0.0.1:${port}\n`);
  try {
    execFileSync('chown', ['-R', 'rabbitmq:rabbitmq', dir.dir]);
  } catch {
    /* not root, or no rabbitmq user: the server runs as the caller */
  }
  const env = {
    ...process.env,
    RABBITMQ_NODENAME: node,
    RABBITMQ_DIST_PORT: String(distPort),
    RABBITMQ_MNESIA_BASE: path.join(dir.dir, 'mnesia'),
    RABBITMQ_LOG_BASE: path.join(dir.dir, 'log'),
    RABBITMQ_ENABLED_PLUGINS_FILE: path.join(dir.dir, 'plugins'),
    RABBITMQ_CONFIG_FILE: path.join(dir.dir, 'rabbitmq.conf'),
    RABBITMQ_PID_FILE: path.join(dir.dir, 'pid'),
  };
  const open = () => new Promise<boolean>((resolve) => {
    const s = net.connect({ port, host: '127.0.0.1' });
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
  const start = async () => {
    execFileSync('rabbitmq-server', ['-detached'], { env, cwd: dir.dir, stdio: 'ignore' });
    for (let i = 0; i < 240; i += 1) {
      if (await open()) return;
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error(`the test RabbitMQ did not listen on ${port}; see ${dir.dir}/log`);
  };
  const shutdown = () => {
    try {
      execFileSync('rabbitmqctl', ['-n', node, 'shutdown'], { env, stdio: 'ignore', timeout: 30_000 });
    } catch {
      /* already down */
    }
  };
  await start();
  return {
    url: `amqp://guest:guest@127.0.0.1:${port}`,
    restart: async (downMs = 1000) => {
      shutdown();
      await new Promise((r) => setTimeout(r, downMs));
      await start();
    },
    stop: async () => {
      shutdown();
      dir.remove();
    },
  };
}

export interface PrivatePostgres {
  url: string;
  /** Stops the server (fast: connections are cut) and starts it again after `downMs`. */
  restart(downMs?: number): Promise<void>;
  stop(): Promise<void>;
}

/**
 * A PostgreSQL server of its own (initdb into a temporary directory, own port, trust auth), so a
 * test can stop and restart the database without disturbing the machine's PostgreSQL.
 */
export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const versions = fs.readdirSync('/usr/lib/postgresql').sort();
  const bin = path.join('/usr/lib/postgresql', versions[versions.length - 1]!, 'bin');
  const dir = tempDir('vigil-pg-');
  const data = path.join(dir.dir, 'data');
  const port = await freePort();
  execFileSync('chown', ['postgres:postgres', dir.dir]);
  const asPostgres = (cmd: string, args: string[]) => execFileSync('runuser', ['-u', 'postgres', '--', path.join(bin, cmd), ...args], { stdio: 'pipe', timeout: 60_000 });
  asPostgres('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync']);
  const start = () => asPostgres('pg_ctl', ['-D', data, '-w', '-l', path.join(dir.dir, 'log'), '-o', `-p ${port} -k ${dir.dir} -c listen_addresses=127.0.0.1 -c fsync=off`, 'start']);
  const stop = () => {
    try {
      asPostgres('pg_ctl', ['-D', data, '-w', '-m', 'fast', 'stop']);
    } catch {
      /* not running */
    }
  };
  start();
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    restart: async (downMs = 1000) => {
      stop();
      await new Promise((r) => setTimeout(r, downMs));
      start();
    },
    stop: async () => {
      stop();
      dir.remove();
    },
  };
}
