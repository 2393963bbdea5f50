import type { Channel, ConsumeMessage } from 'amqplib';
import type { Json, Subscription } from '../bus.ts';
import type { Link, RabbitMqLogger } from './rabbitmq-connection.ts';
import { decode, declareSubscriptionQueue } from './rabbitmq-topology.ts';

/** Messages a subscription may hold unacknowledged; enough for throughput, bounded for memory. */
const PREFETCH = 100;

/** Something the bus re-creates on every new connection. */
export interface Attachment extends Subscription {
  /** Idempotent per link: attaching twice to the same connection is a no-op. */
  attach(link: Link): Promise<void>;
}

export interface RabbitMqSubscriptionDeps {
  exchange: string;
  queue: string;
  pattern: string;
  handler: (message: Json, topic: string) => void | Promise<void>;
  logger: RabbitMqLogger | undefined;
  onRemove: () => void;
  /** Deletes the queue if the bus is connected right now (the broker expires it otherwise). */
  deleteQueue: (queue: string) => Promise<void>;
}

/**
 * One subscription: a queue of its own bound to the topic exchange with its pattern. Messages are
 * handled one at a time in arrival order and acknowledged after the handler, so those in flight
 * when a connection drops are redelivered (at-least-once) rather than lost.
 */
export class RabbitMqSubscription implements Attachment {
  private active = true;
  private current: { link: Link; ch: Channel; consumerTag: string } | undefined;
  private attaching: Promise<void> = Promise.resolve();
  private tail: Promise<void> = Promise.resolve();
  private stopped: Promise<void> | undefined;

  constructor(private readonly deps: RabbitMqSubscriptionDeps) {}

  attach(link: Link): Promise<void> {
    const run = this.attaching.then(() => this.attachNow(link));
    this.attaching = run.catch(() => undefined);
    return run;
  }

  private async attachNow(link: Link): Promise<void> {
    if (!this.active || link.closed || this.current?.link === link) return;
    const { exchange, queue, pattern, logger } = this.deps;
    const ch = await link.model.createChannel();
    ch.on('error', (err: Error) => logger?.warn({ err, pattern }, 'bus: subscription channel error'));
    try {
      await declareSubscriptionQueue(ch, queue);
      await ch.bindQueue(queue, exchange, pattern);
      await ch.prefetch(PREFETCH);
      const { consumerTag } = await ch.consume(queue, (msg) => this.onMessage(ch, msg), { noAck: false });
      this.current = { link, ch, consumerTag };
    } catch (err) {
      await ch.close().catch(() => undefined);
      throw err;
    }
  }

  private onMessage(ch: Channel, msg: ConsumeMessage | null): void {
    if (msg === null) {
      this.deps.logger?.warn({ pattern: this.deps.pattern }, 'bus: subscription cancelled by the broker');
      return;
    }
    this.tail = this.tail.then(async () => {
      if (this.active) {
        const topic = msg.fields.routingKey;
        try {
          await this.deps.handler(decode(msg), topic);
        } catch (err) {
          this.deps.logger?.warn({ err, topic, pattern: this.deps.pattern }, 'bus: subscriber failed');
        }
      }
      try {
        ch.ack(msg);
      } catch {
        // The channel died with its connection; the broker redelivers on the next one.
      }
    });
  }

  unsubscribe(): Promise<void> {
    this.stopped ??= this.stop();
    return this.stopped;
  }

  private async stop(): Promise<void> {
    this.active = false;
    this.deps.onRemove();
    await this.attaching;
    const cur = this.current;
    if (cur && !cur.link.closed) await cur.ch.cancel(cur.consumerTag).catch(() => undefined);
    await this.tail;
    await this.deps.deleteQueue(this.deps.queue).catch(() => undefined);
    if (cur) await cur.ch.close().catch(() => undefined);
  }
}
