import type { IngestBatchItem, IngestService } from '../../core/recording/ingest.service.ts';
import type { ActivityEventInput } from '../../protocol/sessions.ts';

interface Pending {
  item: IngestBatchItem;
  waiters: Array<{ resolve(): void; reject(err: unknown): void }>;
}

/** Bytes of queued chunks at which a commit starts without waiting for the current one's turn. */
const EAGER_BYTES = 8 * 1024 * 1024;

/**
 * Sessions per transaction. With the embedded store a transaction's statements run synchronously
 * on the proxy's event loop (≈ 1 ms per session with output, events and their search index), so
 * the sessions of one tick are committed in parts of this many, the loop turning in between:
 * keystrokes of every session are relayed between parts instead of waiting for all of them.
 */
export const SESSIONS_PER_COMMIT = 32;

/**
 * Group commit for every session the proxy holds. Recorders hand their chunks, events and
 * heartbeats here; what arrives in the same turn of the event loop (all recorders flush on one
 * shared tick, see `every`) is stored in `IngestService.batch` calls of up to SESSIONS_PER_COMMIT
 * sessions each — one transaction, one commit per part — instead of a few commits per session per
 * second. While a commit runs, new writes queue for the next one. Each write's promise settles
 * when its own part is durable (or failed).
 */
export class RecordingWriter {
  private queue = new Map<string, Pending>();
  private queuedBytes = 0;
  private running = false;
  private scheduled = false;
  private readonly tickers = new Map<number, { fns: Set<() => void>; timer: NodeJS.Timeout }>();

  private readonly perCommit: number;

  constructor(
    private readonly ingest: Pick<IngestService, 'batch'>,
    opts: { sessionsPerCommit?: number } = {},
  ) {
    this.perCommit = Math.max(1, opts.sessionsPerCommit ?? SESSIONS_PER_COMMIT);
  }

  chunk(sessionId: string, seq: number, data: Buffer): Promise<void> {
    this.queuedBytes += data.length;
    return this.add(sessionId, (item) => item.chunks.push({ seq, data }));
  }

  events(sessionId: string, events: ActivityEventInput[]): Promise<void> {
    return this.add(sessionId, (item) => item.events.push(...events));
  }

  heartbeat(sessionId: string): Promise<void> {
    return this.add(sessionId, (item) => (item.heartbeat = true));
  }

  /**
   * Runs `fn` every `ms` on a timer shared by every caller with the same period, so all sessions
   * flush in the same turn (and so in the same commit). Returns the unregister function.
   */
  every(ms: number, fn: () => void): () => void {
    let t = this.tickers.get(ms);
    if (!t) {
      const fns = new Set<() => void>();
      const timer = setInterval(() => {
        for (const f of fns) f();
      }, ms);
      timer.unref();
      t = { fns, timer };
      this.tickers.set(ms, t);
    }
    t.fns.add(fn);
    return () => {
      const ticker = this.tickers.get(ms);
      if (!ticker) return;
      ticker.fns.delete(fn);
      if (ticker.fns.size === 0) {
        clearInterval(ticker.timer);
        this.tickers.delete(ms);
      }
    };
  }

  private add(sessionId: string, put: (item: IngestBatchItem) => void): Promise<void> {
    // Writes of one session within one batch are merged into one item, in order.
    let p = this.queue.get(sessionId);
    if (!p) {
      p = { item: { sessionId, source: 'proxy', chunks: [], events: [] }, waiters: [] };
      this.queue.set(sessionId, p);
    }
    put(p.item);
    const pending = p;
    const done = new Promise<void>((resolve, reject) => pending.waiters.push({ resolve, reject }));
    this.schedule();
    return done;
  }

  private schedule(): void {
    if (this.scheduled || (this.running && this.queuedBytes < EAGER_BYTES)) return;
    this.scheduled = true;
    // After the current turn, so everything flushed on the same tick joins this commit.
    setImmediate(() => {
      this.scheduled = false;
      void this.commit();
    });
  }

  private async commit(): Promise<void> {
    if (this.queue.size === 0) return;
    const batch = [...this.queue.values()];
    this.queue = new Map();
    this.queuedBytes = 0;
    this.running = true;
    try {
      for (let i = 0; i < batch.length; i += this.perCommit) {
        // Let sockets and timers run between parts (the statements of a part hold the loop).
        if (i > 0) await new Promise<void>((r) => setImmediate(r));
        const part = batch.slice(i, i + this.perCommit);
        try {
          const results = await this.ingest.batch(part.map((p) => p.item));
          part.forEach((p, k) => {
            const err = results[k];
            for (const w of p.waiters) {
              if (err === undefined) w.resolve();
              else w.reject(err);
            }
          });
        } catch (err) {
          for (const p of part) for (const w of p.waiters) w.reject(err);
        }
      }
    } finally {
      this.running = false;
      if (this.queue.size > 0) this.schedule();
    }
  }
}
