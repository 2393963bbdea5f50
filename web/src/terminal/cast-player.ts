import type { CastEvent } from '../../../src/protocol/cast-index.ts';
import type { CastSource } from './cast-source.ts';
import { Screen } from './screen.ts';

/**
 * Plays a terminal recording into a Screen: play/pause, speed and exact seeking. A seek restores
 * the last keyframe at or before the target (the server's seek index) and replays the events
 * from there; playing on crosses into the next segment, fetched ahead of time. No seek replays
 * more than one segment (≤ 64 KiB of output), whatever the recording's length.
 */
export class CastPlayer {
  readonly screen: Screen;
  private seg = -1;
  private events: CastEvent[] = [];
  private idx = 0;
  private appliedAt = -1;
  private timeMs = 0;
  private playing = false;
  private speed = 1;
  private clockStart = 0;
  private timeAtStart = 0;
  private raf = 0;
  private queue: Promise<void> = Promise.resolve();
  private readonly listeners = new Set<() => void>();

  constructor(readonly source: CastSource) {
    this.screen = new Screen({ cols: source.index.cols, rows: source.index.rows, scrollback: 0, cursor: true });
  }

  get durationMs(): number {
    return this.source.durationMs;
  }
  get currentMs(): number {
    return this.timeMs;
  }
  get isPlaying(): boolean {
    return this.playing;
  }
  get rate(): number {
    return this.speed;
  }

  subscribe(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => {
      this.listeners.delete(fn);
    };
  }

  play(): void {
    if (this.playing) return;
    if (this.timeMs >= this.durationMs) void this.seek(0);
    this.playing = true;
    this.clockStart = performance.now();
    this.timeAtStart = this.timeMs;
    this.tick();
    this.emit();
  }

  pause(): void {
    this.playing = false;
    cancelAnimationFrame(this.raf);
    this.emit();
  }

  setSpeed(speed: number): void {
    this.timeAtStart = this.timeMs;
    this.clockStart = performance.now();
    this.speed = speed;
    this.emit();
  }

  /** Shows the screen as it was at `ms`; resolves once it is drawn into the Screen. */
  seek(ms: number): Promise<void> {
    const target = Math.max(0, Math.min(this.durationMs, ms));
    this.timeMs = target;
    this.timeAtStart = target;
    this.clockStart = performance.now();
    this.emit();
    return this.enqueue(async () => {
      const k = this.source.keyframeFor(target);
      // Backwards, or past the next keyframe: restart from the keyframe (cheaper than replaying).
      if (this.seg < 0 || target < this.appliedAt || k > this.seg + 1 || (k === this.seg + 1 && this.idx < this.events.length)) await this.restore(k);
      await this.applyUntil(target);
    });
  }

  dispose(): void {
    this.pause();
    this.listeners.clear();
    this.screen.dispose();
  }

  private tick = (): void => {
    if (!this.playing) return;
    const now = this.timeAtStart + (performance.now() - this.clockStart) * this.speed;
    this.timeMs = Math.min(now, this.durationMs);
    void this.enqueue(() => this.applyUntil(this.timeMs));
    if (this.timeMs >= this.durationMs) {
      this.playing = false;
      this.emit();
      return;
    }
    this.emit();
    this.raf = requestAnimationFrame(this.tick);
  };

  private enqueue(op: () => Promise<void>): Promise<void> {
    this.queue = this.queue.then(op, op);
    return this.queue;
  }

  private async restore(k: number): Promise<void> {
    const kf = this.source.keyframeAt(k);
    const [snapshot, events] = await Promise.all([this.source.snapshot(k), this.source.segment(k)]);
    this.screen.reset();
    this.screen.resize(kf.cols, kf.rows);
    if (snapshot) await this.screen.write(snapshot);
    this.seg = k;
    this.events = events;
    this.idx = 0;
    this.appliedAt = kf.at;
  }

  /** Applies every event at or before `ms`, batching consecutive output into one write. */
  private async applyUntil(ms: number): Promise<void> {
    let batch = '';
    for (;;) {
      while (this.idx < this.events.length && this.events[this.idx]!.at <= ms) {
        const ev = this.events[this.idx]!;
        if (ev.kind === 'o') batch += ev.data;
        else {
          if (batch) await this.screen.write(batch);
          batch = '';
          this.screen.resize(ev.cols, ev.rows);
        }
        this.appliedAt = ev.at;
        this.idx++;
      }
      const next = this.seg + 1;
      if (next >= this.source.keyframeCount) break;
      // Fetch the next segment ahead while playing through this one.
      if (this.idx * 2 >= this.events.length) void this.source.segment(next).catch(() => undefined);
      if (this.idx < this.events.length || this.source.keyframeAt(next).at > ms) break;
      // This segment is done: its end is the next keyframe's screen, so go on without restoring.
      if (batch) await this.screen.write(batch);
      batch = '';
      this.events = await this.source.segment(next);
      this.seg = next;
      this.idx = 0;
    }
    if (batch) await this.screen.write(batch);
  }

  private emit(): void {
    for (const l of this.listeners) l();
  }
}
