import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import path from 'node:path';

/** Reading /proc: process details, session leaders, boot time. Every read tolerates a vanished process. */

export interface ProcStat {
  pid: number;
  comm: string;
  ppid: number;
  sid: number;
  ttyNr: number;
  /** Start time in clock ticks after boot. */
  starttime: number;
}

export interface ProcessInfo {
  pid: number;
  ppid: number;
  name: string;
  path: string | null;
  cwd: string | null;
  args: string[];
  uid: number | null;
  user: string | null;
}

const CLK_TCK = 100;

export function readStat(pid: number, root = '/proc'): ProcStat | null {
  let s: string;
  try {
    s = readFileSync(`${root}/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // comm sits in parentheses and may itself contain spaces or ')'.
  const open = s.indexOf('(');
  const close = s.lastIndexOf(')');
  const rest = s.slice(close + 2).split(' ');
  return { pid, comm: s.slice(open + 1, close), ppid: Number(rest[1]), sid: Number(rest[3]), ttyNr: Number(rest[4]), starttime: Number(rest[19]) };
}

function tryRead(f: () => string): string | null {
  try {
    return f();
  } catch {
    return null;
  }
}

export function readUid(pid: number): number | null {
  const status = tryRead(() => readFileSync(`/proc/${pid}/status`, 'utf8'));
  const m = status ? /^Uid:\s+(\d+)/m.exec(status) : null;
  return m ? Number(m[1]) : null;
}

/** pid, ppid, name, full path, cwd, args, user — whatever can still be read. Null when the process is gone. */
export function readProcess(pid: number, users: UserNames): ProcessInfo | null {
  const cmdline = tryRead(() => readFileSync(`/proc/${pid}/cmdline`, 'latin1'));
  const exe = tryRead(() => readlinkSync(`/proc/${pid}/exe`));
  const cwd = tryRead(() => readlinkSync(`/proc/${pid}/cwd`));
  const stat = readStat(pid);
  if (!stat) return null;
  const uid = readUid(pid);
  const args = cmdline ? Buffer.from(cmdline, 'latin1').toString('utf8').split('\0').filter((a, i, all) => i < all.length - 1 || a !== '') : [];
  const cleanExe = exe ? exe.replace(/ \(deleted\)$/, '') : null;
  return { pid, ppid: stat.ppid, name: cleanExe ? path.basename(cleanExe) : stat.comm, path: cleanExe, cwd, args, uid, user: uid === null ? null : users.name(uid) };
}

export function listPids(): number[] {
  const out: number[] = [];
  for (const e of readdirSync('/proc')) {
    const c = e.charCodeAt(0);
    if (c >= 48 && c <= 57) out.push(Number(e));
  }
  return out;
}

/** The process's environment variables named in `names` (root can read every process's environ). */
export function readEnv(pid: number, names: string[]): Record<string, string> {
  const raw = tryRead(() => readFileSync(`/proc/${pid}/environ`, 'utf8'));
  const out: Record<string, string> = {};
  if (!raw) return out;
  for (const kv of raw.split('\0')) {
    const i = kv.indexOf('=');
    if (i > 0 && names.includes(kv.slice(0, i))) out[kv.slice(0, i)] = kv.slice(i + 1);
  }
  return out;
}

export function ttyName(pid: number): string | null {
  return tryRead(() => readlinkSync(`/proc/${pid}/fd/0`)) ?? null;
}

let bootTimeMs: number | undefined;
/** Epoch ms of boot, from /proc/stat `btime`. */
export function bootTime(): number {
  if (bootTimeMs === undefined) {
    const m = /^btime (\d+)/m.exec(readFileSync('/proc/stat', 'utf8'));
    bootTimeMs = m ? Number(m[1]) * 1000 : 0;
  }
  return bootTimeMs;
}
export const startTimeMs = (starttime: number): number => bootTime() + Math.round((starttime * 1000) / CLK_TCK);

export function bootId(): string {
  return tryRead(() => readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim()) ?? 'unknown-boot';
}

/** uid → user name from /etc/passwd, re-read when an unknown uid appears. */
export class UserNames {
  private map = new Map<number, string>();
  private loadedAt = 0;
  name(uid: number): string {
    let n = this.map.get(uid);
    if (n === undefined && Date.now() - this.loadedAt > 5000) {
      this.load();
      n = this.map.get(uid);
    }
    return n ?? String(uid);
  }
  private load(): void {
    this.loadedAt = Date.now();
    const text = tryRead(() => readFileSync('/etc/passwd', 'utf8')) ?? '';
    for (const line of text.split('\n')) {
      const f = line.split(':');
      if (f.length > 2) this.map.set(Number(f[2]), f[0]!);
    }
  }
}
