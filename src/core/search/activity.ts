import { sql, type RawBuilder } from 'kysely';
import type { Store } from '../../adapters/store/store.ts';
import type { ActivityType } from '../../protocol/sessions.ts';
import { systemClock, type Clock } from '../clock.ts';
import { NotFoundError, ValidationError } from '../errors.ts';
import { decodeCursor, encodeCursor } from './cursor.ts';
import { scanMatch } from './search-sql.ts';

export const MINUTE_MS = 60_000;
export const MAX_BUCKETS = 1000;
export const MAP_SERIES = ['screen-change', 'keystrokes', 'processes', 'commands', 'windows'] as const;
export type MapSeries = (typeof MAP_SERIES)[number];

/**
 * Response of GET /sessions/{id}/activity — `{ items: ActivityItem[], nextCursor: string | null }`,
 * items ordered by `at` then `id`:
 *
 * - every event but keystrokes, one row each:
 *   `{ id, at, type, source, text, details, hitAt? }` (`at`: ms from the session start; `details`:
 *   the event's JSON details or null);
 * - keystrokes, one row per one-minute segment: all `keystrokes` events of one source whose `at`
 *   falls in the same minute `floor(at / 60000)`, even with other events between them:
 *   `{ id, at, type: 'keystrokes', source, minute, text, details: null, parts: [{ id, at, text }], hitAt? }`
 *   where `id`/`at` are the first part's, `text` is the parts' text concatenated, and every part
 *   keeps its exact time.
 *
 * With `q`, only rows containing it (case-insensitive, literal) are listed; a segment matches when
 * its concatenated text does (so a word typed across two parts is found), and `hitAt` is the exact
 * `at` of the part where the first match starts — jump-to lands on that second, not on the minute.
 * For other rows `hitAt` equals `at`.
 */
export interface ActivityEventItem {
  id: number;
  at: number;
  type: Exclude<ActivityType, 'keystrokes'>;
  source: string;
  text: string;
  details: Record<string, unknown> | null;
  hitAt?: number;
}
export interface KeystrokeSegmentItem {
  id: number;
  at: number;
  type: 'keystrokes';
  source: string;
  minute: number;
  text: string;
  details: null;
  parts: Array<{ id: number; at: number; text: string }>;
  hitAt?: number;
}
export type ActivityItem = ActivityEventItem | KeystrokeSegmentItem;

/**
 * Response of GET /sessions/{id}/activity-map: the span [0, durationMs] cut into `buckets` equal
 * buckets of `bucketMs` (the last one absorbs any rounding), with per-bucket counts of events:
 * `screen-change` counts screen-change events (one per second in which the screen changed — a
 * count, not summed magnitudes, so it reads like the other series), `processes` process-start
 * plus process-stop, `commands` command events, `windows` window (active window) changes.
 */
export interface ActivityMap {
  bucketMs: number;
  durationMs: number;
  series: Record<MapSeries, number[]>;
}

type EventRow = { id: number; at_ms: number; type: string; source: string; text: string; details: string | null };

/** Rows read per query while assembling a page; segments need every part of their minute. */
const CHUNK = 1000;

/** Activity of one session: the searchable grid and the activity map. */
export class ActivityService {
  constructor(private readonly store: Store, private readonly clock: Clock = systemClock) {}

  async grid(sessionId: string, opts: { q?: string | undefined; type?: ActivityType[] | undefined; cursor?: string | undefined; limit: number }): Promise<{ items: ActivityItem[]; nextCursor: string | null }> {
    await this.session(sessionId);
    const after = opts.cursor ? decodeCursor(opts.cursor, ['number', 'number'] as const) : null;
    const types = opts.type && opts.type.length > 0 ? new Set(opts.type) : null;
    const keys = !types || types.has('keystrokes');
    const others = types ? [...types].filter((t) => t !== 'keystrokes') : null;
    const q = opts.q ?? '';
    const d = this.store.dialect;

    // Non-keystroke events are filtered in SQL; keystrokes are all read (from the minute of the
    // cursor on) because a segment is decided on its concatenated text.
    const other: Array<RawBuilder<unknown>> = [sql`e.type <> 'keystrokes'`];
    if (others) other.push(others.length > 0 ? sql`e.type IN (${sql.join(others)})` : sql`1 = 0`);
    if (q) other.push(scanMatch(d, sql`e.text`, q));
    if (after) other.push(sql`(e.at_ms > ${after[0]} OR (e.at_ms = ${after[0]} AND e.id > ${after[1]}))`);
    const wanted = keys ? sql`(e.type = 'keystrokes' OR (${sql.join(other, sql` AND `)}))` : sql.join(other, sql` AND `);

    const rows: Row[] = [];
    const open = new Map<string, Segment>();
    let pos: [number, number] | null = null;
    let exhausted = false;
    while (!exhausted && decided(rows, pos, q) <= opts.limit) {
      const from: RawBuilder<unknown> = pos
        ? sql`(e.at_ms > ${pos[0]} OR (e.at_ms = ${pos[0]} AND e.id > ${pos[1]}))`
        : sql`e.at_ms >= ${after ? Math.floor(after[0] / MINUTE_MS) * MINUTE_MS : 0}`;
      const chunk: { rows: EventRow[] } = await sql<EventRow>`SELECT e.id, e.at_ms, e.type, e.source, e.text, e.details FROM activity_events e
        WHERE e.session_id = ${sessionId} AND ${from} AND ${wanted} ORDER BY e.at_ms, e.id LIMIT ${CHUNK}`.execute(this.store.db);
      exhausted = chunk.rows.length < CHUNK;
      for (const r of chunk.rows) {
        const at = Number(r.at_ms);
        const id = Number(r.id);
        pos = [at, id];
        if (r.type !== 'keystrokes') {
          rows.push({ kind: 'event', item: { id, at, type: r.type as ActivityEventItem['type'], source: r.source, text: r.text, details: parseDetails(r.details), ...(q ? { hitAt: at } : {}) } });
          continue;
        }
        const minute = Math.floor(at / MINUTE_MS);
        const key = `${r.source}\u0000${minute}`;
        let seg = open.get(key);
        if (!seg) {
          // A segment whose first part is at or before the cursor was decided on an earlier page.
          const done = after !== null && (at < after[0] || (at === after[0] && id <= after[1]));
          seg = { kind: 'segment', minute, item: { id, at, type: 'keystrokes', source: r.source, minute, text: '', details: null, parts: [] } };
          open.set(key, seg);
          if (!done) rows.push(seg);
        }
        seg.item.parts.push({ id, at, text: r.text });
      }
    }
    if (exhausted) pos = [Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER];

    const items: ActivityItem[] = [];
    let more = false;
    for (const row of rows) {
      if (row.kind === 'segment' && !complete(row, pos)) break;
      if (row.kind === 'segment' && !finishSegment(row.item, q)) continue;
      if (items.length === opts.limit) {
        more = true;
        break;
      }
      items.push(row.item);
    }
    const last = items[items.length - 1];
    return { items, nextCursor: more && last ? encodeCursor([last.at, last.id]) : null };
  }

  async map(sessionId: string, buckets: number): Promise<ActivityMap> {
    if (!Number.isInteger(buckets) || buckets < 1 || buckets > MAX_BUCKETS) throw new ValidationError(`buckets: must be an integer from 1 to ${MAX_BUCKETS}`, 'buckets');
    const s = await this.session(sessionId);
    const maxAt = await this.store.db.selectFrom('activity_events').select((eb) => eb.fn.max('at_ms').as('m')).where('session_id', '=', sessionId).executeTakeFirst();
    const start = Number(s.started_at);
    const end = s.ended_at !== null ? Number(s.ended_at) : s.status === 'active' ? this.clock.now() : Number(s.last_activity_at);
    const durationMs = Math.max(0, end - start, Number(maxAt?.m ?? 0));
    const bucketMs = Math.max(1, Math.ceil(durationMs / buckets));
    const series = Object.fromEntries(MAP_SERIES.map((k) => [k, new Array<number>(buckets).fill(0)])) as Record<MapSeries, number[]>;
    const r = await sql<{ series: MapSeries; bucket: number; n: number }>`
      SELECT series, bucket, count(*) AS n FROM (
        SELECT CASE e.type WHEN 'screen-change' THEN 'screen-change' WHEN 'keystrokes' THEN 'keystrokes' WHEN 'command' THEN 'commands'
                 WHEN 'window' THEN 'windows' ELSE 'processes' END AS series,
               CASE WHEN e.at_ms / ${sql.lit(bucketMs)} >= ${sql.lit(buckets)} THEN ${sql.lit(buckets - 1)} ELSE e.at_ms / ${sql.lit(bucketMs)} END AS bucket
        FROM activity_events e
        WHERE e.session_id = ${sessionId} AND e.type IN ('screen-change', 'keystrokes', 'command', 'window', 'process-start', 'process-stop')
      ) t GROUP BY series, bucket`.execute(this.store.db);
    for (const row of r.rows) series[row.series][Number(row.bucket)] = Number(row.n);
    return { bucketMs, durationMs, series };
  }

  private async session(sessionId: string) {
    const s = await this.store.db.selectFrom('sessions').select(['id', 'status', 'started_at', 'ended_at', 'last_activity_at']).where('id', '=', sessionId).executeTakeFirst();
    if (!s) throw new NotFoundError('session');
    return s;
  }
}

type Segment = { kind: 'segment'; minute: number; item: KeystrokeSegmentItem };
type Row = { kind: 'event'; item: ActivityEventItem } | Segment;

/** A segment is complete once the read position has left its minute. */
function complete(seg: Segment, pos: [number, number] | null): boolean {
  return pos !== null && pos[0] >= (seg.minute + 1) * MINUTE_MS;
}

/** Rows known to be listed, counting up to the first segment still gathering parts. */
function decided(rows: Row[], pos: [number, number] | null, q: string): number {
  let n = 0;
  for (const row of rows) {
    if (row.kind === 'event') n++;
    else if (!complete(row, pos)) break;
    else if (!q || segmentText(row.item).toLowerCase().includes(q.toLowerCase())) n++;
  }
  return n;
}

const segmentText = (s: KeystrokeSegmentItem) => s.parts.map((p) => p.text).join('');

/** Fills text and hitAt; false when the segment does not contain q. */
function finishSegment(s: KeystrokeSegmentItem, q: string): boolean {
  s.text = segmentText(s);
  if (!q) return true;
  const idx = s.text.toLowerCase().indexOf(q.toLowerCase());
  if (idx < 0) return false;
  let offset = 0;
  for (const p of s.parts) {
    if (idx < offset + p.text.length) {
      s.hitAt = p.at;
      break;
    }
    offset += p.text.length;
  }
  s.hitAt ??= s.at;
  return true;
}

function parseDetails(raw: string | null): Record<string, unknown> | null {
  if (raw === null) return null;
  try {
    const v: unknown = JSON.parse(raw);
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : { value: v };
  } catch {
    return null;
  }
}
