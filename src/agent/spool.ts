import { closeSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync, writeSync, existsSync } from 'node:fs';
import path from 'node:path';
import type { ActivityEventInput } from '../protocol/sessions.ts';

const META_EVERY_MS = 5000;
const LOG_RESTART_BYTES = 1024 * 1024;

/** What the agent keeps about one session it sends to: enough to resume after a restart. */
export interface SpoolMeta {
  sessionId: string;
  uploadToken: string;
  startedAt: number;
  held: boolean;
  media: 'cast' | 'webm' | null;
  recordKeystrokes: boolean;
  loginKey: string;
  /** Event sequence numbers below this are acknowledged by the server (and may be forgotten). */
  eventsAcked: number;
  chunksAcked: number;
  /** Set when the login ended: the session is closed once everything is delivered. */
  close: { status: 'ended' | 'terminated'; reason: string } | null;
}

/**
 * The bounded on-disk spool of one session: `meta.json`, `events.ndjson` (append-only, each event
 * with its sequence number) and `chunks/<seq>`. Sequence numbers are assigned here, once, and
 * survive restarts, so a replay after an outage is recognised by the server as a duplicate.
 */
export class SessionSpool {
  readonly dir: string;
  meta: SpoolMeta;
  /**
   * Events not yet acknowledged, in order, each as serialised in events.ndjson: its size counts
   * against the budget, and it is sent as it is. Only the text is kept (numbered from
   * `firstPendingSeq`, without gaps): event objects held until the server acknowledges them would
   * outlive V8's young generation, and copying and promoting them was much of the agent's GC work.
   */
  pendingLines: string[] = [];
  /** The sequence number of pendingLines[0]. */
  firstPendingSeq: number;
  pendingChunks: number[] = [];
  private nextSeq: number;
  private nextChunk: number;
  private unflushed: string[] = [];
  /** The acknowledged counts changed since meta.json was written. */
  private metaDirty = false;
  private metaWrittenAt = 0;
  /** Bytes in events.ndjson: it is started afresh once everything in it is acknowledged and it is big. */
  private logBytes = 0;
  /** events.ndjson, open for appending while the spool lives (one write per flush). */
  private logFd: number | undefined;
  /** Delivered and closed: nothing is written any more. */
  private removed = false;

  private constructor(dir: string, meta: SpoolMeta, private readonly budget: SpoolBudget) {
    this.dir = dir;
    this.meta = meta;
    this.nextSeq = meta.eventsAcked;
    this.firstPendingSeq = meta.eventsAcked;
    this.nextChunk = meta.chunksAcked;
  }

  /** The first `max` pending events as objects (the Bus sends objects; HTTP sends the lines). */
  pendingEvents(max = Infinity): ActivityEventInput[] {
    return this.pendingLines.slice(0, max).map((l) => JSON.parse(l) as ActivityEventInput);
  }

  static create(root: string, meta: SpoolMeta, budget: SpoolBudget): SessionSpool {
    const dir = path.join(root, meta.sessionId);
    mkdirSync(path.join(dir, 'chunks'), { recursive: true, mode: 0o700 });
    const s = new SessionSpool(dir, meta, budget);
    s.writeMeta();
    return s;
  }

  /** Loads a spool left by a previous run (events past the acknowledged ones are sent again). */
  static load(dir: string, budget: SpoolBudget): SessionSpool {
    const meta = JSON.parse(readFileSync(path.join(dir, 'meta.json'), 'utf8')) as SpoolMeta;
    const s = new SessionSpool(dir, meta, budget);
    const file = path.join(dir, 'events.ndjson');
    if (existsSync(file)) {
      const text = readFileSync(file, 'utf8');
      s.logBytes = text.length;
      for (const line of text.split('\n')) {
        if (!line) continue;
        let e: ActivityEventInput;
        try {
          e = JSON.parse(line) as ActivityEventInput;
        } catch {
          continue; // a torn last line from a crash: never acknowledged, never numbered for the server
        }
        s.nextSeq = Math.max(s.nextSeq, e.seq + 1);
        if (e.seq >= meta.eventsAcked) {
          if (s.pendingLines.length === 0) s.firstPendingSeq = e.seq;
          s.pendingLines.push(line);
          budget.add(1, line.length);
        }
      }
    }
    for (const f of readdirSync(path.join(dir, 'chunks'))) {
      const seq = Number(f);
      if (!Number.isInteger(seq)) continue;
      s.nextChunk = Math.max(s.nextChunk, seq + 1);
      if (seq >= meta.chunksAcked) {
        s.pendingChunks.push(seq);
        budget.add(0, statSync(path.join(dir, 'chunks', f)).size);
      }
    }
    s.pendingChunks.sort((a, b) => a - b);
    return s;
  }

  /** Numbers and queues an event; false (and counted as dropped) when the spool is full. */
  add(e: Omit<ActivityEventInput, 'seq'>): boolean {
    const line = JSON.stringify({ seq: this.nextSeq, ...e });
    if (!this.budget.fits(line.length)) {
      this.budget.dropped += 1;
      return false;
    }
    if (this.pendingLines.length === 0) this.firstPendingSeq = this.nextSeq;
    this.nextSeq += 1;
    this.pendingLines.push(line);
    this.unflushed.push(line);
    this.budget.add(1, line.length);
    return true;
  }

  addChunk(data: Buffer): boolean {
    if (!this.budget.fits(data.length)) {
      this.budget.dropped += 1;
      return false;
    }
    const seq = this.nextChunk++;
    writeFileSync(path.join(this.dir, 'chunks', String(seq)), data, { mode: 0o600 });
    this.pendingChunks.push(seq);
    this.budget.add(0, data.length);
    return true;
  }

  readChunk(seq: number): Buffer {
    return readFileSync(path.join(this.dir, 'chunks', String(seq)));
  }

  /**
   * Writes queued events to disk (before each delivery round). The acknowledged counts reach
   * meta.json at most every META_EVERY_MS (or now with `force`): after a crash the events
   * acknowledged since are sent again, and the server recognises them by their sequence numbers.
   */
  flush(force = false): void {
    if (this.removed) return;
    if (this.unflushed.length > 0) {
      const text = Buffer.from(this.unflushed.join('\n') + '\n');
      this.logFd ??= openSync(path.join(this.dir, 'events.ndjson'), 'a', 0o600);
      for (let off = 0; off < text.length; ) off += writeSync(this.logFd, text, off);
      this.logBytes += text.length;
      this.unflushed = [];
    }
    if (this.metaDirty && (force || Date.now() - this.metaWrittenAt >= META_EVERY_MS)) this.writeMeta();
  }

  ackEvents(next: number): void {
    if (next <= this.meta.eventsAcked) return;
    const n = Math.max(0, Math.min(this.pendingLines.length, next - this.firstPendingSeq));
    let bytes = 0;
    for (let i = 0; i < n; i++) bytes += this.pendingLines[i]!.length;
    this.pendingLines.splice(0, n);
    this.firstPendingSeq += n;
    this.budget.remove(n, bytes);
    this.meta.eventsAcked = next;
    this.metaDirty = true;
    // Everything in the log is acknowledged and it has grown: start a fresh one. meta.json is
    // written first, since sequence numbers continue from it once the log is gone.
    if (this.pendingLines.length === 0 && this.unflushed.length === 0 && this.logBytes >= LOG_RESTART_BYTES) {
      this.writeMeta();
      this.closeLog();
      rmSync(path.join(this.dir, 'events.ndjson'), { force: true });
      this.logBytes = 0;
    }
  }

  ackChunks(next: number): void {
    while (this.pendingChunks.length > 0 && this.pendingChunks[0]! < next) {
      const seq = this.pendingChunks.shift()!;
      const f = path.join(this.dir, 'chunks', String(seq));
      this.budget.remove(0, statSync(f).size);
      rmSync(f, { force: true });
    }
    if (next > this.meta.chunksAcked) {
      this.meta.chunksAcked = next;
      // Chunk files are deleted once acknowledged: their numbering continues from meta.json.
      this.writeMeta();
    }
  }

  markClose(close: SpoolMeta['close']): void {
    this.meta.close = close;
    this.writeMeta();
  }

  get drained(): boolean {
    return this.pendingLines.length === 0 && this.pendingChunks.length === 0;
  }

  remove(): void {
    this.removed = true;
    this.closeLog();
    rmSync(this.dir, { recursive: true, force: true });
  }

  private closeLog(): void {
    if (this.logFd === undefined) return;
    closeSync(this.logFd);
    this.logFd = undefined;
  }

  writeMeta(): void {
    if (this.removed) return;
    const tmp = path.join(this.dir, 'meta.json.tmp');
    writeFileSync(tmp, JSON.stringify(this.meta), { mode: 0o600 });
    renameSync(tmp, path.join(this.dir, 'meta.json'));
    this.metaDirty = false;
    this.metaWrittenAt = Date.now();
  }
}

/** The spool's bound, shared by every session: events past it are dropped and counted. */
export class SpoolBudget {
  events = 0;
  bytes = 0;
  dropped = 0;
  constructor(readonly maxBytes: number) {}
  fits(size: number): boolean {
    return this.bytes + size <= this.maxBytes;
  }
  add(events: number, bytes: number): void {
    this.events += events;
    this.bytes += bytes;
  }
  remove(events: number, bytes: number): void {
    this.events = Math.max(0, this.events - events);
    this.bytes = Math.max(0, this.bytes - bytes);
  }
}
