import WebSocket from 'ws';
import { z } from 'zod';

const controlMessage = z.discriminatedUnion('type', [
  z.object({ type: z.literal('message'), text: z.string(), by: z.string().optional() }),
  z.object({ type: z.literal('terminate'), reason: z.string().nullable().optional(), by: z.string().optional(), at: z.number().finite().nonnegative().optional() }),
  z.object({ type: z.literal('snapshot-request') }),
]);
export type ControlMessage = z.infer<typeof controlMessage>;

/**
 * The launcher's end of `GET /ingest/sessions/{id}/control`: control messages down, live frames
 * up. Reconnects (1 s, then up to 5 s apart) whenever the socket drops, e.g. across a server restart.
 */
export class ControlChannel {
  private ws: WebSocket | null = null;
  private closed = false;
  private retry = 1000;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly url: string, private readonly authorization: string, private readonly onMessage: (m: ControlMessage) => void, private readonly onOpen: () => void = () => undefined) {}

  start(): void {
    this.connect();
  }

  private connect(): void {
    if (this.closed) return;
    const ws = new WebSocket(this.url, { headers: { authorization: this.authorization }, handshakeTimeout: 5000 });
    this.ws = ws;
    ws.on('open', () => {
      this.retry = 1000;
      this.onOpen();
    });
    ws.on('message', (raw: Buffer) => {
      try {
        const m = controlMessage.safeParse(JSON.parse(raw.toString()));
        if (m.success) this.onMessage(m.data);
      } catch {
        // not JSON: ignore
      }
    });
    ws.on('error', () => undefined);
    ws.on('close', () => {
      if (this.ws === ws) this.ws = null;
      if (this.closed) return;
      this.timer = setTimeout(() => this.connect(), this.retry);
      this.retry = Math.min(5000, this.retry * 2);
    });
  }

  /** Sends a live frame to Watch Live viewers; dropped while disconnected (the recording has it). */
  live(message: Record<string, unknown>): boolean {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return false;
    ws.send(JSON.stringify({ type: 'live', message }));
    return true;
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.ws?.close();
  }
}
