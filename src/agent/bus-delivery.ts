import type { Bus } from '../adapters/bus/bus.ts';
import { RabbitMqBus } from '../adapters/bus/rabbitmq/rabbitmq-bus.ts';
import { AGENT_INGEST_QUEUE, type AgentIngestJob } from '../core/recording/bus-ingest.ts';
import type { ActivityEventInput } from '../protocol/sessions.ts';

/**
 * The agent's Bus transport for session data: event batches, cast chunks and the close of a held
 * session go to RabbitMQ's durable `agent-ingest` queue (persistent messages, publisher
 * confirms: a batch counts as delivered — and leaves the spool — once the broker has it safe),
 * and a server node stores them. Enrollment, heartbeats, login reports and the control socket
 * stay on HTTP: they need the server's answer.
 */
export class BusDelivery {
  private constructor(private readonly bus: Bus) {}

  static async open(url: string, logger?: { warn(o: object, m: string): void; info(o: object, m: string): void }): Promise<BusDelivery> {
    return new BusDelivery(await RabbitMqBus.open({ url, logger }));
  }

  async events(sessionId: string, token: string, events: ActivityEventInput[]): Promise<{ next: number; accepted: number }> {
    await this.send({ kind: 'events', sessionId, token, events });
    return { next: Math.max(...events.map((e) => e.seq)) + 1, accepted: events.length };
  }

  async chunk(sessionId: string, token: string, seq: number, data: Buffer): Promise<{ next: number }> {
    await this.send({ kind: 'chunk', sessionId, token, seq, data: data.toString('base64') });
    return { next: seq + 1 };
  }

  async close(sessionId: string, token: string, how: { status: 'ended' | 'terminated'; reason: string }, sent: { events: number; chunks: number }): Promise<void> {
    await this.send({ kind: 'close', sessionId, token, status: how.status, reason: how.reason, sent });
  }

  stop(): Promise<void> {
    return this.bus.close();
  }

  private send(job: AgentIngestJob): Promise<void> {
    return this.bus.enqueue(AGENT_INGEST_QUEUE, job as unknown as Parameters<Bus['enqueue']>[1]);
  }
}
