import WebSocket from 'ws';

/** A WebSocket client that queues JSON messages so a test can await the next one of a type. */
export class Socket {
  private readonly queue: Array<Record<string, unknown>> = [];
  private waiters: Array<() => void> = [];
  readonly ws: WebSocket;
  readonly opened: Promise<void>;
  closed = false;

  constructor(url: string, token: string) {
    this.ws = new WebSocket(url, { headers: { authorization: `Bearer ${token}` } });
    this.ws.on('message', (raw: Buffer) => {
      this.queue.push(JSON.parse(raw.toString()) as Record<string, unknown>);
      for (const w of this.waiters.splice(0)) w();
    });
    this.ws.on('close', () => {
      this.closed = true;
      for (const w of this.waiters.splice(0)) w();
    });
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('error', reject);
      this.ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    });
  }

  /** The next queued message of `type` (or of any of the types given). */
  async next(type: string | string[], ms = 5000): Promise<Record<string, unknown>> {
    const types = Array.isArray(type) ? type : [type];
    const end = Date.now() + ms;
    for (;;) {
      const i = this.queue.findIndex((m) => types.includes(String(m.type)));
      if (i >= 0) return this.queue.splice(i, 1)[0]!;
      if (Date.now() > end || this.closed) throw new Error(`no "${type}" message (got ${JSON.stringify(this.queue)})`);
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 100);
      });
    }
  }
}
