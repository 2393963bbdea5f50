import { sql, type Transaction } from 'kysely';
import type { Database } from '../../adapters/store/schema.ts';
import type { Store } from '../../adapters/store/store.ts';
import type { ActivityEventInput, IngestAck } from '../../protocol/sessions.ts';
import type { Clock } from '../clock.ts';
import { AppError, ConflictError, NotFoundError } from '../errors.ts';
import type { BlobStores } from './blob-store.ts';
import { chainStart, chunkDigest, nextChain } from './hash-chain.ts';

export const chunkKey = (sessionId: string, seq: number): string => `sessions/${sessionId}/chunks/${String(seq).padStart(8, '0')}`;

const KEYSTROKE_TYPES = new Set(['keystrokes']);

/**
 * Ingestion from recording components: sequence-numbered event batches and media chunks.
 * Replays are idempotent, gaps are reported back, and a chunk is durable before it is acknowledged.
 */
export class IngestService {
  constructor(private readonly store: Store, private readonly blobs: BlobStores, private readonly clock: Clock) {}

  private async session(sessionId: string) {
    const s = await this.store.db.selectFrom('sessions').select(['id', 'status', 'storage', 'record_keystrokes', 'media', 'started_at']).where('id', '=', sessionId).executeTakeFirst();
    if (!s) throw new NotFoundError('session');
    if (s.storage === 'deleted') throw new AppError(410, 'gone', 'this session\'s recording has been deleted');
    return s;
  }

  async events(sessionId: string, source: string, events: ActivityEventInput[]): Promise<IngestAck> {
    const s = await this.session(sessionId);
    // With keystroke recording off, keystroke events keep their sequence numbers as empty,
    // unindexed markers: acknowledged, but their text is never stored.
    const dropKeys = s.record_keystrokes !== 1;
    const bySeq = new Map<number, ActivityEventInput>();
    for (const e of events) {
      const prev = bySeq.get(e.seq);
      if (prev && !sameEvent(prev, e)) throw new ConflictError(`events: seq ${e.seq} appears twice with different content`, 'events');
      bySeq.set(e.seq, e);
    }
    let accepted = 0;
    await this.store.db.transaction().execute(async (tx) => {
      const seqs = [...bySeq.keys()];
      const existing = new Map<number, { at_ms: number; type: string; text: string }>();
      for (let i = 0; i < seqs.length; i += 500) {
        const rows = await tx.selectFrom('activity_events').select(['seq', 'at_ms', 'type', 'text']).where('session_id', '=', sessionId).where('source', '=', source).where('seq', 'in', seqs.slice(i, i + 500)).execute();
        for (const r of rows) existing.set(Number(r.seq), { at_ms: Number(r.at_ms), type: r.type, text: r.text });
      }
      const fresh = [];
      for (const e of bySeq.values()) {
        const dropped = dropKeys && KEYSTROKE_TYPES.has(e.type);
        const old = existing.get(e.seq);
        if (old) {
          if (old.at_ms !== e.at || old.type !== e.type || (!dropped && old.text !== e.text)) throw new ConflictError(`events: seq ${e.seq} was already received with different content`, 'events');
          continue;
        }
        fresh.push({ session_id: sessionId, source, seq: e.seq, at_ms: e.at, type: e.type, text: dropped ? '' : e.text, details: dropped ? JSON.stringify({ discarded: true }) : e.details ? JSON.stringify(e.details) : null });
      }
      for (let i = 0; i < fresh.length; i += 500) await tx.insertInto('activity_events').values(fresh.slice(i, i + 500)).execute();
      accepted = fresh.length;
      if (fresh.length > 0) {
        const maxSeq = Math.max(...fresh.map((e) => e.seq));
        await tx
          .insertInto('event_cursors')
          .values({ session_id: sessionId, source, received: fresh.length, max_seq: maxSeq })
          .onConflict((oc) =>
            oc.columns(['session_id', 'source']).doUpdateSet((eb) => ({
              received: eb('event_cursors.received', '+', fresh.length),
              max_seq: sql<number>`CASE WHEN event_cursors.max_seq > ${maxSeq} THEN event_cursors.max_seq ELSE ${maxSeq} END`,
            })),
          )
          .execute();
      }
      const lastAt = Number(s.started_at) + Math.max(...events.map((e) => e.at));
      await tx.updateTable('sessions').set({ last_activity_at: lastAt }).where('id', '=', sessionId).where('last_activity_at', '<', lastAt).execute();
    });
    const ack = await this.eventGaps(sessionId, source);
    return { accepted, duplicates: events.length - accepted, ...ack };
  }

  private async eventGaps(sessionId: string, source: string): Promise<Pick<IngestAck, 'next' | 'missing'>> {
    const cur = await this.store.db.selectFrom('event_cursors').select(['received', 'max_seq']).where('session_id', '=', sessionId).where('source', '=', source).executeTakeFirst();
    const n = Number(cur?.received ?? 0);
    const max = cur ? Number(cur.max_seq) : -1;
    if (n === max + 1) return { next: max + 1, missing: [] };
    const rows = await sql<{ seq: number; prev: number | null }>`
      SELECT seq, prev FROM (
        SELECT seq, LAG(seq) OVER (ORDER BY seq) AS prev FROM activity_events WHERE session_id = ${sessionId} AND source = ${source}
      ) t WHERE prev IS NULL OR seq - prev > 1 ORDER BY seq LIMIT 1000`.execute(this.store.db);
    return gapsFrom(rows.rows.map((r) => ({ seq: Number(r.seq), prev: r.prev === null ? null : Number(r.prev) })), max);
  }

  /** Stores media chunk `seq`; durable before it returns. Extends the hash chain over the contiguous prefix. */
  async chunk(sessionId: string, seq: number, data: Buffer): Promise<IngestAck & { head: string | null }> {
    const s = await this.session(sessionId);
    if (s.media === null) throw new ConflictError('this session records no media (recording is off for its secret or in the settings)');
    if (s.storage === 'archive') throw new ConflictError('this recording has been moved to the archive and takes no more chunks');
    const digest = chunkDigest(data);
    const existing = await this.store.db.selectFrom('recording_chunks').select(['sha256']).where('session_id', '=', sessionId).where('seq', '=', seq).executeTakeFirst();
    let accepted = 0;
    if (existing) {
      if (existing.sha256 !== digest) throw new ConflictError(`chunk ${seq} was already received with different content`, 'seq');
    } else {
      const location = s.storage === 'share' ? 'share' : 'database';
      const key = chunkKey(sessionId, seq);
      await (await this.blobs.at(location)).put(key, data);
      await this.store.db.transaction().execute(async (tx) => {
        await tx
          .insertInto('recording_chunks')
          .values({ session_id: sessionId, seq, size: data.length, sha256: digest, chain: null, location, blob_key: key, created_at: this.clock.now() })
          .onConflict((oc) => oc.columns(['session_id', 'seq']).doNothing())
          .execute();
        await this.advanceChain(tx, sessionId);
      });
      accepted = 1;
    }
    const ack = await this.chunkGaps(sessionId);
    const head = await this.store.db.selectFrom('sessions').select('chain_head').where('id', '=', sessionId).executeTakeFirstOrThrow();
    return { accepted, duplicates: 1 - accepted, ...ack, head: head.chain_head };
  }

  /** Links every chunk that now follows the chain without a gap; updates head, count and bytes. */
  private async advanceChain(tx: Transaction<Database>, sessionId: string): Promise<void> {
    let q = tx.selectFrom('sessions').select(['chain_head', 'chunk_count', 'bytes']).where('id', '=', sessionId);
    if (this.store.dialect === 'postgres') q = q.forUpdate();
    const sess = await q.executeTakeFirstOrThrow();
    let head: string = sess.chain_head ?? chainStart(sessionId);
    let next = Number(sess.chunk_count);
    let bytes = Number(sess.bytes);
    const pending = await tx.selectFrom('recording_chunks').select(['seq', 'sha256', 'size']).where('session_id', '=', sessionId).where('seq', '>=', next).where('chain', 'is', null).orderBy('seq').execute();
    for (const c of pending) {
      if (Number(c.seq) !== next) break;
      head = nextChain(head, c.sha256);
      await tx.updateTable('recording_chunks').set({ chain: head }).where('session_id', '=', sessionId).where('seq', '=', next).execute();
      next += 1;
      bytes += Number(c.size);
    }
    if (next !== Number(sess.chunk_count)) {
      await tx.updateTable('sessions').set({ chain_head: head, chunk_count: next, bytes }).where('id', '=', sessionId).execute();
    }
  }

  private async chunkGaps(sessionId: string): Promise<Pick<IngestAck, 'next' | 'missing'>> {
    const agg = await this.store.db
      .selectFrom('recording_chunks')
      .select((eb) => [eb.fn.countAll<number>().as('n'), eb.fn.max('seq').as('max')])
      .where('session_id', '=', sessionId)
      .executeTakeFirstOrThrow();
    const max = agg.max === null ? -1 : Number(agg.max);
    if (Number(agg.n) === max + 1) return { next: max + 1, missing: [] };
    const rows = await this.store.db.selectFrom('recording_chunks').select('seq').where('session_id', '=', sessionId).orderBy('seq').execute();
    let prev: number | null = null;
    const marks: Array<{ seq: number; prev: number | null }> = [];
    for (const r of rows) {
      const seq = Number(r.seq);
      if (prev === null || seq - prev > 1) marks.push({ seq, prev });
      prev = seq;
    }
    if (rows.length === 0) return { next: 0, missing: [] };
    return gapsFrom(marks, prev!);
  }
}

function sameEvent(a: ActivityEventInput, b: ActivityEventInput): boolean {
  return a.at === b.at && a.type === b.type && a.text === b.text;
}

/** From the rows that start a run (first row, or after a gap), the contiguous watermark and the gaps. */
function gapsFrom(starts: Array<{ seq: number; prev: number | null }>, max: number): Pick<IngestAck, 'next' | 'missing'> {
  const missing: Array<[number, number]> = [];
  for (const s of starts) {
    if (s.prev === null) {
      if (s.seq > 0) missing.push([0, s.seq - 1]);
    } else {
      missing.push([s.prev + 1, s.seq - 1]);
    }
  }
  return { next: missing.length > 0 ? missing[0]![0] : max + 1, missing };
}
