import type { Channel, Message } from 'amqplib';
import type { Json } from '../bus.ts';

/**
 * What the RabbitMQ bus creates on the broker and how its messages look.
 *
 * Per job queue `q` (all durable):
 *   q        the work queue; jobs are persistent messages carrying their attempt number in a header.
 *   q.retry  failed jobs wait here for retryDelayMs (per-message TTL), then expire back into `q`
 *            through the default exchange (dead-letter routing key `q`). A per-message TTL only
 *            expires at the head of the queue, so consumers of one queue should agree on retryDelayMs.
 *   q.dead   jobs that failed maxAttempts times, with the last error; read by takeDeadLetters.
 */
export const HEADER_ATTEMPT = 'vigil-attempt';
export const HEADER_ERROR = 'vigil-error';

export const retryQueue = (queue: string): string => `${queue}.retry`;
export const deadQueue = (queue: string): string => `${queue}.dead`;

export async function declareJobQueues(ch: Channel, queue: string): Promise<void> {
  await ch.assertQueue(queue, { durable: true });
  await ch.assertQueue(retryQueue(queue), { durable: true, deadLetterExchange: '', deadLetterRoutingKey: queue });
  await ch.assertQueue(deadQueue(queue), { durable: true });
}

/** Topic exchange every node publishes to; each subscription binds its own queue with its pattern. */
export async function declareTopicExchange(ch: Channel, exchange: string): Promise<void> {
  await ch.assertExchange(exchange, 'topic', { durable: true });
}

/**
 * A subscription's queue outlives a dropped connection (it is neither exclusive nor auto-deleted),
 * so messages published while a node reconnects wait for it; the broker drops it after a minute
 * without consumers, which cleans up after a node that died.
 */
export async function declareSubscriptionQueue(ch: Channel, queue: string): Promise<void> {
  await ch.assertQueue(queue, { durable: false, autoDelete: false, exclusive: false, expires: 60_000 });
}

export const JSON_CONTENT = 'application/json';

export function encode(value: Json): Buffer {
  return Buffer.from(JSON.stringify(value), 'utf8');
}

export function decode(msg: Message): Json {
  return JSON.parse(msg.content.toString('utf8')) as Json;
}

export function attemptOf(msg: Message): number {
  const v: unknown = msg.properties.headers?.[HEADER_ATTEMPT];
  return typeof v === 'number' && Number.isInteger(v) && v >= 1 ? v : 1;
}

/** Header tables are capped at 64 KiB by the client; an error message is never worth more than a few. */
export function headerText(text: string, max = 2000): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}
