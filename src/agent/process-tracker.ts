import { readStat } from './proc.ts';

/**
 * Which login each process belongs to. Fork events pass a parent's login to its child without
 * touching /proc; a process the tracker has not seen is resolved once by walking its ancestors.
 */
export class ProcessTracker {
  private readonly loginOf = new Map<number, string>();
  private readonly leaders = new Map<number, string>();
  /** Processes known to be in no login (and their children): no /proc walk for them again. */
  private readonly outside = new Set<number>();

  addLeader(pid: number, key: string): void {
    this.outside.delete(pid);
    this.leaders.set(pid, key);
    this.loginOf.set(pid, key);
  }

  removeLogin(key: string): void {
    for (const [pid, k] of this.leaders) if (k === key) this.leaders.delete(pid);
    for (const [pid, k] of this.loginOf) if (k === key) this.loginOf.delete(pid);
  }

  fork(pid: number, ppid: number): void {
    const key = this.loginOf.get(ppid);
    if (key) {
      this.loginOf.set(pid, key);
      this.outside.delete(pid);
    } else {
      this.loginOf.delete(pid); // pid reuse: forget what the old process belonged to
      if (this.outside.has(ppid)) this.outside.add(pid);
      else this.outside.delete(pid);
    }
  }

  exit(pid: number): string | undefined {
    const key = this.loginOf.get(pid);
    if (!this.leaders.has(pid)) this.loginOf.delete(pid);
    this.outside.delete(pid);
    return key;
  }

  /** True for a process already found to be in no login (a new login needs setsid: check with one stat). */
  isOutside(pid: number): boolean {
    return this.outside.has(pid);
  }

  markOutside(pid: number): void {
    this.outside.add(pid);
  }

  /** A new login: what was found outside every login is looked at again. */
  forgetOutside(): void {
    this.outside.clear();
  }

  isLeader(pid: number): boolean {
    return this.leaders.has(pid);
  }

  get(pid: number): string | undefined {
    return this.loginOf.get(pid);
  }

  /**
   * Resolves through /proc: the nearest ancestor (or session) with a known login. `hint` is what
   * the capture already read (parent, session), which spares the process's own stat.
   */
  resolve(pid: number, hint: { ppid?: number; sid?: number | null } = {}): { key?: string; sid?: number; outsideAncestors?: number[] } {
    const known = this.loginOf.get(pid);
    if (known) return { key: known };
    const st = hint.sid ? null : readStat(pid);
    const sid = hint.sid ?? st?.sid;
    if (sid !== undefined && this.leaders.has(sid)) {
      const key = this.leaders.get(sid)!;
      this.loginOf.set(pid, key);
      return { key, sid };
    }
    const walked: number[] = [];
    let p = hint.ppid || st?.ppid || 0;
    for (let depth = 0; p > 1 && depth < 64; depth++) {
      const key = this.loginOf.get(p);
      if (key) {
        this.loginOf.set(pid, key);
        return { key, sid };
      }
      if (this.outside.has(p)) break;
      walked.push(p);
      p = readStat(p)?.ppid ?? 0;
    }
    return { sid, outsideAncestors: walked };
  }

  get size(): number {
    return this.loginOf.size;
  }
}
