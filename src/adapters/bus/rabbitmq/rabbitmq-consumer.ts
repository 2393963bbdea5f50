import type { Channel, ConsumeMessage, Options } from 'amqplib';
import type { ConsumeOptions, JobMeta, Json } from '../bus.ts';
import { errorMessage, type Link, type RabbitMqLogger } from './rabbitmq-connection.ts';
import { ChannelAttachment } from './rabbitmq-attachment.ts';
import {
  attemptOf,
  deadQueue,
  declareJobQueues,
  decode,
  HEADER_ATTEMPT,
  HEADER_ERROR,
  headerText,
  JSON_CONTENT,
  retryQueue,
} from './rabbitmq-topology.ts';

export interface RabbitMqConsumerDeps {
  queue: string;
  handler: (job: Json, meta: JobMeta) => Promise<void>;
  options: Required<ConsumeOptions>;
  logger: RabbitMqLogger | undefined;
  /** Publishes with a broker confirm on the given connection. */
  publish: (link: Link, queue: string, content: Buffer, options: Options.Publish) => Promise<void>;
  onRemove: () => void;
}

/**
 * A competing consumer of one job queue on its own channel, with prefetch = concurrency.
 * A failed job is parked in `<queue>.retry` (or `<queue>.dead` on its last attempt) and only then
 * acknowledged, so a crash in between duplicates a job but never loses it.
 */
export class RabbitMqConsumer extends ChannelAttachment {
  private readonly inFlight = new Set<Promise<void>>();

  constructor(private readonly deps: RabbitMqConsumerDeps) {
    super({ what: 'consumer', context: { queue: deps.queue }, logger: deps.logger, onRemove: deps.onRemove });
  }

  protected async setUp(link: Link, ch: Channel): Promise<string> {
    const { queue, options } = this.deps;
    await declareJobQueues(ch, queue);
    link.declaredQueues.add(queue);
    await ch.prefetch(options.concurrency);
    const { consumerTag } = await ch.consume(queue, (msg) => this.onMessage(link, ch, msg), { noAck: false });
    return consumerTag;
  }

  /** In-flight jobs finish (and are acked) before the channel closes. */
  protected async drain(): Promise<void> {
    await Promise.all(this.inFlight);
  }

  private onMessage(link: Link, ch: Channel, msg: ConsumeMessage | null): void {
    if (msg === null) {
      this.deps.logger?.warn({ queue: this.deps.queue }, 'bus: consumer cancelled by the broker');
      return;
    }
    // Stopping: leave it unacknowledged; closing the channel hands it back to the queue.
    if (!this.active) return;
    const done: Promise<void> = this.handle(link, ch, msg).finally(() => this.inFlight.delete(done));
    this.inFlight.add(done);
  }

  private async handle(link: Link, ch: Channel, msg: ConsumeMessage): Promise<void> {
    const { queue, handler, options, logger } = this.deps;
    const attempt = attemptOf(msg);
    let error: string;
    try {
      await handler(decode(msg), { attempt, queue });
      settle(ch, msg, 'ack');
      return;
    } catch (err) {
      error = errorMessage(err);
      logger?.warn({ err, queue, attempt, deadLettered: attempt >= options.maxAttempts }, 'bus: job failed');
    }
    // Its connection is gone: the broker already requeued the delivery, with the same attempt number.
    if (link.closed) return;
    try {
      if (attempt >= options.maxAttempts) {
        await this.deps.publish(link, deadQueue(queue), msg.content, {
          persistent: true,
          contentType: JSON_CONTENT,
          headers: { [HEADER_ATTEMPT]: attempt, [HEADER_ERROR]: headerText(error) },
        });
      } else {
        await this.deps.publish(link, retryQueue(queue), msg.content, {
          persistent: true,
          contentType: JSON_CONTENT,
          expiration: String(options.retryDelayMs),
          headers: { [HEADER_ATTEMPT]: attempt + 1 },
        });
      }
      settle(ch, msg, 'ack');
    } catch (err) {
      logger?.warn({ err, queue, attempt }, 'bus: could not schedule the retry, requeueing the job');
      settle(ch, msg, 'requeue');
    }
  }
}

function settle(ch: Channel, msg: ConsumeMessage, how: 'ack' | 'requeue'): void {
  try {
    if (how === 'ack') ch.ack(msg);
    else ch.nack(msg, false, true);
  } catch {
    // The channel died with its connection; the broker redelivers the job on the next one.
  }
}
