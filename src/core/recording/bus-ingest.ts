import { z } from 'zod';
import type { Bus, Json, Subscription } from '../../adapters/bus/bus.ts';
import type { Store } from '../../adapters/store/store.ts';
import { activityEventInput, MAX_CHUNK_BYTES, MAX_EVENTS_PER_BATCH } from '../../protocol/sessions.ts';
import type { SessionsService } from '../sessions/sessions.service.ts';
import type { IngestService } from './ingest.service.ts';

/** The durable queue host agents publish their session data to when they use the Bus transport. */
export const AGENT_INGEST_QUEUE = 'agent-ingest';

const token = z.string().min(1).max(200);
const sessionId = z.string().min(1).max(64);

/**
 * One message of an agent's session data on the Bus. Each carries the session's upload
 * credential (the same one the HTTP ingest routes take), so a message names one session only.
 * `close` says how much was sent: it takes effect only once all of it is stored, however the
 * broker ordered the messages between server nodes.
 */
export const agentIngestJob = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('events'), sessionId, token, events: z.array(activityEventInput).min(1).max(MAX_EVENTS_PER_BATCH) }).strict(),
  z.object({ kind: z.literal('chunk'), sessionId, token, seq: z.number().int().min(0).max(2 ** 31 - 1), data: z.string().min(1).max(Math.ceil(MAX_CHUNK_BYTES / 3) * 4) }).strict(),
  z
    .object({
      kind: z.literal('close'), sessionId, token,
      status: z.enum(['ended', 'terminated']), reason: z.string().max(1000),
      /** Events (next sequence number) and chunks (count) sent before the close. */
      sent: z.object({ events: z.number().int().min(0), chunks: z.number().int().min(0) }).strict(),
    })
    .strict(),
]);
export type AgentIngestJob = z.infer<typeof agentIngestJob>;

/** Thrown to have the broker redeliver the message later (data it depends on is not stored yet). */
class NotYet extends Error {}

/**
 * The server side of the agents' Bus transport: consumes AGENT_INGEST_QUEUE and stores what it
 * carries through the same IngestService as the HTTP routes (idempotent by sequence number, a
 * chunk durable before the message is acknowledged). A message that cannot be stored yet — a
 * batch after a gap, a close before the data it counts — is redelivered later; one that can
 * never be (bad credential, malformed) ends in the queue's dead letters, never silently dropped.
 */
export class BusIngest {
  private sub: Subscription | undefined;

  constructor(
    private readonly deps: { bus: Bus; store: Store; ingest: IngestService; sessions: SessionsService; logger?: { warn(o: object, m: string): void } },
    private readonly opts: { concurrency?: number; maxAttempts?: number; retryDelayMs?: number } = {},
  ) {}

  async start(): Promise<void> {
    this.sub = await this.deps.bus.consume(AGENT_INGEST_QUEUE, (job, meta) => this.handle(job, meta.attempt), {
      concurrency: this.opts.concurrency ?? 4,
      // Reordering between nodes resolves within seconds; a minute of retries before a message
      // is set aside as a dead letter.
      maxAttempts: this.opts.maxAttempts ?? 60,
      retryDelayMs: this.opts.retryDelayMs ?? 1000,
    });
  }

  async stop(): Promise<void> {
    await this.sub?.unsubscribe();
    this.sub = undefined;
  }

  private async handle(raw: Json, attempt: number): Promise<void> {
    const parsed = agentIngestJob.safeParse(raw);
    if (!parsed.success) {
      this.deps.logger?.warn({ queue: AGENT_INGEST_QUEUE, issue: parsed.error.issues[0]?.message }, 'malformed agent message; it goes to the dead letters');
      throw new Error(`malformed agent message: ${parsed.error.issues[0]?.path.join('.')}: ${parsed.error.issues[0]?.message}`);
    }
    const job = parsed.data;
    if (!(await this.deps.sessions.checkUploadCredential(job.token, job.sessionId))) {
      this.deps.logger?.warn({ session: job.sessionId, attempt }, 'agent message with an invalid upload credential');
      throw new Error('agent message: the upload credential is not valid for this session');
    }
    switch (job.kind) {
      case 'events': {
        const ack = await this.deps.ingest.events(job.sessionId, 'agent', job.events);
        const first = Math.min(...job.events.map((e) => e.seq));
        if (ack.next < first) throw new NotYet(`events from ${first}: the server has up to ${ack.next - 1}`);
        return;
      }
      case 'chunk':
        await this.deps.ingest.chunk(job.sessionId, job.seq, Buffer.from(job.data, 'base64'));
        return;
      case 'close': {
        const have = await this.stored(job.sessionId);
        if (have.events < job.sent.events || have.chunks < job.sent.chunks) {
          throw new NotYet(`close: ${have.events}/${job.sent.events} events and ${have.chunks}/${job.sent.chunks} chunks stored`);
        }
        await this.deps.sessions.end(job.sessionId, { status: job.status, reason: job.reason, endedBy: null });
        return;
      }
    }
  }

  /** How much of an agent session is stored contiguously: next event seq and chunk count. */
  private async stored(id: string): Promise<{ events: number; chunks: number }> {
    const db = this.deps.store.db;
    const cur = await db.selectFrom('event_cursors').select(['received', 'max_seq']).where('session_id', '=', id).where('source', '=', 'agent').executeTakeFirst();
    const s = await db.selectFrom('sessions').select(['chunk_count']).where('id', '=', id).executeTakeFirst();
    const received = cur ? Number(cur.received) : 0;
    const contiguous = cur && received === Number(cur.max_seq) + 1 ? received : 0;
    return { events: contiguous, chunks: Number(s?.chunk_count ?? 0) };
  }
}
