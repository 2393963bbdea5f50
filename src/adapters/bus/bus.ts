/**
 * The Bus port: fan-out topics (every subscriber on every node gets each message) and durable
 * work queues with competing consumers, ack, retry and dead-lettering. Messages are JSON values.
 *
 * Topic names are dot-separated words; a subscription pattern may use `*` (exactly one word) and
 * `#` (zero or more words), as in AMQP topic exchanges: `session.*.control`, `session.#`.
 */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export interface Subscription {
  unsubscribe(): Promise<void>;
}

export interface JobMeta {
  /** 1 on the first delivery, 2 on the first retry, and so on. */
  attempt: number;
  queue: string;
}

export interface ConsumeOptions {
  /** Jobs handled at once by this consumer (RabbitMQ prefetch). */
  concurrency: number;
  /** Deliveries before a failing job is dead-lettered (default 5). */
  maxAttempts?: number;
  /** Delay before a failed job is delivered again (default 1000 ms). */
  retryDelayMs?: number;
}

export interface DeadLetter {
  queue: string;
  job: Json;
  error: string;
  attempts: number;
}

export interface Bus {
  readonly kind: 'memory' | 'rabbitmq';
  publish(topic: string, message: Json): Promise<void>;
  subscribe(pattern: string, handler: (message: Json, topic: string) => void | Promise<void>): Promise<Subscription>;
  /** Durable: once the promise resolves the job survives a broker restart. */
  enqueue(queue: string, job: Json): Promise<void>;
  /** A handler that resolves acks the job; one that throws has it retried, then dead-lettered. */
  consume(queue: string, handler: (job: Json, meta: JobMeta) => Promise<void>, opts: ConsumeOptions): Promise<Subscription>;
  /** Takes (removes and returns) up to `max` dead-lettered jobs of a queue, oldest first. */
  takeDeadLetters(queue: string, max?: number): Promise<DeadLetter[]>;
  close(): Promise<void>;
}

/** Fills the defaults of ConsumeOptions and refuses nonsense, the same way for every adapter. */
export function resolveConsumeOptions(opts: ConsumeOptions): Required<ConsumeOptions> {
  const resolved = {
    concurrency: opts.concurrency,
    maxAttempts: opts.maxAttempts ?? 5,
    retryDelayMs: opts.retryDelayMs ?? 1000,
  };
  if (!Number.isInteger(resolved.concurrency) || resolved.concurrency < 1) {
    throw new RangeError(`bus: concurrency must be a positive integer, got ${resolved.concurrency}`);
  }
  if (!Number.isInteger(resolved.maxAttempts) || resolved.maxAttempts < 1) {
    throw new RangeError(`bus: maxAttempts must be a positive integer, got ${resolved.maxAttempts}`);
  }
  if (!(resolved.retryDelayMs >= 0)) throw new RangeError(`bus: retryDelayMs must be >= 0, got ${resolved.retryDelayMs}`);
  return resolved;
}
