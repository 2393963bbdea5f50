import WebSocket from 'ws';
import type { Logger } from '../adapters/log/logger.ts';
import type { ActivityType } from '../protocol/sessions.ts';
import { ServerError, type AgentClient } from './agent-client.ts';
import type { BusDelivery } from './bus-delivery.ts';
import type { SessionSpool } from './spool.ts';

const BATCH = 2000;
/** At most one events request per this interval unless a full batch waits: a request costs far more than the events in it. */
const EVENTS_EVERY_MS = 500;

export interface LinkHooks {
  /** The server ended the session (terminated by an administrator, or interrupted). */
  onEnded(status: string, reason: string | null): void;
  onMessage(text: string, by: string): void;
  onTerminate(reason: string | null, by: string): void;
  onDelivered(n: number): void;
}

/**
 * One session the agent sends to: numbered events and cast chunks from the spool, heartbeats and
 * the control WebSocket for sessions it holds, and the close once the login is over and all is sent.
 */
export class SessionLink {
  private sending = false;
  private backoffUntil = 0;
  private failures = 0;
  private lastHeartbeat = 0;
  private lastEventsSent = 0;
  private ws: WebSocket | undefined;
  private closed = false;
  serverStatus = 'active';

  constructor(
    readonly spool: SessionSpool,
    private readonly client: AgentClient,
    private readonly log: Logger,
    private readonly hooks: LinkHooks,
    /** Session data over the Bus instead of HTTP (heartbeats and control stay on HTTP). */
    private readonly bus?: BusDelivery,
  ) {}

  get sessionId(): string {
    return this.spool.meta.sessionId;
  }

  /** Adds an event; `atMs` is wall-clock time, turned into ms from the session start. */
  event(atMs: number, type: ActivityType, text: string, details?: Record<string, unknown>): void {
    this.spool.add({ at: Math.max(0, atMs - this.spool.meta.startedAt), type, text, ...(details ? { details } : {}) });
  }

  /**
   * One round of delivery; safe to call often (it does nothing while a round runs or during
   * back-off). Events go out every EVENTS_EVERY_MS at most, at once when `now` is 0 (drain).
   */
  async pump(now = Date.now()): Promise<void> {
    if (this.sending || now < this.backoffUntil || this.closed) return;
    this.sending = true;
    try {
      this.spool.flush();
      const m = this.spool.meta;
      const due = now === 0 || now - this.lastEventsSent >= EVENTS_EVERY_MS || this.spool.pendingLines.length >= BATCH || m.close !== null;
      while (due && this.spool.pendingLines.length > 0) {
        this.lastEventsSent = now;
        const first = this.spool.firstPendingSeq;
        const count = Math.min(BATCH, this.spool.pendingLines.length);
        // Over HTTP the events go as the spool serialised them: no second JSON.stringify.
        const ack = this.bus ? await this.bus.events(m.sessionId, m.uploadToken, this.spool.pendingEvents(BATCH)) : await this.client.eventLines(m.sessionId, m.uploadToken, this.spool.pendingLines.slice(0, BATCH));
        this.spool.ackEvents(ack.next);
        this.hooks.onDelivered(ack.accepted);
        if (ack.next <= first) break; // the server wants something older we no longer hold: do not spin
        if (count < BATCH) break; // what came in meanwhile waits for the next round
      }
      while (this.spool.pendingChunks.length > 0) {
        const seq = this.spool.pendingChunks[0]!;
        const ack = await (this.bus ?? this.client).chunk(m.sessionId, m.uploadToken, seq, this.spool.readChunk(seq));
        this.spool.ackChunks(Math.max(ack.next, seq + 1));
      }
      this.spool.flush();
      if (m.held && now - this.lastHeartbeat > 10_000 && !m.close) {
        this.lastHeartbeat = now;
        const hb = await this.client.sessionHeartbeat(m.sessionId, m.uploadToken);
        if (hb.status !== 'active' && this.serverStatus === 'active') {
          this.serverStatus = hb.status;
          this.hooks.onEnded(hb.status, null);
        }
      }
      if (m.close && this.spool.drained) {
        // Over the Bus the close travels behind the data and says how much there was, so the
        // server ends the session only once all of it is stored.
        if (m.held && this.bus) await this.bus.close(m.sessionId, m.uploadToken, m.close, { events: m.eventsAcked, chunks: m.chunksAcked });
        else if (m.held) await this.client.close(m.sessionId, m.uploadToken, m.close);
        this.closed = true;
        this.stopControl();
        this.spool.remove();
      }
      this.failures = 0;
    } catch (err) {
      this.failures += 1;
      this.backoffUntil = Date.now() + Math.min(10_000, 250 * 2 ** Math.min(this.failures, 6));
      if (err instanceof ServerError && (err.status === 404 || err.status === 410 || err.status === 401)) {
        // The session is gone on the server (deleted, or its credential expired): nothing can be delivered.
        this.log.warn({ session: m_(this), code: err.code }, 'the server no longer takes data for this session; dropping its spool');
        this.closed = true;
        this.stopControl();
        this.spool.remove();
      } else {
        this.log.debug({ err, session: m_(this) }, 'delivery failed; will retry');
      }
    } finally {
      this.sending = false;
    }
  }

  get done(): boolean {
    return this.closed;
  }

  /** Control WebSocket: message and terminate from the console reach the session's user. */
  startControl(): void {
    if (this.ws || this.closed) return;
    const url = new URL(`/api/v1/ingest/sessions/${this.sessionId}/control`, this.client.server);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    const ws = new WebSocket(url, { headers: { authorization: `Bearer ${this.spool.meta.uploadToken}` } });
    this.ws = ws;
    ws.on('message', (raw) => {
      let m: { type?: string; text?: string; reason?: string | null; by?: string };
      try {
        m = JSON.parse(String(raw)) as typeof m;
      } catch {
        return;
      }
      if (m.type === 'message' && typeof m.text === 'string') this.hooks.onMessage(m.text, m.by ?? 'administrator');
      else if (m.type === 'terminate') this.hooks.onTerminate(m.reason ?? null, m.by ?? 'administrator');
    });
    ws.on('error', (err) => this.log.debug({ err }, 'control socket error'));
    ws.on('close', () => {
      if (this.ws !== ws) return;
      this.ws = undefined;
      // Reconnect while the session lives (server restart, network blip).
      if (!this.closed && !this.spool.meta.close) setTimeout(() => this.startControl(), 2000).unref();
    });
  }

  /** Live frames for Watch Live (terminal output), relayed by the server to viewers; dropped when offline. */
  live(message: Record<string, unknown>): void {
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify({ type: 'live', message }));
  }

  stopControl(): void {
    const ws = this.ws;
    this.ws = undefined;
    ws?.close();
  }
}

const m_ = (l: SessionLink): string => l.sessionId;
