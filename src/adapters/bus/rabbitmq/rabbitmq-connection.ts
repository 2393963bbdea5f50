import { randomUUID } from 'node:crypto';
import { connect, type Channel, type ChannelModel, type ConfirmChannel, type Options } from 'amqplib';
import { UnavailableError } from '../../../core/errors.ts';

export interface RabbitMqLogger {
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
}

/** One live AMQP connection and what belongs to it; replaced wholesale on reconnect. */
export class Link {
  /** Confirm channel shared by publish, enqueue, retries and dead-lettering. */
  publisher!: ConfirmChannel;
  /** Job queues declared on this connection (forgotten with it: a restarted broker may have lost them). */
  readonly declaredQueues = new Set<string>();
  /** Ids of messages the broker returned as unroutable (basic.return arrives before the confirm). */
  readonly returned = new Set<string>();
  closed = false;

  constructor(readonly model: ChannelModel) {}
}

export interface RabbitMqConnectionOptions {
  url: string;
  connectionName: string;
  logger?: RabbitMqLogger;
  /** How long publish, enqueue and subscribe wait for a connection before failing. */
  readyTimeoutMs: number;
  maxReconnectDelayMs: number;
  /** Runs on every new connection before it is handed out: re-declares topology, re-attaches consumers. */
  onLink: (link: Link) => Promise<void>;
}

interface Waiter {
  resolve(link: Link): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

/**
 * Keeps one connection to RabbitMQ alive: reconnects with capped exponential backoff when it
 * drops, and makes callers wait (bounded) for the next connection instead of failing at once.
 */
export class RabbitMqConnection {
  private link: Link | undefined;
  private opened = false;
  private closing = false;
  private attempt = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private reconnecting: Promise<void> | undefined;
  private lastError: unknown;
  private readonly waiters = new Set<Waiter>();
  readonly safeUrl: string;

  constructor(private readonly opts: RabbitMqConnectionOptions) {
    this.safeUrl = redactUrl(opts.url);
  }

  /** First connection: fails fast (no retry) so a wrong URL stops start-up with a clear message. */
  async open(): Promise<void> {
    try {
      this.link = await this.establish();
    } catch (err) {
      throw new Error(`RabbitMQ bus: cannot connect to ${this.safeUrl}: ${errorMessage(err)}`, { cause: err });
    }
    this.opened = true;
  }

  /** The current connection, waiting for a reconnect until `deadline` (epoch ms) if there is none. */
  ready(deadline = Date.now() + this.opts.readyTimeoutMs): Promise<Link> {
    if (this.closing) return Promise.reject(new Error('RabbitMQ bus is closed'));
    if (this.link && !this.link.closed) return Promise.resolve(this.link);
    const waitMs = Math.max(0, deadline - Date.now());
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        resolve,
        reject,
        timer: setTimeout(() => {
          this.waiters.delete(waiter);
          const why = this.lastError === undefined ? '' : ` (last error: ${errorMessage(this.lastError)})`;
          reject(new UnavailableError(`RabbitMQ bus: no connection to ${this.safeUrl} after waiting ${waitMs} ms${why}`));
        }, waitMs),
      };
      this.waiters.add(waiter);
    });
  }

  /**
   * Publishes on the confirm channel and resolves once the broker confirmed. Without a pinned
   * `link`, a publish cut off by a dropped connection is sent again on the next one (at-least-once).
   */
  async publish(
    exchange: string,
    routingKey: string,
    content: Buffer,
    options: Options.Publish,
    via?: { link?: Link; prepare?: (link: Link) => Promise<void> },
  ): Promise<void> {
    const deadline = Date.now() + this.opts.readyTimeoutMs;
    let redeclared = false;
    for (;;) {
      const link = via?.link ?? (await this.ready(deadline));
      if (link.closed) throw new Error('RabbitMQ bus: connection lost');
      const messageId = randomUUID();
      try {
        await via?.prepare?.(link);
        await new Promise<void>((resolve, reject) => {
          link.publisher.publish(exchange, routingKey, content, { ...options, messageId }, (err: unknown) =>
            err ? reject(err instanceof Error ? err : new Error(String(err))) : resolve(),
          );
        });
      } catch (err) {
        // A dropped connection fails the confirm before it reports its own close: give it a turn.
        await new Promise((resolve) => setImmediate(resolve));
        if (via?.link || !link.closed || this.closing) throw err;
        continue;
      }
      if (!link.returned.delete(messageId)) return;
      // Unroutable: the queue was deleted behind our back. Declare it again once, then give up.
      if (redeclared || !via?.prepare) throw new Error(`RabbitMQ bus: no queue is bound to ${routingKey}`);
      redeclared = true;
      link.declaredQueues.clear();
    }
  }

  /** Runs `fn` on a short-lived channel, so a channel error (e.g. a declaration mismatch) stays local. */
  async withChannel<T>(link: Link, fn: (ch: Channel) => Promise<T>): Promise<T> {
    const ch = await link.model.createChannel();
    ch.on('error', (err: Error) => this.opts.logger?.warn({ err }, 'bus: channel error'));
    try {
      return await fn(ch);
    } finally {
      await ch.close().catch(() => undefined);
    }
  }

  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    clearTimeout(this.reconnectTimer);
    for (const w of this.waiters) {
      clearTimeout(w.timer);
      w.reject(new Error('RabbitMQ bus is closed'));
    }
    this.waiters.clear();
    await this.reconnecting; // a connection being set up right now closes itself on seeing `closing`
    const link = this.link;
    this.link = undefined;
    if (link && !link.closed) {
      link.closed = true;
      await link.model.close().catch(() => undefined);
    }
  }

  /** Test hook: kills the socket under the current connection, as a network failure would. */
  destroySocket(): void {
    const conn = this.link?.model.connection as unknown as { stream?: { destroy(err?: Error): void } } | undefined;
    conn?.stream?.destroy(new Error('socket destroyed by test'));
  }

  private async establish(): Promise<Link> {
    const model = await connect(withDefaultHeartbeat(this.opts.url), {
      clientProperties: { connection_name: this.opts.connectionName },
      timeout: 10_000,
    });
    const link = new Link(model);
    model.on('error', (err: Error) => {
      this.lastError = err;
      this.opts.logger?.warn({ err }, 'bus: RabbitMQ connection error');
    });
    model.on('blocked', (reason: string) => this.opts.logger?.warn({ reason }, 'bus: RabbitMQ blocked publishing'));
    model.on('close', (err?: Error) => this.onClose(link, err));
    try {
      const publisher = await model.createConfirmChannel();
      publisher.on('error', (err: Error) => this.opts.logger?.warn({ err }, 'bus: publisher channel error'));
      publisher.on('return', (msg: { properties: { messageId?: unknown } }) => {
        if (typeof msg.properties.messageId === 'string') link.returned.add(msg.properties.messageId);
      });
      // A publisher lost to a channel error is rare; rebuilding the whole connection keeps one recovery
      // path. Deferred: when the connection itself is closing, its 'close' event comes right after.
      publisher.on('close', () =>
        setImmediate(() => {
          if (!link.closed && !this.closing) model.close().catch(() => undefined);
        }),
      );
      link.publisher = publisher;
      await this.opts.onLink(link);
      if (this.closing) throw new Error('RabbitMQ bus is closed');
      if (link.closed) throw new Error('connection lost while setting it up');
      return link;
    } catch (err) {
      link.closed = true;
      await model.close().catch(() => undefined);
      throw err;
    }
  }

  private onClose(link: Link, err: Error | undefined): void {
    const wasOpen = !link.closed;
    link.closed = true;
    if (this.link === link) this.link = undefined;
    if (this.closing || !this.opened || !wasOpen) return;
    if (err) this.lastError = err;
    this.opts.logger?.warn({ err, url: this.safeUrl }, 'bus: RabbitMQ connection lost, reconnecting');
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.reconnectTimer || this.closing) return;
    const base = Math.min(this.opts.maxReconnectDelayMs, 100 * 2 ** this.attempt++);
    const delay = Math.min(this.opts.maxReconnectDelayMs, base * (0.8 + Math.random() * 0.4));
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      this.reconnecting = this.reconnect().finally(() => (this.reconnecting = undefined));
    }, delay);
  }

  private async reconnect(): Promise<void> {
    try {
      const link = await this.establish();
      this.link = link;
      this.attempt = 0;
      this.opts.logger?.info({ url: this.safeUrl }, 'bus: RabbitMQ connection re-established');
      for (const w of this.waiters) {
        clearTimeout(w.timer);
        w.resolve(link);
      }
      this.waiters.clear();
    } catch (err) {
      if (this.closing) return;
      this.lastError = err;
      this.opts.logger?.warn({ err: errorMessage(err), attempt: this.attempt }, 'bus: RabbitMQ reconnect failed');
      this.scheduleReconnect();
    }
  }
}

function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'amqp://<unparseable url>';
  }
}

/** The server's default heartbeat (60 s) takes minutes to notice a dead peer; ask for 10 s unless configured. */
function withDefaultHeartbeat(url: string): string {
  const u = new URL(url);
  if (!u.searchParams.has('heartbeat')) u.searchParams.set('heartbeat', '10');
  return u.toString();
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
