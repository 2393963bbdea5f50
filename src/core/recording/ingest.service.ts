import { sql, type Transaction } from 'kysely';
import type { Database } from '../../adapters/store/schema.ts';
import type { Store } from '../../adapters/store/store.ts';
import { MAX_EVENTS_PER_BATCH, type ActivityEventInput, type IngestAck } from '../../protocol/sessions.ts';
import type { Clock } from '../clock.ts';
import { AppError, ConflictError, NotFoundError } from '../errors.ts';
import type { BlobStores } from './blob-store.ts';
import { appendSessionText } from '../search/session-text.ts';
import { chainStart, chunkDigest, nextChain } from './hash-chain.ts';
import { encodeBlob, type BlobEncoding } from './blob-encoding.ts';

export const chunkKey = (sessionId: string, seq: number): string => `sessions/${sessionId}/chunks/${String(seq).padStart(8, '0')}`;

const KEYSTROKE_TYPES = new Set(['keystrokes']);

/** One session's share of a group commit (see `IngestService.batch`). */
export interface IngestBatchItem {
  sessionId: string;
  source: string;
  /** Chunks in order; the first continues the session's stored chunks. */
  chunks: Array<{ seq: number; data: Buffer }>;
  /** Events in order, newer than any the session already has from `source`. */
  events: ActivityEventInput[];
  /** Also mark the session alive (`last_heartbeat_at`). */
  heartbeat?: boolean;
}

/** Rows per multi-row INSERT (well under SQLite's and PostgreSQL's bind-parameter limits). */
const ROWS_PER_INSERT = 200;
/** Bytes of blob data per multi-row INSERT. */
const BLOB_BYTES_PER_INSERT = 4 * 1024 * 1024;

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
      await appendSessionText(tx, this.store.dialect, fresh);
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

  /**
   * Group commit for an in-process recorder (the SSH proxy) holding many sessions: the chunks,
   * events and heartbeats of all of them in ONE transaction — one commit (one fsync) and a few
   * multi-row statements instead of ~20 statements and 3 commits per session. Same stored result
   * as `chunk()` and `events()` (hash chain, cursors, keystroke dropping, last activity). It
   * expects what such a writer sends: each session's chunks in order continuing its stored ones,
   * and events newer than its stored ones; an item that is not like that (a replay after an
   * unclear failure, a gap) goes through `chunk()` / `events()` one by one, with their checks.
   * The fast items are all or nothing: if the transaction fails this rejects and nothing of them
   * is stored (the caller retries). Resolves with one entry per item: undefined when stored, else
   * the error of that item (from the one-by-one path), so one broken session cannot fail others.
   */
  async batch(items: IngestBatchItem[]): Promise<Array<unknown>> {
    const results: unknown[] = items.map(() => undefined);
    if (items.length === 0) return results;
    const ids = [...new Set(items.map((i) => i.sessionId))];
    const slow: number[] = [];
    // The database's stored form of each chunk, made before the transaction (on the thread pool).
    const encoded = new Map<Buffer, { data: Buffer; encoding: BlobEncoding }>();
    await Promise.all(items.flatMap((i) => i.chunks).map(async (c) => encoded.set(c.data, await encodeBlob(c.data))));
    await this.store.db.transaction().execute(async (tx) => {
      // chunk_count -1: chunks are stored beyond a gap, so no chunk of this session takes the fast path.
      const sessions = new Map<string, { storage: string; record_keystrokes: number; media: string | null; started_at: number; chain_head: string | null; chunk_count: number; bytes: number; last_activity_at: number }>();
      const cursors = new Map<string, number>();
      for (let i = 0; i < ids.length; i += 500) {
        const part = ids.slice(i, i + 500);
        // max_seq (one index seek per session) tells whether chunks wait beyond a gap: then the
        // next chunk must go through chunk(), which links them.
        let q = tx
          .selectFrom('sessions')
          .select(['id', 'storage', 'record_keystrokes', 'media', 'started_at', 'chain_head', 'chunk_count', 'bytes', 'last_activity_at'])
          .select((eb) => eb.selectFrom('recording_chunks as c').select((e) => e.fn.max('c.seq').as('m')).whereRef('c.session_id', '=', 'sessions.id').as('max_seq'))
          .where('id', 'in', part);
        if (this.store.dialect === 'postgres') q = q.forUpdate();
        for (const r of await q.execute()) {
          const chunkCount = Number(r.chunk_count);
          const beyond = r.max_seq !== null && Number(r.max_seq) >= chunkCount;
          sessions.set(r.id, { ...r, started_at: Number(r.started_at), chunk_count: beyond ? -1 : chunkCount, bytes: Number(r.bytes), last_activity_at: Number(r.last_activity_at) });
        }
        for (const c of await tx.selectFrom('event_cursors').select(['session_id', 'source', 'max_seq']).where('session_id', 'in', part).execute()) cursors.set(`${c.session_id}\0${c.source}`, Number(c.max_seq));
      }
      const now = this.clock.now();
      const blobs: Array<{ key: string; data: Buffer; encoding: BlobEncoding }> = [];
      const chunkRows: Array<{ session_id: string; seq: number; size: number; sha256: string; chain: string; location: 'share' | 'database'; blob_key: string; created_at: number }> = [];
      const eventRows: Array<{ session_id: string; source: string; seq: number; at_ms: number; type: string; text: string; details: string | null }> = [];
      const cursorRows = new Map<string, { session_id: string; source: string; received: number; max_seq: number }>();
      const updates = new Map<string, { chain_head?: string; chunk_count?: number; bytes?: number; last_activity_at?: number }>();
      const heartbeats: string[] = [];
      for (const [index, item] of items.entries()) {
        const s = sessions.get(item.sessionId);
        const key = `${item.sessionId}\0${item.source}`;
        const maxSeq = cursors.get(key) ?? -1;
        const chunksFit = item.chunks.length === 0 || (s !== undefined && s.media !== null && s.storage !== 'archive' && s.storage !== 'deleted' && item.chunks.every((c, k) => c.seq === s.chunk_count + k));
        const eventsFit = item.events.every((e, k) => e.seq > maxSeq && (k === 0 || e.seq > item.events[k - 1]!.seq));
        if (!s || s.storage === 'deleted' || !chunksFit || !eventsFit) {
          slow.push(index);
          continue;
        }
        if (item.heartbeat) heartbeats.push(item.sessionId);
        const upd = updates.get(item.sessionId) ?? {};
        if (item.chunks.length > 0) {
          const location = s.storage === 'share' ? 'share' : 'database';
          let head = s.chain_head ?? chainStart(item.sessionId);
          for (const c of item.chunks) {
            const digest = chunkDigest(c.data);
            head = nextChain(head, digest);
            const blobKey = chunkKey(item.sessionId, c.seq);
            if (location === 'share') await (await this.blobs.at('share')).put(blobKey, c.data);
            else blobs.push({ key: blobKey, ...encoded.get(c.data)! });
            chunkRows.push({ session_id: item.sessionId, seq: c.seq, size: c.data.length, sha256: digest, chain: head, location, blob_key: blobKey, created_at: now });
            s.chunk_count += 1;
            s.bytes += c.data.length;
          }
          s.chain_head = head;
          Object.assign(upd, { chain_head: head, chunk_count: s.chunk_count, bytes: s.bytes });
        }
        if (item.events.length > 0) {
          const dropKeys = s.record_keystrokes !== 1;
          for (const e of item.events) {
            const dropped = dropKeys && KEYSTROKE_TYPES.has(e.type);
            eventRows.push({ session_id: item.sessionId, source: item.source, seq: e.seq, at_ms: e.at, type: e.type, text: dropped ? '' : e.text, details: dropped ? JSON.stringify({ discarded: true }) : e.details ? JSON.stringify(e.details) : null });
          }
          const last = item.events[item.events.length - 1]!.seq;
          cursors.set(key, last);
          const cur = cursorRows.get(key) ?? { session_id: item.sessionId, source: item.source, received: 0, max_seq: last };
          cur.received += item.events.length;
          cur.max_seq = last;
          cursorRows.set(key, cur);
          const lastAt = s.started_at + Math.max(...item.events.map((e) => e.at));
          if (lastAt > s.last_activity_at) {
            s.last_activity_at = lastAt;
            upd.last_activity_at = lastAt;
          }
        }
        if (Object.keys(upd).length > 0) updates.set(item.sessionId, upd);
      }
      // The blobs table is the database BlobStore's (DatabaseBlobStore: same keys, upsert).
      for (let i = 0; i < blobs.length; ) {
        let n = 0;
        let size = 0;
        while (i + n < blobs.length && n < ROWS_PER_INSERT && (n === 0 || size + blobs[i + n]!.data.length <= BLOB_BYTES_PER_INSERT)) size += blobs[i + n++]!.data.length;
        await tx.insertInto('blobs').values(blobs.slice(i, i + n)).onConflict((oc) => oc.column('key').doUpdateSet((eb) => ({ data: eb.ref('excluded.data'), encoding: eb.ref('excluded.encoding') }))).execute();
        i += n;
      }
      for (let i = 0; i < chunkRows.length; i += ROWS_PER_INSERT) await tx.insertInto('recording_chunks').values(chunkRows.slice(i, i + ROWS_PER_INSERT)).execute();
      for (let i = 0; i < eventRows.length; i += ROWS_PER_INSERT) await tx.insertInto('activity_events').values(eventRows.slice(i, i + ROWS_PER_INSERT)).execute();
      await appendSessionText(tx, this.store.dialect, eventRows);
      const curs = [...cursorRows.values()];
      for (let i = 0; i < curs.length; i += ROWS_PER_INSERT) {
        await tx
          .insertInto('event_cursors')
          .values(curs.slice(i, i + ROWS_PER_INSERT))
          .onConflict((oc) =>
            oc.columns(['session_id', 'source']).doUpdateSet((eb) => ({
              received: eb('event_cursors.received', '+', eb.ref('excluded.received')),
              max_seq: sql<number>`CASE WHEN event_cursors.max_seq > excluded.max_seq THEN event_cursors.max_seq ELSE excluded.max_seq END`,
            })),
          )
          .execute();
      }
      for (const [id, upd] of updates) await tx.updateTable('sessions').set(upd).where('id', '=', id).execute();
      for (let i = 0; i < heartbeats.length; i += 500) await tx.updateTable('sessions').set({ last_heartbeat_at: now }).where('id', 'in', heartbeats.slice(i, i + 500)).where('status', '=', 'active').execute();
    });
    for (const index of slow) {
      const item = items[index]!;
      try {
        for (const c of item.chunks) await this.chunk(item.sessionId, c.seq, c.data);
        for (let i = 0; i < item.events.length; i += MAX_EVENTS_PER_BATCH) await this.events(item.sessionId, item.source, item.events.slice(i, i + MAX_EVENTS_PER_BATCH));
        if (item.heartbeat) await this.store.db.updateTable('sessions').set({ last_heartbeat_at: this.clock.now() }).where('id', '=', item.sessionId).where('status', '=', 'active').execute();
      } catch (err) {
        results[index] = err;
      }
    }
    return results;
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
