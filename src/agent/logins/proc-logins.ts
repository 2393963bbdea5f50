import { bootId, listPids, readEnv, readStat, readUid, startTimeMs, ttyName, type ProcStat, type UserNames } from '../proc.ts';
import type { Login, LoginSource } from './login.ts';

/**
 * The container fallback (no logind): a login is a session leader that has a controlling
 * terminal or whose parent is sshd, and that is not nested inside another login (a session-shell's
 * inner pty, tmux, `script`). Remote address and port come from the leader's SSH_CLIENT.
 */
export class ProcLoginSource implements LoginSource {
  readonly kind = 'proc' as const;
  private readonly boot = bootId();

  /** `accept` narrows which leaders count (tests confine the agent to their own process tree). */
  constructor(private readonly users: UserNames, private readonly ignorePids: Set<number> = new Set([process.pid]), private readonly accept: (s: ProcStat) => boolean = () => true) {}

  scan(): Login[] {
    const stats = new Map<number, ProcStat>();
    for (const pid of listPids()) {
      const s = readStat(pid);
      if (s) stats.set(pid, s);
    }
    const out: Login[] = [];
    for (const s of stats.values()) {
      if (!this.isLeader(s, (p) => stats.get(p) ?? null)) continue;
      if (this.nested(s, (p) => stats.get(p) ?? null)) continue;
      if (!this.accept(s)) continue;
      const l = this.describe(s);
      if (l) out.push(l);
    }
    return out;
  }

  probe(sid: number): Login | null {
    const s = readStat(sid);
    if (!s || !this.isLeader(s, readStat) || this.nested(s, readStat) || !this.accept(s)) return null;
    return this.describe(s);
  }

  private isLeader(s: ProcStat, get: (pid: number) => ProcStat | null): boolean {
    if (s.pid !== s.sid || s.pid <= 1 || s.ppid === 2 || s.ppid === 0 || this.ignorePids.has(s.pid)) return false;
    if (s.comm.startsWith('sshd')) return false;
    if (s.ttyNr !== 0) return true;
    const parent = get(s.ppid);
    return !!parent && parent.comm.startsWith('sshd');
  }

  /** True when an ancestor is itself a login leader: the session belongs to that one. */
  private nested(s: ProcStat, get: (pid: number) => ProcStat | null): boolean {
    let pid = s.ppid;
    for (let depth = 0; pid > 1 && depth < 64; depth++) {
      const p = get(pid);
      if (!p) return false;
      if (p.pid === p.sid && this.isLeader(p, get)) return true;
      pid = p.ppid;
    }
    return false;
  }

  private describe(s: ProcStat): Login | null {
    const uid = readUid(s.pid);
    if (uid === null) return null;
    const env = readEnv(s.pid, ['SSH_CLIENT', 'SSH_CONNECTION', 'DISPLAY']);
    const ssh = (env.SSH_CLIENT ?? env.SSH_CONNECTION ?? '').split(' ');
    const tty = s.ttyNr !== 0 ? ttyName(s.pid) : null;
    return {
      key: `${this.boot}:${s.pid}:${s.starttime}`,
      leaderPid: s.pid,
      sid: s.sid,
      user: this.users.name(uid),
      uid,
      tty: tty && tty.startsWith('/dev/') ? tty.slice(5) : null,
      display: env.DISPLAY ?? null,
      remoteAddress: ssh[0] || null,
      remotePort: ssh[1] ? Number(ssh[1]) : null,
      startedAt: startTimeMs(s.starttime),
    };
  }
}
