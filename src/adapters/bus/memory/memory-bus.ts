import { resolveConsumeOptions, type Bus, type ConsumeOptions, type DeadLetter, type JobMeta, type Json, type Subscription } from '../bus.ts';
import { compileTopicPattern, type TopicMatcher } from '../topic-pattern.ts';

/** The part of a logger the memory bus calls (pino fits). */
export interface MemoryBusLogger {
  warn(obj: object, msg: string): void;
}

type TopicHandler = (message: Json, topic: string) => void | Promise<void>;
type JobHandler = (job: Json, meta: JobMeta) => Promise<void>;

/**
 * The in-process stand-in for the broker. Every MemoryBus built on the same broker is a "node":
 * topics fan out to all of them and their consumers compete for the same jobs. Messages travel as
 * JSON text, like on the wire, so a handler never shares an object with the publisher.
 */
export class MemoryBroker {
  readonly subscribers = new Set<MemorySubscriber>();
  /** Buses still open on this broker; when none is left, pending retries stop holding timers. */
  openBuses = 0;
  private readonly queues = new Map<string, MemoryQueue>();

  queue(name: string): MemoryQueue {
    let q = this.queues.get(name);
    if (!q) this.queues.set(name, (q = new MemoryQueue(name)));
    return q;
  }

  detach(): void {
    if (--this.openBuses > 0) return;
    for (const q of this.queues.values()) q.releaseTimers();
  }
}

class MemorySubscriber implements Subscription {
  private active = true;
  private tail: Promise<void> = Promise.resolve();
  private readonly matches: TopicMatcher;

  constructor(
    private readonly broker: MemoryBroker,
    readonly pattern: string,
    private readonly handler: TopicHandler,
    private readonly logger: MemoryBusLogger | undefined,
  ) {
    this.matches = compileTopicPattern(pattern);
  }

  /** Queued behind earlier messages: one subscription sees its messages one at a time, in order. */
  offer(topic: string, body: string): void {
    if (!this.active || !this.matches(topic)) return;
    this.tail = this.tail.then(async () => {
      if (!this.active) return;
      try {
        await this.handler(JSON.parse(body) as Json, topic);
      } catch (err) {
        this.logger?.warn({ err, topic, pattern: this.pattern }, 'bus: subscriber failed');
      }
    });
  }

  async unsubscribe(): Promise<void> {
    this.active = false;
    this.broker.subscribers.delete(this);
    await this.tail;
  }
}

interface QueuedJob {
  body: string;
  attempt: number;
}

class MemoryQueue {
  readonly ready: QueuedJob[] = [];
  readonly dead: DeadLetter[] = [];
  readonly consumers: MemoryConsumer[] = [];
  private readonly retrying = new Map<NodeJS.Timeout, QueuedJob>();
  private cursor = 0;
  private dispatchScheduled = false;

  constructor(readonly name: string) {}

  push(job: QueuedJob): void {
    this.ready.push(job);
    this.scheduleDispatch();
  }

  /** Dispatch on a later turn, never re-entrantly from enqueue or from a finishing handler. */
  scheduleDispatch(): void {
    if (this.dispatchScheduled) return;
    this.dispatchScheduled = true;
    setImmediate(() => {
      this.dispatchScheduled = false;
      this.dispatch();
    });
  }

  fail(job: QueuedJob, error: string, opts: Required<ConsumeOptions>): void {
    if (job.attempt >= opts.maxAttempts) {
      this.dead.push({ queue: this.name, job: JSON.parse(job.body) as Json, error, attempts: job.attempt });
      return;
    }
    const next = { body: job.body, attempt: job.attempt + 1 };
    const timer = setTimeout(() => {
      this.retrying.delete(timer);
      this.push(next);
    }, opts.retryDelayMs);
    this.retrying.set(timer, next);
  }

  /** When the last node closes: make waiting retries ready now instead of keeping the process alive. */
  releaseTimers(): void {
    for (const [timer, job] of this.retrying) {
      clearTimeout(timer);
      this.ready.push(job);
    }
    this.retrying.clear();
  }

  /** Round-robin over consumers with a free slot, like a broker honouring each one's prefetch. */
  private dispatch(): void {
    while (this.ready.length > 0) {
      const n = this.consumers.length;
      let chosen: MemoryConsumer | undefined;
      for (let i = 0; i < n && !chosen; i++) {
        const c = this.consumers[(this.cursor + i) % n];
        if (c?.hasCapacity()) {
          chosen = c;
          this.cursor = (this.cursor + i + 1) % n;
        }
      }
      if (!chosen) return;
      chosen.run(this.ready.shift() as QueuedJob);
    }
  }
}

class MemoryConsumer implements Subscription {
  private active = true;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly queue: MemoryQueue,
    private readonly handler: JobHandler,
    private readonly opts: Required<ConsumeOptions>,
    private readonly logger: MemoryBusLogger | undefined,
    private readonly onRemove: (c: MemoryConsumer) => void,
  ) {}

  hasCapacity(): boolean {
    return this.active && this.inFlight.size < this.opts.concurrency;
  }

  run(job: QueuedJob): void {
    const done: Promise<void> = this.handle(job).finally(() => {
      this.inFlight.delete(done);
      this.queue.scheduleDispatch();
    });
    this.inFlight.add(done);
  }

  private async handle(job: QueuedJob): Promise<void> {
    try {
      await this.handler(JSON.parse(job.body) as Json, { attempt: job.attempt, queue: this.queue.name });
    } catch (err) {
      const error = errorMessage(err);
      const deadLettered = job.attempt >= this.opts.maxAttempts;
      this.logger?.warn({ err, queue: this.queue.name, attempt: job.attempt, deadLettered }, 'bus: job failed');
      this.queue.fail(job, error, this.opts);
    }
  }

  async unsubscribe(): Promise<void> {
    if (this.active) {
      this.active = false;
      const i = this.queue.consumers.indexOf(this);
      if (i >= 0) this.queue.consumers.splice(i, 1);
      this.onRemove(this);
      this.queue.scheduleDispatch();
    }
    await Promise.all(this.inFlight);
  }
}

export interface MemoryBusOptions {
  /** Share one broker between several buses to model several nodes; each bus gets its own by default. */
  broker?: MemoryBroker;
  logger?: MemoryBusLogger;
}

/** The Bus for a single process: same semantics as RabbitMQ, nothing survives a restart. */
export class MemoryBus implements Bus {
  readonly kind = 'memory' as const;
  private readonly broker: MemoryBroker;
  private readonly logger: MemoryBusLogger | undefined;
  private readonly subscriptions = new Set<MemorySubscriber>();
  private readonly consumers = new Set<MemoryConsumer>();
  private closing: Promise<void> | undefined;

  constructor(opts: MemoryBusOptions = {}) {
    this.broker = opts.broker ?? new MemoryBroker();
    this.logger = opts.logger;
    this.broker.openBuses++;
  }

  async publish(topic: string, message: Json): Promise<void> {
    this.assertOpen();
    const body = JSON.stringify(message);
    for (const s of this.broker.subscribers) s.offer(topic, body);
  }

  async subscribe(pattern: string, handler: TopicHandler): Promise<Subscription> {
    this.assertOpen();
    const sub = new MemorySubscriber(this.broker, pattern, handler, this.logger);
    this.broker.subscribers.add(sub);
    this.subscriptions.add(sub);
    return {
      unsubscribe: async () => {
        this.subscriptions.delete(sub);
        await sub.unsubscribe();
      },
    };
  }

  async enqueue(queue: string, job: Json): Promise<void> {
    this.assertOpen();
    this.broker.queue(queue).push({ body: JSON.stringify(job), attempt: 1 });
  }

  async consume(queue: string, handler: JobHandler, opts: ConsumeOptions): Promise<Subscription> {
    this.assertOpen();
    const q = this.broker.queue(queue);
    const consumer = new MemoryConsumer(q, handler, resolveConsumeOptions(opts), this.logger, (c) =>
      this.consumers.delete(c),
    );
    this.consumers.add(consumer);
    q.consumers.push(consumer);
    q.scheduleDispatch();
    return consumer;
  }

  async takeDeadLetters(queue: string, max = 100): Promise<DeadLetter[]> {
    this.assertOpen();
    return this.broker.queue(queue).dead.splice(0, max);
  }

  /** Stops this node's consumers and subscriptions after their in-flight handlers finish. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await Promise.all([...this.consumers, ...this.subscriptions].map((s) => s.unsubscribe()));
      this.broker.detach();
    })();
    return this.closing;
  }

  private assertOpen(): void {
    if (this.closing) throw new Error('bus is closed');
  }
}


function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
