export interface LimitSettings {
  /** Minutes without client input before the session is ended; 0 = never. */
  inactivityTimeoutMinutes: number;
  /** Longest a session may last, in minutes; 0 = unlimited. */
  maxSessionMinutes: number;
}

export interface LimitsOptions {
  settings: LimitSettings;
  /** Length of a "minute" (60 000 ms; tests shorten it). */
  minuteMs: number;
  now(): number;
  /** Tells the user a limit is near. */
  warn(text: string, kind: 'inactivity' | 'max-length'): void;
  /** Ends the session: the limit is reached. */
  expire(reason: string, text: string): void;
}

/**
 * The inactivity timeout and maximum session length of the session-recording settings. The user
 * is warned a minute before a limit (a fifth of it for limits under five minutes), then the
 * session ends. Input from the client on any channel counts as activity.
 */
export class SessionLimits {
  private readonly startedAt: number;
  private lastActivity: number;
  private warnedIdle = false;
  private warnedMax = false;
  private readonly timer: NodeJS.Timeout | undefined;
  private done = false;

  constructor(private readonly opts: LimitsOptions) {
    this.startedAt = opts.now();
    this.lastActivity = this.startedAt;
    const { inactivityTimeoutMinutes: idle, maxSessionMinutes: max } = opts.settings;
    if (idle > 0 || max > 0) {
      this.timer = setInterval(() => this.check(), Math.max(50, Math.min(1000, opts.minuteMs / 10)));
      this.timer.unref();
    }
  }

  activity(): void {
    this.lastActivity = this.opts.now();
    this.warnedIdle = false;
  }

  stop(): void {
    this.done = true;
    if (this.timer) clearInterval(this.timer);
  }

  private check(): void {
    if (this.done) return;
    const now = this.opts.now();
    const { inactivityTimeoutMinutes: idle, maxSessionMinutes: max } = this.opts.settings;
    const minute = this.opts.minuteMs;
    const plural = (n: number): string => `${n} minute${n === 1 ? '' : 's'}`;
    if (max > 0) {
      const limit = max * minute;
      const left = this.startedAt + limit - now;
      if (left <= 0) return this.end(`maximum session length reached (${plural(max)})`, `vigil: this session reached its maximum length of ${plural(max)} and ends now`);
      if (!this.warnedMax && left <= warnBefore(limit, minute)) {
        this.warnedMax = true;
        this.opts.warn(`vigil: this session reaches its maximum length of ${plural(max)} in ${seconds(left, minute)}; save your work`, 'max-length');
      }
    }
    if (idle > 0) {
      const limit = idle * minute;
      const left = this.lastActivity + limit - now;
      if (left <= 0) return this.end(`inactivity timeout (${plural(idle)} without input)`, `vigil: this session was idle for ${plural(idle)} and ends now`);
      if (!this.warnedIdle && left <= warnBefore(limit, minute)) {
        this.warnedIdle = true;
        this.opts.warn(`vigil: this session has been idle; it ends in ${seconds(left, minute)} unless you type something`, 'inactivity');
      }
    }
  }

  private end(reason: string, text: string): void {
    this.stop();
    this.opts.expire(reason, text);
  }
}

const warnBefore = (limit: number, minute: number): number => Math.min(minute, limit / 5);

/** "about N seconds" in the configured minute's scale, so shortened test minutes read sensibly. */
function seconds(ms: number, minute: number): string {
  const s = Math.max(1, Math.round((ms / minute) * 60));
  return `about ${s} second${s === 1 ? '' : 's'}`;
}
