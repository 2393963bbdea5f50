import { listPids, readProcess, readStat, type UserNames } from '../proc.ts';
import type { ProcessCapture, ProcessEvent } from './capture.ts';

/**
 * Fallback when the proc connector is unavailable (no forkstat, no CAP_NET_ADMIN): diff the pid
 * list every `intervalMs`. A process that starts and ends between two polls is never seen; the
 * agent reports `proc-polling` in its status and docs/AGENT.md gives the measured miss rate.
 */
export class ProcPollCapture implements ProcessCapture {
  readonly kind = 'proc-polling' as const;
  readonly tool = '/proc';
  readonly lost = 0;
  private timer: NodeJS.Timeout | undefined;
  private known = new Map<number, number>();

  constructor(private readonly users: UserNames, private readonly intervalMs = 100) {}

  async start(onEvent: (e: ProcessEvent) => void): Promise<void> {
    for (const pid of listPids()) this.known.set(pid, readStat(pid)?.starttime ?? 0);
    const tick = (): void => {
      const now = Date.now();
      const seen = new Set<number>();
      for (const pid of listPids()) {
        seen.add(pid);
        if (this.known.has(pid)) continue;
        const info = readProcess(pid, this.users);
        this.known.set(pid, 0);
        if (!info) continue;
        onEvent({ kind: 'fork', pid, ppid: info.ppid });
        onEvent({ kind: 'exec', pid, at: now, info, partial: info.path === null });
      }
      for (const pid of this.known.keys()) {
        if (!seen.has(pid)) {
          this.known.delete(pid);
          onEvent({ kind: 'exit', pid, at: now, exitCode: null });
        }
      }
    };
    this.timer = setInterval(tick, this.intervalMs);
    return Promise.resolve();
  }

  stop(): Promise<void> {
    clearInterval(this.timer);
    return Promise.resolve();
  }
}
