import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { GetMessage } from 'amqplib';
import { resolveConsumeOptions, type Bus, type ConsumeOptions, type DeadLetter, type JobMeta, type Json, type Subscription } from '../bus.ts';
import { RabbitMqConnection, type Link, type RabbitMqLogger } from './rabbitmq-connection.ts';
import { RabbitMqConsumer } from './rabbitmq-consumer.ts';
import { RabbitMqSubscription, type Attachment } from './rabbitmq-subscription.ts';
import {
  attemptOf,
  deadQueue,
  declareJobQueues,
  declareTopicExchange,
  decode,
  encode,
  HEADER_ERROR,
  JSON_CONTENT,
} from './rabbitmq-topology.ts';

export interface RabbitMqBusOptions {
  url: string;
  logger?: RabbitMqLogger;
  /** Topic exchange shared by every node (default `vigil.topics`). */
  exchange?: string;
  /** How long publish/enqueue/subscribe/consume wait for a lost connection to come back (default 30 s). */
  readyTimeoutMs?: number;
  /** Cap of the reconnect backoff (default 5 s). */
  maxReconnectDelayMs?: number;
}

const testHook = Symbol('rabbitmq-bus test hook');

/**
 * The Bus over RabbitMQ. One connection per node with a shared confirm channel for publishing and
 * a channel per subscription and per consumer. When the connection drops it reconnects by itself
 * and re-creates every subscription and consumer; calls made meanwhile wait for it.
 */
export class RabbitMqBus implements Bus {
  readonly kind = 'rabbitmq' as const;
  private readonly exchange: string;
  private readonly nodeId = randomBytes(4).toString('hex');
  private readonly connection: RabbitMqConnection;
  private readonly attachments = new Set<Attachment>();
  private readonly logger: RabbitMqLogger | undefined;
  private readonly readyTimeoutMs: number;
  private subscriptionSeq = 0;
  private closing: Promise<void> | undefined;

  static async open(opts: RabbitMqBusOptions): Promise<RabbitMqBus> {
    const bus = new RabbitMqBus(opts);
    await bus.connection.open();
    return bus;
  }

  private constructor(opts: RabbitMqBusOptions) {
    this.exchange = opts.exchange ?? 'vigil.topics';
    this.logger = opts.logger;
    this.readyTimeoutMs = opts.readyTimeoutMs ?? 30_000;
    this.connection = new RabbitMqConnection({
      url: opts.url,
      connectionName: `vigil ${hostname()} pid ${process.pid} bus ${this.nodeId}`,
      logger: opts.logger,
      readyTimeoutMs: this.readyTimeoutMs,
      maxReconnectDelayMs: opts.maxReconnectDelayMs ?? 5_000,
      onLink: (link) => this.restore(link),
    });
  }

  async publish(topic: string, message: Json): Promise<void> {
    this.assertOpen();
    await this.connection.publish(this.exchange, topic, encode(message), { contentType: JSON_CONTENT });
  }

  async subscribe(pattern: string, handler: (message: Json, topic: string) => void | Promise<void>): Promise<Subscription> {
    this.assertOpen();
    const sub: RabbitMqSubscription = new RabbitMqSubscription({
      exchange: this.exchange,
      queue: `vigil.sub.${this.nodeId}.${++this.subscriptionSeq}`,
      pattern,
      handler,
      logger: this.logger,
      onRemove: () => this.attachments.delete(sub),
      deleteQueue: async (queue) => {
        const link = await this.connection.ready(Date.now());
        await this.connection.withChannel(link, (ch) => ch.deleteQueue(queue));
      },
    });
    return this.attachFirst(sub);
  }

  async enqueue(queue: string, job: Json): Promise<void> {
    this.assertOpen();
    await this.connection.publish(
      '',
      queue,
      encode(job),
      { persistent: true, mandatory: true, contentType: JSON_CONTENT },
      { prepare: (link) => this.declareJobQueues(link, queue) },
    );
  }

  async consume(queue: string, handler: (job: Json, meta: JobMeta) => Promise<void>, opts: ConsumeOptions): Promise<Subscription> {
    this.assertOpen();
    const consumer: RabbitMqConsumer = new RabbitMqConsumer({
      queue,
      handler,
      options: resolveConsumeOptions(opts),
      logger: this.logger,
      publish: (link, to, content, options) =>
        this.connection.publish('', to, content, { ...options, mandatory: true }, { link }),
      onRemove: () => this.attachments.delete(consumer),
    });
    return this.attachFirst(consumer);
  }

  async takeDeadLetters(queue: string, max = 100): Promise<DeadLetter[]> {
    this.assertOpen();
    const link = await this.connection.ready();
    return this.connection.withChannel(link, async (ch) => {
      await declareJobQueues(ch, queue);
      const taken: DeadLetter[] = [];
      let last: GetMessage | undefined;
      while (taken.length < max) {
        const msg = await ch.get(deadQueue(queue), { noAck: false });
        if (msg === false) break;
        last = msg;
        const error: unknown = msg.properties.headers?.[HEADER_ERROR];
        taken.push({ queue, job: safeDecode(msg), error: typeof error === 'string' ? error : '', attempts: attemptOf(msg) });
      }
      // Acknowledged only once all were read: if the connection drops midway they stay dead-lettered.
      if (last) ch.ack(last, true);
      return taken;
    });
  }

  /** Stops consumers and subscriptions (in-flight handlers finish first), then closes the connection. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await Promise.all([...this.attachments].map((a) => a.unsubscribe()));
      await this.connection.close();
    })();
    return this.closing;
  }

  /** Internal, for tests only: see `destroyConnectionForTest`. */
  [testHook](): void {
    this.connection.destroySocket();
  }

  /** Runs on every new connection, before anyone else may use it. */
  private async restore(link: Link): Promise<void> {
    await this.connection.withChannel(link, (ch) => declareTopicExchange(ch, this.exchange));
    await Promise.all(
      [...this.attachments].map((a) =>
        a.attach(link).catch((err: unknown) => this.logger?.warn({ err }, 'bus: could not restore a subscription or consumer')),
      ),
    );
  }

  /** Attaches a new subscription or consumer; one cut off by a reconnect is finished by `restore`. */
  private async attachFirst<T extends Attachment>(a: T): Promise<T> {
    this.attachments.add(a);
    const deadline = Date.now() + this.readyTimeoutMs;
    try {
      for (;;) {
        const link = await this.connection.ready(deadline);
        try {
          await a.attach(link);
        } catch (err) {
          if (!link.closed) throw err;
        }
        if (!link.closed) return a;
      }
    } catch (err) {
      await a.unsubscribe();
      throw err;
    }
  }

  private async declareJobQueues(link: Link, queue: string): Promise<void> {
    if (link.declaredQueues.has(queue)) return;
    await this.connection.withChannel(link, (ch) => declareJobQueues(ch, queue));
    link.declaredQueues.add(queue);
  }

  private assertOpen(): void {
    if (this.closing) throw new Error('bus is closed');
  }
}

/** Test hook: kills the socket under the bus's connection, as a network failure would. Not for production code. */
export function destroyConnectionForTest(bus: RabbitMqBus): void {
  bus[testHook]();
}

function safeDecode(msg: GetMessage): Json {
  try {
    return decode(msg);
  } catch {
    return msg.content.toString('utf8');
  }
}

