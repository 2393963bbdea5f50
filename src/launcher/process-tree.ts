import fs from 'node:fs';

/** Pids whose parent chain leads to `root` (read from /proc/<pid>/stat). */
export function descendants(root: number): number[] {
  const parent = new Map<number, number>();
  for (const name of safeReaddir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
      // Field 4 (ppid) follows the command name in parentheses, which may itself hold spaces.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parent.set(Number(name), ppid);
    } catch {
      // exited meanwhile
    }
  }
  const out: number[] = [];
  const walk = (p: number): void => {
    for (const [pid, pp] of parent) {
      if (pp === p && !out.includes(pid)) {
        out.push(pid);
        walk(pid);
      }
    }
  };
  walk(root);
  return out;
}

/** Pids whose environment carries `NAME=value`: what double-forked daemons of a program inherit. */
export function withEnvMarker(name: string, value: string): number[] {
  const needle = Buffer.from(`${name}=${value}\0`);
  const out: number[] = [];
  for (const p of safeReaddir('/proc')) {
    if (!/^\d+$/.test(p) || Number(p) === process.pid) continue;
    try {
      if (fs.readFileSync(`/proc/${p}/environ`).includes(needle)) out.push(Number(p));
    } catch {
      // another user's process, or gone
    }
  }
  return out;
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !isZombie(pid);
  } catch {
    return false;
  }
}

function isZombie(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return false;
  }
}

function safeReaddir(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}

/**
 * Ends a launched program and everything it started: its process group, its descendants and any
 * process carrying the session's environment marker. SIGTERM first, SIGKILL after `graceMs`;
 * repeated until nothing is left, so children forked meanwhile are caught too.
 */
export async function killTree(rootPid: number, marker: { name: string; value: string }, graceMs = 2000): Promise<number[]> {
  const seen = new Set<number>();
  const collect = (): number[] => {
    const pids = new Set<number>([rootPid, ...descendants(rootPid), ...withEnvMarker(marker.name, marker.value)]);
    return [...pids].filter(alive);
  };
  const signal = (pids: number[], sig: NodeJS.Signals): void => {
    try {
      process.kill(-rootPid, sig);
    } catch {
      // the group is gone
    }
    for (const p of pids) {
      seen.add(p);
      try {
        process.kill(p, sig);
      } catch {
        // gone
      }
    }
  };
  signal(collect(), 'SIGTERM');
  const end = Date.now() + graceMs;
  while (Date.now() < end) {
    if (collect().length === 0) return [...seen];
    await new Promise((r) => setTimeout(r, 100));
  }
  for (let i = 0; i < 5; i++) {
    const left = collect();
    if (left.length === 0) break;
    signal(left, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 100));
  }
  return [...seen];
}
