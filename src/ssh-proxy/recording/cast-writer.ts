import { castEventLine } from './cast-line.ts';
import type { InputUnit } from './echo-detector.ts';

export type ChunkSink = (seq: number, data: Buffer) => Promise<void>;
export type CastCode = 'o' | 'i' | 'r' | 'm';

interface HeldEvent {
  line: string;
  /** Input waiting for the echo decision: written when visible, dropped when hidden. */
  gate?: InputUnit;
}

export interface CastHeader {
  startedAtMs: number;
  width: number;
  height: number;
  term?: string;
  title?: string;
}

/** Bytes per chunk; well under the pipeline's 8 MiB limit. */
const CHUNK_BYTES = 1024 * 1024;
/** Buffered bytes at which a flush starts early (bulk output), without holding the writer back. */
const FLUSH_AT = 4 * 1024 * 1024;
/**
 * Buffered bytes beyond which writers are held back until a flush catches up. Above FLUSH_AT so
 * that output keeps flowing while the previous flush is being committed (no stop-and-go).
 */
const HIGH_WATER = 16 * 1024 * 1024;
const RETRIES = 3;

/**
 * asciicast v2 as NDJSON, cut into sequence-numbered chunks (from 0, no gaps) for the pipeline.
 * Events keep their order; an input event waits for its echo decision, and the events behind it
 * wait with it, so a password typed with echo off never reaches the cast. Memory is bounded:
 * past the high-water mark `whenWritable()` returns a promise the relay awaits (backpressure).
 */
export class CastWriter {
  private held: HeldEvent[] = [];
  private ready: string[] = [];
  private bytes = 0;
  private seq = 0;
  private headerWritten = false;
  private tail: Promise<void> = Promise.resolve();
  private waiters: Array<() => void> = [];
  /** An early flush (past FLUSH_AT) is under way. */
  private flushing = false;
  failed: unknown;

  constructor(
    private readonly header: CastHeader,
    private readonly sink: ChunkSink,
  ) {}

  /** Sets the size in the header, until the header has gone out (later changes are `r` events). */
  setSize(width: number, height: number, term?: string): boolean {
    if (this.headerWritten) return false;
    this.header.width = width;
    this.header.height = height;
    if (term) this.header.term = term;
    return true;
  }

  push(atMs: number, code: CastCode, data: string, gate?: InputUnit): void {
    if (this.failed !== undefined) return;
    const line = castEventLine(Math.max(0, Math.round(atMs)) / 1000, code, data);
    this.bytes += line.length;
    if (this.held.length === 0 && (!gate || gate.state !== 'pending')) {
      if (!gate || gate.state === 'visible') this.ready.push(line);
      else this.bytes -= line.length;
    } else {
      this.held.push({ line, ...(gate ? { gate } : {}) });
    }
  }

  /** Moves held events whose gate is decided into the output, in order. */
  release(): void {
    while (this.held.length > 0) {
      const e = this.held[0]!;
      if (e.gate?.state === 'pending') break;
      this.held.shift();
      if (e.gate?.state === 'hidden') this.bytes -= e.line.length;
      else this.ready.push(e.line);
    }
  }

  get pendingBytes(): number {
    return this.bytes;
  }

  /** Undefined when the caller may go on; else a promise that settles once a flush made room. */
  whenWritable(): Promise<void> | undefined {
    if (this.bytes < FLUSH_AT || this.failed !== undefined) return undefined;
    if (!this.flushing) {
      this.flushing = true;
      this.flush()
        .catch(() => {})
        .finally(() => (this.flushing = false));
    }
    if (this.bytes < HIGH_WATER) return undefined;
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Writes what is ready as chunks; `final` also writes held input (deciding it now, as hidden if pending). */
  flush(final = false): Promise<void> {
    const result = this.tail.then(() => this.flushNow(final));
    this.tail = result.catch(() => {}); // `failed` remembers the error; later flushes do nothing
    return result;
  }

  private async flushNow(final: boolean): Promise<void> {
    if (final) for (const e of this.held) if (e.gate?.state === 'pending') e.gate.state = 'hidden';
    this.release();
    if (!this.headerWritten) {
      const h = { version: 2, width: this.header.width, height: this.header.height, timestamp: Math.floor(this.header.startedAtMs / 1000), ...(this.header.term ? { env: { TERM: this.header.term } } : {}), ...(this.header.title ? { title: this.header.title } : {}) };
      this.ready.unshift(`${JSON.stringify(h)}\n`);
      this.bytes += this.ready[0]!.length;
      this.headerWritten = true;
    }
    while (this.ready.length > 0 && this.failed === undefined) {
      // Everything ready goes out at once (bulk output: several chunks), so the group commit
      // stores them in one transaction instead of one commit per chunk.
      const writes: Array<Promise<void>> = [];
      let total = 0;
      while (this.ready.length > 0) {
        let size = 0;
        let n = 0;
        while (n < this.ready.length && (n === 0 || size + this.ready[n]!.length <= CHUNK_BYTES)) size += this.ready[n++]!.length;
        writes.push(this.write(this.seq++, Buffer.from(this.ready.splice(0, n).join(''))));
        total += size;
      }
      const results = await Promise.allSettled(writes);
      if (this.failed === undefined) this.bytes -= total; // a failure already dropped everything
      const failed = results.find((r) => r.status === 'rejected');
      if (failed) {
        for (const w of this.waiters.splice(0)) w();
        throw (failed as PromiseRejectedResult).reason;
      }
      if (this.bytes < HIGH_WATER / 2) for (const w of this.waiters.splice(0)) w();
    }
    if (this.failed !== undefined) for (const w of this.waiters.splice(0)) w();
  }

  private async write(seq: number, data: Buffer): Promise<void> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        await this.sink(seq, data);
        return;
      } catch (err) {
        if (this.failed !== undefined) throw this.failed;
        if (attempt >= RETRIES) {
          this.failed = err;
          this.held = [];
          this.ready = [];
          this.bytes = 0;
          throw err;
        }
        await new Promise((r) => setTimeout(r, 200 * attempt));
      }
    }
  }
}
