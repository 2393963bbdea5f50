import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/adapters/log/logger.ts';
import { startServer, type RunningServer } from '../../src/server/server.ts';
import { ADMIN_PASSWORD, Api, uniqueName } from './server.ts';
import { tempDir } from './stores.ts';

const run = promisify(execFile);
const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');

/** A server that can be stopped and started again on the same port and data (a restart). */
export class RestartableServer {
  private readonly tmp = tempDir('vigil-launcher-');
  private readonly key = randomBytes(32).toString('hex');
  private port = 0;
  server: RunningServer | null = null;

  get base(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const config = loadConfig({
      VIGIL_DATA_DIR: this.tmp.dir,
      VIGIL_HTTP_PORT: String(this.port),
      VIGIL_SSH_PORT: '0',
      VIGIL_ADMIN_PASSWORD: ADMIN_PASSWORD,
      VIGIL_MASTER_KEY: this.key,
      VIGIL_LOG_LEVEL: process.env.VIGIL_TEST_LOG_LEVEL ?? 'silent',
    });
    this.server = await startServer(config, { logger: createLogger({ level: config.logLevel }), loginAttemptsPerMinute: 10_000 });
    this.port = Number(new URL(this.server.url).port);
  }

  async stop(): Promise<void> {
    await this.server?.close();
    this.server = null;
  }

  async remove(): Promise<void> {
    await this.stop();
    this.tmp.remove();
  }
}

/** A new user with the built-in User role, signed in: the one who launches in the launcher tests. */
export async function launchingUser(base: string, admin: Api): Promise<{ id: string; api: Api }> {
  const roles = Object.fromEntries((await admin.get('/api/v1/roles')).body.items.map((r: { name: string; id: string }) => [r.name, r.id]));
  const username = uniqueName('user');
  const id = (await admin.post('/api/v1/users', { username, password: 'a-good-password', roles: [roles.User] })).body.id as string;
  return { id, api: await Api.login(base, username, 'a-good-password') };
}

export interface LauncherRun {
  proc: ChildProcess;
  lines: string[];
  sessionId: Promise<string>;
  programPid: Promise<number>;
  exit: Promise<number>;
}

/** Runs `vigil launch …` (bin/vigil.js, as a user would) and follows its one-line reports. */
const running = new Set<ChildProcess>();

/**
 * Stops launchers a failed test left running (SIGTERM: each ends its session in order; SIGKILL
 * after 10 s), so the test file ends instead of waiting for them.
 */
export async function stopLaunchers(): Promise<void> {
  await Promise.all([...running].map(async (p) => {
    const gone = new Promise((r) => p.once('exit', r));
    p.kill('SIGTERM');
    const t = setTimeout(() => p.kill('SIGKILL'), 10_000);
    await gone;
    clearTimeout(t);
  }));
}

export function runVigil(args: string[], env: Record<string, string | undefined>): LauncherRun {
  const fullEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete fullEnv[k];
  const proc = spawn(process.execPath, [path.join(ROOT, 'bin/vigil.js'), ...args], { env: fullEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(proc);
  proc.on('exit', () => running.delete(proc));
  const lines: string[] = [];
  let resolveId!: (id: string) => void;
  let resolvePid!: (pid: number) => void;
  const sessionId = new Promise<string>((r) => (resolveId = r));
  const programPid = new Promise<number>((r) => (resolvePid = r));
  let buf = '';
  proc.stderr!.on('data', (d: Buffer) => {
    buf += d.toString();
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      lines.push(line);
      const m = /session ([0-9a-f-]{36}): started \S+ launcher \(pid (\d+)\)/.exec(line);
      if (m) {
        resolveId(m[1]!);
        resolvePid(Number(m[2]));
      }
    }
  });
  const exit = new Promise<number>((resolve) => proc.on('exit', (code) => resolve(code ?? -1)));
  return { proc, lines, sessionId, programPid, exit };
}

export async function ffprobePackets(file: string): Promise<Array<{ t: number; size: number; key: boolean }>> {
  const { stdout } = await run('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'packet=pts_time,size,flags', '-of', 'csv=p=0', file]);
  return stdout.trim().split('\n').filter(Boolean).map((l) => {
    const [t, size, flags] = l.split(',');
    return { t: Number(t), size: Number(size), key: (flags ?? '').startsWith('K') };
  });
}

/** Decodes every frame; returns ffmpeg's error output (empty when the file is clean). */
export async function decodeErrors(file: string): Promise<string> {
  const { stderr } = await run('ffmpeg', ['-v', 'error', '-i', file, '-f', 'null', '-']);
  return stderr.trim();
}

/** True when the WebM carries a Cues element (what makes it seekable). */
export function hasCues(file: string): boolean {
  return fs.readFileSync(file).includes(Buffer.from([0x1c, 0x53, 0xbb, 0x6b]));
}

/** Every /proc/<pid>/cmdline on the machine, NUL turned into spaces. */
export function allCommandLines(): string[] {
  const out: string[] = [];
  for (const p of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      out.push(fs.readFileSync(`/proc/${p}/cmdline`).toString('utf8').replace(/\0/g, ' '));
    } catch {
      // gone
    }
  }
  return out;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return false;
  }
}

/** Pids of processes whose environment holds VIGIL_SESSION=<sessionId> (the launched program's tree). */
export function programPids(sessionId: string): number[] {
  const needle = Buffer.from(`VIGIL_SESSION=${sessionId}\0`);
  const out: number[] = [];
  for (const p of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      if (fs.readFileSync(`/proc/${p}/environ`).includes(needle) && isAlive(Number(p))) out.push(Number(p));
    } catch {
      // gone
    }
  }
  return out;
}
