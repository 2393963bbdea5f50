import type { Cast } from './cast.ts';
import { Screen } from './screen.ts';

/** Output bytes replayed between two keyframes; bounds the work of any seek. */
const KEYFRAME_EVERY = 256 * 1024;

interface Keyframe {
  index: number;
  at: number;
  cols: number;
  rows: number;
  data: string;
}

/**
 * Plays an asciicast into a Screen: play/pause, speed and exact seeking. Seeking backwards
 * restores the nearest keyframe (a serialized screen taken every KEYFRAME_EVERY bytes of replayed
 * output) and replays from there, so a jump in an 8-hour recording replays a bounded amount.
 */
export class CastPlayer {
  readonly screen: Screen;
  private index = 0;
  private timeMs = 0;
  private playing = false;
  private speed = 1;
  private clockStart = 0;
  private timeAtStart = 0;
  private raf = 0;
  private sinceKeyframe = 0;
  private readonly keyframes: Keyframe[] = [];
  private queue: Promise<void> = Promise.resolve();
  private readonly listeners = new Set<() => void>();

  constructor(readonly cast: Cast) {
    this.screen = new Screen({ cols: cast.cols, rows: cast.rows, scrollback: 0, cursor: true });
    this.keyframes.push({ index: 0, at: 0, cols: cast.cols, rows: cast.rows, data: '' });
  }

  get durationMs(): number {
    return this.cast.durationMs;
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
      const appliedAt = this.index > 0 ? this.cast.events[this.index - 1]!.at : -1;
      const kf = this.keyframeBefore(target);
      // Backwards: restart from the nearest keyframe. Far forwards: skip ahead to one.
      if (target < appliedAt || kf.index > this.index) await this.restore(kf);
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

  private keyframeBefore(ms: number): Keyframe {
    let best = this.keyframes[0]!;
    for (const k of this.keyframes) if (k.at <= ms && k.index >= best.index) best = k;
    return best;
  }

  private async restore(kf: Keyframe): Promise<void> {
    this.screen.reset();
    this.screen.resize(kf.cols, kf.rows);
    if (kf.data) await this.screen.write(kf.data);
    this.index = kf.index;
    this.sinceKeyframe = 0;
  }

  /** Applies every event at or before `ms`, batching consecutive output into one write. */
  private async applyUntil(ms: number): Promise<void> {
    const events = this.cast.events;
    let batch = '';
    while (this.index < events.length && events[this.index]!.at <= ms) {
      const ev = events[this.index]!;
      if (ev.kind === 'o') {
        batch += ev.data;
        this.sinceKeyframe += ev.data.length;
      } else {
        if (batch) await this.screen.write(batch);
        batch = '';
        this.screen.resize(ev.cols, ev.rows);
      }
      this.index++;
      if (this.sinceKeyframe >= KEYFRAME_EVERY) {
        if (batch) await this.screen.write(batch);
        batch = '';
        this.sinceKeyframe = 0;
        if (!this.keyframes.some((k) => k.index === this.index)) {
          this.keyframes.push({ index: this.index, at: ev.at, cols: this.screen.term.cols, rows: this.screen.term.rows, data: this.screen.serialize() });
        }
      }
    }
    if (batch) await this.screen.write(batch);
  }

  private emit(): void {
    for (const l of this.listeners) l();
  }
}
