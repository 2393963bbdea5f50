import type { Channel } from 'amqplib';
import type { Subscription } from '../bus.ts';
import type { Link, RabbitMqLogger } from './rabbitmq-connection.ts';

/** Something the bus re-creates on every new connection. */
export interface Attachment extends Subscription {
  /** Idempotent per link: attaching twice to the same connection is a no-op. */
  attach(link: Link): Promise<void>;
}

/**
 * A consumer on a channel of its own that survives reconnects: the bus calls `attach` with each
 * new connection, attachments run one after another, and `unsubscribe` cancels the consumer,
 * lets the subclass drain what it holds, then closes the channel. Subclasses declare their
 * queues and start consuming in `setUp` (returning the consumer tag).
 */
export abstract class ChannelAttachment implements Attachment {
  protected active = true;
  private current: { link: Link; ch: Channel; consumerTag: string } | undefined;
  private attaching: Promise<void> = Promise.resolve();
  private stopped: Promise<void> | undefined;

  protected constructor(
    private readonly base: { what: string; context: Record<string, unknown>; logger: RabbitMqLogger | undefined; onRemove: () => void },
  ) {}

  /** Declares what it consumes on `ch` and starts consuming; returns the consumer tag. */
  protected abstract setUp(link: Link, ch: Channel): Promise<string>;

  /** After the consumer is cancelled: wait for work in hand (and clean up), before the channel closes. */
  protected abstract drain(): Promise<void>;

  attach(link: Link): Promise<void> {
    const run = this.attaching.then(() => this.attachNow(link));
    this.attaching = run.catch(() => undefined);
    return run;
  }

  private async attachNow(link: Link): Promise<void> {
    if (!this.active || link.closed || this.current?.link === link) return;
    const ch = await link.model.createChannel();
    ch.on('error', (err: Error) => this.base.logger?.warn({ err, ...this.base.context }, `bus: ${this.base.what} channel error`));
    try {
      const consumerTag = await this.setUp(link, ch);
      this.current = { link, ch, consumerTag };
    } catch (err) {
      await ch.close().catch(() => undefined);
      throw err;
    }
  }

  unsubscribe(): Promise<void> {
    this.stopped ??= this.stop();
    return this.stopped;
  }

  private async stop(): Promise<void> {
    this.active = false;
    this.base.onRemove();
    await this.attaching;
    const cur = this.current;
    if (cur && !cur.link.closed) await cur.ch.cancel(cur.consumerTag).catch(() => undefined);
    await this.drain();
    if (cur) await cur.ch.close().catch(() => undefined);
  }
}
