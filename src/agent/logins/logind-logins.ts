import { readFileSync } from 'node:fs';
import dbus from 'dbus-next';
import { bootId, readEnv, readStat } from '../proc.ts';
import type { Login, LoginSource } from './login.ts';

const LOGIN1 = 'org.freedesktop.login1';
const MANAGER_PATH = '/org/freedesktop/login1';
const MANAGER = 'org.freedesktop.login1.Manager';
const SESSION = 'org.freedesktop.login1.Session';
export const SYSTEM_BUS = 'unix:path=/run/dbus/system_bus_socket';

/** What logind says about one session (the properties the agent uses). */
interface LogindSession {
  id: string;
  uid: number;
  user: string;
  leader: number;
  tty: string;
  display: string;
  remoteHost: string;
  sessionClass: string;
  /** µs since the epoch (logind's Timestamp). */
  timestampUs: number;
  /** The login as described once its remote port was found (or given up on): scans reuse it. */
  login?: Login;
}

/** How long after a session starts its shell may still be coming up with SSH_CLIENT. */
const PORT_SEARCH_MS = 10_000;

/**
 * Logins from systemd-logind over D-Bus (`org.freedesktop.login1`): the sessions logind lists at
 * start, then SessionNew / SessionRemoved as they come. Only sessions of class `user` count
 * (greeters, lock screens and the per-user service manager are not logins). logind knows no
 * remote port; it is read from `SSH_CLIENT` in the environment of the leader or its first
 * descendants that have it (the shell of an SSH login), for matching sessions launched through
 * Vigil's proxy. Hosts without logind (containers) use {@link ProcLoginSource}.
 */
export class LogindLoginSource implements LoginSource {
  readonly kind = 'logind' as const;
  private readonly boot = bootId();
  private readonly sessions = new Map<string, LogindSession>();
  private onChange: (() => void) | undefined;
  private closed = false;

  private constructor(private readonly bus: dbus.MessageBus) {}

  /**
   * Connects to the bus at `address` (the system bus by default) and reads logind's sessions;
   * rejects within `timeoutMs` when there is no bus or no logind on it.
   */
  static async connect(address = process.env.DBUS_SYSTEM_BUS_ADDRESS || SYSTEM_BUS, timeoutMs = 3000): Promise<LogindLoginSource> {
    const bus = dbus.sessionBus({ busAddress: address });
    const source = new LogindLoginSource(bus);
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        new Promise<never>((_r, reject) => bus.once('error', (err: unknown) => reject(new Error(`D-Bus at ${address}: ${err instanceof Error ? err.message : String(err)}`)))),
        new Promise<never>((_r, reject) => (timer = setTimeout(() => reject(new Error(`D-Bus at ${address}: no answer within ${timeoutMs} ms`)), timeoutMs))),
        source.init(),
      ]);
    } catch (err) {
      source.close();
      throw err;
    } finally {
      clearTimeout(timer);
    }
    // After the start, a lost bus leaves the last known sessions in place (logged by the agent's scan).
    bus.on('error', () => undefined);
    return source;
  }

  private async init(): Promise<void> {
    // Signals first, so a session that appears while the list is read is not missed.
    this.bus.on('message', (m: dbus.Message) => {
      if (m.type !== dbus.MessageType.SIGNAL || m.interface !== MANAGER || m.path !== MANAGER_PATH) return;
      const [id, path] = m.body as [string, string];
      if (m.member === 'SessionNew') {
        void this.load(id, path).then(() => this.onChange?.(), () => undefined);
      } else if (m.member === 'SessionRemoved') {
        this.sessions.delete(id);
        this.onChange?.();
      }
    });
    await this.call('org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus', 'AddMatch', 's', [`type='signal',sender='${LOGIN1}',interface='${MANAGER}',path='${MANAGER_PATH}'`]);
    const reply = await this.call(LOGIN1, MANAGER_PATH, MANAGER, 'ListSessions');
    const list = (reply?.body[0] ?? []) as Array<[string, number, string, string, string]>;
    await Promise.all(list.map(([id, , , , path]) => this.load(id, path).catch(() => undefined)));
  }

  private async load(id: string, path: string): Promise<void> {
    const reply = await this.call(LOGIN1, path, 'org.freedesktop.DBus.Properties', 'GetAll', 's', [SESSION]);
    const p = (reply?.body[0] ?? {}) as Record<string, dbus.Variant>;
    const v = <T>(name: string, dflt: T): T => (p[name] ? (p[name].value as T) : dflt);
    const user = v<[number, string] | null>('User', null);
    this.sessions.set(id, {
      id,
      uid: user ? Number(user[0]) : -1,
      user: v('Name', ''),
      leader: Number(v<number | bigint>('Leader', 0)),
      tty: v('TTY', ''),
      display: v('Display', ''),
      remoteHost: v('RemoteHost', ''),
      sessionClass: v('Class', ''),
      timestampUs: Number(v<number | bigint>('Timestamp', 0)),
    });
  }

  private async call(destination: string, path: string, iface: string, member: string, signature = '', body: unknown[] = []): Promise<dbus.Message | null> {
    return this.bus.call(new dbus.Message({ destination, path, interface: iface, member, signature, body }));
  }

  /** Calls `onChange` when logind reports a session new or removed (the agent then scans). */
  watch(onChange: () => void): void {
    this.onChange = onChange;
  }

  scan(): Login[] {
    const out: Login[] = [];
    for (const s of this.sessions.values()) {
      const l = this.describe(s);
      if (l) out.push(l);
    }
    return out;
  }

  probe(sid: number): Login | null {
    // logind announces a session before its processes run: the signal has normally arrived.
    for (const s of this.sessions.values()) {
      if (s.leader !== sid && readStat(s.leader)?.sid !== sid) continue;
      return this.describe(s);
    }
    return null;
  }

  private describe(s: LogindSession): Login | null {
    if (s.login) return s.login;
    if (!s.sessionClass.startsWith('user') || s.leader <= 1 || s.uid < 0) return null;
    // Reading the environ of the leader's descendants is repeated only until SSH_CLIENT is found.
    const ssh = sshClient(s.leader);
    const login: Login = {
      key: `${this.boot}:logind:${s.id}`,
      leaderPid: s.leader,
      sid: readStat(s.leader)?.sid || s.leader,
      user: s.user,
      uid: s.uid,
      tty: s.tty ? s.tty.replace(/^\/dev\//, '') : null,
      display: s.display || null,
      remoteAddress: ssh?.address || s.remoteHost || null,
      remotePort: ssh?.port ?? null,
      startedAt: Math.round(s.timestampUs / 1000),
    };
    if (ssh || Date.now() - login.startedAt > PORT_SEARCH_MS) s.login = login;
    return login;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.bus.disconnect();
    } catch {
      // already gone
    }
  }
}

/** SSH_CLIENT of the leader or of its nearest descendant that has it (breadth first, a few levels). */
function sshClient(leader: number): { address: string; port: number | null } | null {
  let level = [leader];
  for (let depth = 0; depth < 4 && level.length > 0; depth++) {
    const next: number[] = [];
    for (const pid of level) {
      const env = readEnv(pid, ['SSH_CLIENT', 'SSH_CONNECTION']);
      const parts = (env.SSH_CLIENT ?? env.SSH_CONNECTION ?? '').split(' ');
      if (parts[0]) return { address: parts[0], port: parts[1] ? Number(parts[1]) || null : null };
      next.push(...childrenOf(pid));
    }
    level = next.slice(0, 32);
  }
  return null;
}

function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(' ').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}
