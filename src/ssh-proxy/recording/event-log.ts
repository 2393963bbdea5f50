import { MAX_EVENT_TEXT, MAX_EVENTS_PER_BATCH, type ActivityEventInput, type ActivityType } from '../../protocol/sessions.ts';

export type EventSink = (events: ActivityEventInput[]) => Promise<unknown>;

/**
 * Activity events of one session from the proxy: sequence numbers from 0 without gaps, sent in
 * batches; a batch that fails stays queued and goes again with the next flush.
 */
export class EventLog {
  private queue: ActivityEventInput[] = [];
  private seq = 0;
  private tail: Promise<void> = Promise.resolve();

  constructor(private readonly sink: EventSink) {}

  add(type: ActivityType, at: number, text: string, details?: Record<string, unknown>): void {
    const clipped = text.length > MAX_EVENT_TEXT ? text.slice(0, MAX_EVENT_TEXT) : text;
    this.queue.push({ seq: this.seq++, at: Math.max(0, Math.round(at)), type, text: clipped, ...(details && Object.keys(details).length > 0 ? { details } : {}) });
  }

  get size(): number {
    return this.queue.length;
  }

  flush(): Promise<void> {
    this.tail = this.tail.then(async () => {
      while (this.queue.length > 0) {
        const batch = this.queue.slice(0, MAX_EVENTS_PER_BATCH);
        await this.sink(batch);
        this.queue.splice(0, batch.length);
      }
    });
    const result = this.tail;
    this.tail = this.tail.catch(() => {}); // a failed batch stays queued; the next flush retries it
    return result;
  }
}
