import type { ActivityType } from '../protocol/sessions.ts';
import { HttpError, UnreachableError, type ServerClient } from './server-client.ts';
import type { ChunkSpool } from './spool.ts';

export interface LauncherEvent {
  seq: number;
  at: number;
  type: ActivityType;
  text: string;
  details?: Record<string, unknown>;
}

export interface UplinkHooks {
  /** The session's status as the heartbeat reports it (`terminated`, `interrupted` end the session here). */
  status(status: string): void;
  /** The upload credential stopped working or the recording was deleted: uploading is over. */
  fatal(message: string): void;
  log(message: string): void;
}

const MAX_BACKOFF_MS = 5000;

/**
 * Everything the launcher sends while a session runs: spooled video chunks (in order, each
 * removed from the spool once acknowledged), activity events in batches, and a heartbeat. Any
 * answer from the server counts as contact; failures back off from 250 ms to 5 s and retry
 * forever, so after a server restart the upload resumes at the first chunk not acknowledged.
 */
export class Uplink {
  lastContact = Date.now();
  private events: LauncherEvent[] = [];
  private nextEventSeq = 0;
  private busy = false;
  private backoff = 250;
  private timer: NodeJS.Timeout | null = null;
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private stopped = false;
  private dead: string | null = null;
  uploadedBytes = 0;
  uploadedChunks = 0;

  constructor(private readonly client: ServerClient, private readonly sessionId: string, private readonly spool: ChunkSpool, private readonly hooks: UplinkHooks, private readonly opts: { heartbeatMs?: number } = {}) {}

  start(): void {
    this.heartbeatTimer = setInterval(() => void this.heartbeat(), this.opts.heartbeatMs ?? 2000);
    this.kick();
  }

  event(type: ActivityType, at: number, text = '', details?: Record<string, unknown>): void {
    this.events.push({ seq: this.nextEventSeq++, at: Math.max(0, Math.round(at)), type, text: text.slice(0, 60_000), ...(details ? { details } : {}) });
  }

  /** Sends what is waiting now (called after each chunk and each second). */
  kick(): void {
    if (this.timer || this.busy || this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.pump();
    }, 0);
  }

  get pendingChunks(): number {
    return this.spool.size;
  }

  get pendingEvents(): number {
    return this.events.length;
  }

  get failed(): string | null {
    return this.dead;
  }

  private contact(): void {
    this.lastContact = Date.now();
    this.backoff = 250;
  }

  private async pump(): Promise<void> {
    if (this.busy || this.dead) return;
    this.busy = true;
    let retryIn = 0;
    try {
      for (let c = this.spool.first(); c; c = this.spool.first()) {
        await this.client.putChunk(this.sessionId, c.seq, c.data);
        this.contact();
        this.spool.acknowledge(c.seq);
        this.uploadedBytes += c.data.length;
        this.uploadedChunks += 1;
      }
      while (this.events.length > 0) {
        const batch = this.events.slice(0, 500);
        await this.client.postEvents(this.sessionId, batch);
        this.contact();
        this.events.splice(0, batch.length);
      }
    } catch (err) {
      if (err instanceof UnreachableError) {
        retryIn = this.backoff;
        this.backoff = Math.min(MAX_BACKOFF_MS, this.backoff * 2);
      } else if (err instanceof HttpError && (err.status === 401 || err.status === 404 || err.status === 410)) {
        this.dead = `the server refuses this session's uploads (HTTP ${err.status}: ${err.message})`;
        this.hooks.fatal(this.dead);
      } else {
        this.contact();
        this.hooks.log(`upload failed, retrying: ${err instanceof Error ? err.message : String(err)}`);
        retryIn = 1000;
      }
    } finally {
      this.busy = false;
    }
    if (retryIn > 0 && !this.stopped && !this.timer) {
      this.timer = setTimeout(() => {
        this.timer = null;
        void this.pump();
      }, retryIn);
    } else if (!this.dead && (this.spool.size > 0 || this.events.length > 0)) {
      this.kick();
    }
  }

  private async heartbeat(): Promise<void> {
    try {
      const { status } = await this.client.heartbeat(this.sessionId);
      this.contact();
      this.hooks.status(status);
      // The server is back: send what waited without sitting out the backoff.
      if (this.spool.size > 0 || this.events.length > 0) {
        if (this.timer) clearTimeout(this.timer);
        this.timer = null;
        this.kick();
      }
    } catch (err) {
      if (err instanceof HttpError) this.contact();
    }
  }

  /** Waits until everything was acknowledged, up to `timeoutMs`; true when nothing is left. */
  async drain(timeoutMs: number): Promise<boolean> {
    const end = Date.now() + timeoutMs;
    while (Date.now() < end && !this.dead) {
      if (this.spool.size === 0 && this.events.length === 0 && !this.busy) return true;
      this.kick();
      await new Promise((r) => setTimeout(r, 100));
    }
    return this.spool.size === 0 && this.events.length === 0;
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    this.timer = null;
  }
}
