import type { Bus } from './bus.ts';
import { MemoryBus } from './memory/memory-bus.ts';
import { RabbitMqBus } from './rabbitmq/rabbitmq-bus.ts';

export interface OpenBusOptions {
  /** `amqp://` URL of RabbitMQ; without one the bus lives in this process only. */
  busUrl: string | undefined;
  logger?: { warn(obj: object, msg: string): void; info(obj: object, msg: string): void };
}

/** The memory bus for a single node, RabbitMQ as soon as a URL is configured. */
export async function openBus(opts: OpenBusOptions): Promise<Bus> {
  if (opts.busUrl === undefined) return new MemoryBus({ logger: opts.logger });
  return RabbitMqBus.open({ url: opts.busUrl, logger: opts.logger });
}
