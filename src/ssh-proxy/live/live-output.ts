import type { Bus } from '../../adapters/bus/bus.ts';
import { liveTopic } from '../../core/sessions/session-control.ts';
import type { LiveMessage } from './live-topics.ts';

const INTERVAL_MS = 50;
/** Bytes per publish interval; beyond it output is skipped (a bulk `cat` is not watched byte by byte). */
const MAX_BYTES = 64 * 1024;

type Unsequenced<T> = T extends unknown ? Omit<T, 'seq'> : never;

/**
 * Publishes what the user's terminal receives on `session.<id>.live`, batched every 50 ms and
 * bounded per batch so bulk output cannot flood the bus; a batch that had to skip says how much.
 */
export class LiveOutput {
  private parts: Buffer[] = [];
  private bytes = 0;
  private skipped = 0;
  private seq = 0;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private held = 0;

  constructor(
    private readonly bus: Pick<Bus, 'publish'>,
    private readonly sessionId: string,
    private readonly now: () => number,
    private readonly onError: (err: unknown) => void,
  ) {}

  write(data: Buffer): void {
    if (this.closed) return;
    if (this.bytes + data.length > MAX_BYTES) {
      this.skipped += data.length;
    } else {
      this.parts.push(Buffer.from(data));
      this.bytes += data.length;
    }
    this.timer ??= setTimeout(() => this.flush(), INTERVAL_MS);
  }

  /** Publishes `message` after the output written so far (output held back stays behind it). */
  publish(message: Unsequenced<LiveMessage>): void {
    if (this.closed) return;
    this.flush();
    this.send({ ...message, seq: this.seq++ } as LiveMessage);
  }

  /**
   * Sends the output written so far, then holds back what is written from now on until the
   * returned release is called: a snapshot that is still being made goes out between the two,
   * so a viewer that redraws from it sees each byte once — in the snapshot or after it.
   */
  hold(): () => void {
    this.flush();
    this.held += 1;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.held -= 1;
      if (this.held === 0 && !this.closed && (this.bytes > 0 || this.skipped > 0)) this.timer ??= setTimeout(() => this.flush(), INTERVAL_MS);
    };
  }

  close(status: string, reason: string | null): void {
    this.held = 0; // nothing stays held back at the end
    this.publish({ type: 'end', at: this.now(), status, reason });
    this.closed = true;
  }

  private flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.held > 0) return; // release() schedules the flush
    if (this.bytes === 0 && this.skipped === 0) return;
    const msg: LiveMessage = { type: 'output', seq: this.seq++, at: this.now(), data: Buffer.concat(this.parts).toString('base64'), ...(this.skipped > 0 ? { skipped: this.skipped } : {}) };
    this.parts = [];
    this.bytes = 0;
    this.skipped = 0;
    this.send(msg);
  }

  private send(msg: LiveMessage): void {
    this.bus.publish(liveTopic(this.sessionId), msg).catch(this.onError);
  }
}
