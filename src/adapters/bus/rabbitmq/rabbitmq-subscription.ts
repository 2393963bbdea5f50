import type { Channel, ConsumeMessage } from 'amqplib';
import type { Json } from '../bus.ts';
import { ChannelAttachment } from './rabbitmq-attachment.ts';
import type { Link, RabbitMqLogger } from './rabbitmq-connection.ts';
import { decode, declareSubscriptionQueue } from './rabbitmq-topology.ts';

/** Messages a subscription may hold unacknowledged; enough for throughput, bounded for memory. */
const PREFETCH = 100;

export type { Attachment } from './rabbitmq-attachment.ts';

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
export class RabbitMqSubscription extends ChannelAttachment {
  private tail: Promise<void> = Promise.resolve();

  constructor(private readonly deps: RabbitMqSubscriptionDeps) {
    super({ what: 'subscription', context: { pattern: deps.pattern }, logger: deps.logger, onRemove: deps.onRemove });
  }

  protected async setUp(_link: Link, ch: Channel): Promise<string> {
    const { exchange, queue, pattern } = this.deps;
    await declareSubscriptionQueue(ch, queue);
    await ch.bindQueue(queue, exchange, pattern);
    await ch.prefetch(PREFETCH);
    const { consumerTag } = await ch.consume(queue, (msg) => this.onMessage(ch, msg), { noAck: false });
    return consumerTag;
  }

  /** Messages already received are handled (and acked); then the queue goes. */
  protected async drain(): Promise<void> {
    await this.tail;
    await this.deps.deleteQueue(this.deps.queue).catch(() => undefined);
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
}
