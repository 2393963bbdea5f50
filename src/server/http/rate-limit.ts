/** Fixed-window counter per key (client address) kept in memory; enough for the login route of one node. */
export class RateLimiter {
  private readonly windows = new Map<string, { start: number; count: number }>();

  constructor(private readonly max: number, private readonly windowMs: number, private readonly now: () => number = Date.now) {}

  /** Counts one hit; false when the key is over its budget for this window. */
  hit(key: string): boolean {
    const t = this.now();
    let w = this.windows.get(key);
    if (!w || t - w.start >= this.windowMs) {
      w = { start: t, count: 0 };
      this.windows.set(key, w);
      if (this.windows.size > 10_000) this.sweep(t);
    }
    w.count += 1;
    return w.count <= this.max;
  }

  /** True when the key has used its budget for this window (counts nothing). */
  exhausted(key: string): boolean {
    const w = this.windows.get(key);
    return w !== undefined && this.now() - w.start < this.windowMs && w.count >= this.max;
  }

  private sweep(t: number): void {
    for (const [k, w] of this.windows) if (t - w.start >= this.windowMs) this.windows.delete(k);
  }
}
