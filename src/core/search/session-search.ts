import { sql, type RawBuilder } from 'kysely';
import type { Store } from '../../adapters/store/store.ts';
import type { SearchHit, SearchSource, SessionView } from '../../protocol/sessions.ts';
import type { SessionScope } from '../sessions/session-access.ts';
import { toSessionView, type SessionRow } from '../sessions/session-view.ts';
import { decodeCursor, encodeCursor } from './cursor.ts';
import {
  eventInSources, eventSources, foldC, ftsPhrase, idIn, keyAtOrAfter, METADATA_FIELDS, metadataIndexed, metadataMatch, scanMatch, sessionWhere, sourceSql, trigramDriver,
  type EventSources, type SessionFilters, type SessionKey,
} from './search-sql.ts';
import { matchesRollup } from './session-text.ts';
import { snippet } from './snippet.ts';

export interface SearchQuery extends SessionFilters {
  /** Case-insensitive literal substring; empty or absent lists sessions by the filters alone. */
  q?: string | undefined;
  /** Data sources to search; absent means every event's text plus the session metadata. */
  in?: SearchSource[] | undefined;
  cursor?: string | undefined;
  limit: number;
}

export type SessionSearchItem = SessionView & { hits: SearchHit[] };
export interface SessionSearchPage {
  items: SessionSearchItem[];
  /** Null when the list is complete. A page may hold fewer than `limit` items (see below). */
  nextCursor: string | null;
}

export interface SearchTuning {
  /** Up to this many matching events, the index answers exactly; beyond it the term is "common". */
  indexCap: number;
  /** Sessions one request may scan for a common or 1–2 character term before it returns a partial page. */
  walkBudget: number;
  /**
   * PostgreSQL only: sessions scanned before asking the trigram index, to recognise a common term
   * cheaply. The unfiltered first page probes more: its newest sessions are often still recording
   * (few or no events yet) and are cheap to scan, being recent. A filtered list or a later page
   * reaches older sessions, each costlier to scan, and probes `filteredProbeBudget` (at most
   * probeBudget).
   */
  probeBudget: number;
  filteredProbeBudget: number;
}

export const DEFAULT_TUNING: SearchTuning = { indexCap: 500, walkBudget: 1000, probeBudget: 300, filteredProbeBudget: 100 };
export const MAX_HITS = 5;
const MIN_INDEXED_CHARS = 3;
/** Filters that make a list start below the newest sessions (see filteredProbeBudget). */
const FILTER_KEYS = ['user', 'secret', 'host', 'kind', 'status', 'from', 'to'] as const satisfies ReadonlyArray<keyof SessionFilters>;

interface Page {
  rows: SessionRow[];
  nextCursor: string | null;
  /** Matching event ids per session when the index answered exactly (hits need no rescan). */
  indexed: Map<string, Array<{ id: number; at: number }>> | null;
}

type MatchRow = { id: number; session_id: string; type: string; source: string; at_ms: number };

/**
 * Search across sessions (GET /sessions). Results are sessions ordered by started_at desc, id desc,
 * each with up to MAX_HITS hits carrying the exact offset to jump to.
 *
 * How a text query runs, so its cost stays bounded on 100k sessions / 20M events:
 * 1. Index: the first indexCap+1 events containing the term are read from the trigram index
 *    (SQLite FTS5 phrase, PostgreSQL pg_trgm ILIKE on a looser pattern, see trigramDriver), each
 *    re-checked with the exact predicate. Fewer than that means the index returned every match:
 *    the page is the newest matching sessions, computed exactly. Sessions whose metadata matches
 *    come from the metadata trigram index (migration 0004) the same way.
 * 2. Walk: otherwise the term is common (or shorter than a trigram), so sessions are scanned
 *    newest first (through the filter's index), each checked with an early-exit EXISTS over its
 *    rows of the text rollup (session-text.ts: a few adjacent rows per session instead of its
 *    events scattered over the table), until the page fills — quick, since common terms are in
 *    most sessions. The walk stops after walkBudget sessions: the page then holds the matches found so far (possibly none)
 *    and a cursor past the last session scanned, so every request does bounded work and following
 *    cursors still visits every session exactly once.
 * PostgreSQL builds the whole trigram bitmap before any LIMIT applies, which is slow for common
 * terms, so there a short walk (probeBudget) runs first; when what it finds, scaled to the whole
 * table, is well over indexCap, the walk goes on and the index is asked only if the page stays
 * partial. Every order gives the same answer: a full page or the end of the list from a walk is
 * the exact page, and a partial walk page is only returned once the index has said the term is
 * over its cap.
 */
export class SessionSearch {
  private readonly tuning: SearchTuning;

  constructor(private readonly store: Store, tuning: Partial<SearchTuning> = {}) {
    this.tuning = { ...DEFAULT_TUNING, ...tuning };
  }

  async search(scope: SessionScope, query: SearchQuery): Promise<SessionSearchPage> {
    const after = query.cursor ? sessionKeyFromCursor(query.cursor) : null;
    if (!scope.all && scope.secretIds.length === 0) return { items: [], nextCursor: null };
    const q = query.q ?? '';
    const src = eventSources(query.in);
    const where = sessionWhere(scope, query, after);
    const page = q === '' ? await this.list(where, query.limit) : await this.find(scope, query, after, q, src);
    const mp4 = await this.mp4Sessions(page.rows.map((r) => r.id));
    const hits = q === '' ? new Map<string, SearchHit[]>() : await this.hits(page, q, src);
    return {
      items: page.rows.map((r) => ({ ...toSessionView(r, mp4.has(r.id)), hits: hits.get(r.id) ?? [] })),
      nextCursor: page.nextCursor,
    };
  }

  private async list(where: RawBuilder<unknown>, limit: number): Promise<Page> {
    const rows = await this.sessions(sql`${where}`, limit + 1);
    return pageOf(rows, limit, null);
  }

  private async find(scope: SessionScope, f: SearchQuery, after: SessionKey | null, q: string, src: EventSources): Promise<Page> {
    const { walkBudget } = this.tuning;
    const unfiltered = after === null && scope.all && FILTER_KEYS.every((k) => f[k] === undefined);
    const probeBudget = Math.min(walkBudget, unfiltered ? this.tuning.probeBudget : Math.min(this.tuning.probeBudget, this.tuning.filteredProbeBudget));
    if ([...q].length < MIN_INDEXED_CHARS) return this.walkPage(scope, f, after, q, src, walkBudget, []);
    if (this.store.dialect === 'postgres' && probeBudget > 0) {
      const probe = await this.walk(scope, f, after, q, src, probeBudget);
      if (probe.rows.length > f.limit || probe.boundary === null) return pageOf(probe.rows, f.limit, null);
      // Sessions matching in the probe, scaled to the whole table, estimate whether the index can
      // answer (it counts every matching event, whatever the filters). Only a clear excess skips
      // it: near the cap the index is cheap and may still answer exactly.
      const k = probe.rows.length;
      const common = k >= 2 && (k / probeBudget) * (await this.sessionCount()) > 2 * this.tuning.indexCap;
      if (!common) {
        // Probably rare enough: the index answers exactly.
        const exact = await this.indexPage(scope, f, after, q, src);
        if (exact) return exact;
        return this.walkPage(scope, f, probe.boundary, q, src, walkBudget - probeBudget, probe.rows);
      }
      // Probably too common for the index: walk on, and ask the index only if the page stays partial.
      const rest = await this.walk(scope, f, probe.boundary, q, src, walkBudget - probeBudget);
      const rows = [...probe.rows, ...rest.rows];
      if (rows.length > f.limit || rest.boundary === null) return pageOf(rows, f.limit, null);
      return (await this.indexPage(scope, f, after, q, src)) ?? { rows, nextCursor: keyCursor(rest.boundary), indexed: null };
    }
    return (await this.indexPage(scope, f, after, q, src)) ?? this.walkPage(scope, f, after, q, src, walkBudget, []);
  }

  /** Step 1: the exact page from the trigram index, or null when the term has too many matches. */
  private async indexPage(scope: SessionScope, f: SearchQuery, after: SessionKey | null, q: string, src: EventSources): Promise<Page | null> {
    const bySession = new Map<string, Array<{ id: number; at: number }>>();
    if (src.all || src.sources.length > 0) {
      const matches = await this.indexMatches(q);
      if (matches === null) return null;
      for (const m of matches) {
        if (!eventInSources(src, m)) continue;
        const list = bySession.get(m.session_id) ?? [];
        list.push({ id: Number(m.id), at: Number(m.at_ms) });
        bySession.set(m.session_id, list);
      }
    }
    const d = this.store.dialect;
    const ids = new Set(bySession.keys());
    // Metadata matches come from their own index; past the cap, the metadata predicate scans
    // sessions newest first, which stops early because so many sessions match.
    const meta = src.metadata ? await this.metadataMatches(q) : [];
    for (const id of meta ?? []) ids.add(id);
    const match = [...(ids.size > 0 ? [idIn(d, sql`s.id`, [...ids])] : []), ...(meta === null ? [metadataMatch(d, q)] : [])];
    if (match.length === 0) return { rows: [], nextCursor: null, indexed: bySession };
    const rows = await this.sessions(sql`${sessionWhere(scope, f, after)} AND (${sql.join(match, sql` OR `)})`, f.limit + 1);
    return pageOf(rows, f.limit, bySession);
  }

  /**
   * Events containing q, or null past indexCap. The trigram index only proposes candidates (it
   * folds case beyond ASCII, and on PostgreSQL it is driven by a looser pattern); each is re-checked
   * with the scan predicate before the cap counts it, so every path and dialect answers alike.
   */
  private async indexMatches(q: string): Promise<MatchRow[] | null> {
    const cap = this.tuning.indexCap;
    const d = this.store.dialect;
    const ok = scanMatch(d, sql`e.text`, q);
    const rows =
      d === 'sqlite'
        ? await sql<MatchRow>`SELECT e.id, e.session_id, e.type, e.source, e.at_ms
            FROM (SELECT rowid AS rid FROM activity_fts WHERE activity_fts MATCH ${ftsPhrase(q)}) f
            JOIN activity_events e ON e.id = f.rid WHERE ${ok} LIMIT ${cap + 1}`.execute(this.store.db)
        : await sql<MatchRow>`SELECT e.id, e.session_id, e.type, e.source, e.at_ms FROM activity_events e
            WHERE e.text ILIKE ${trigramDriver(q)} AND ${ok} LIMIT ${cap + 1}`.execute(this.store.db);
    return rows.rows.length > cap ? null : rows.rows;
  }

  /** PostgreSQL: about how many sessions there are — the planner's estimate, or a count while the table is small or not analysed yet. */
  private async sessionCount(): Promise<number> {
    const est = await sql<{ n: number }>`SELECT reltuples AS n FROM pg_class WHERE oid = 'sessions'::regclass`.execute(this.store.db);
    const n = Number(est.rows[0]?.n ?? -1);
    if (n >= 10_000) return n;
    const count = await sql<{ n: number }>`SELECT count(*) AS n FROM sessions`.execute(this.store.db);
    return Number(count.rows[0]?.n ?? 0);
  }

  /** Sessions whose metadata contains q, or null past indexCap. */
  private async metadataMatches(q: string): Promise<string[] | null> {
    const cap = this.tuning.indexCap;
    const rows = await metadataIndexed(this.store.dialect, q, cap + 1).execute(this.store.db);
    return rows.rows.length > cap ? null : rows.rows.map((r) => r.id);
  }

  /** Step 2: a bounded walk, merged with the rows an earlier walk over the preceding sessions found. */
  private async walkPage(scope: SessionScope, f: SearchQuery, after: SessionKey | null, q: string, src: EventSources, budget: number, earlier: SessionRow[]): Promise<Page> {
    const w = await this.walk(scope, f, after, q, src, budget);
    const rows = [...earlier, ...w.rows];
    if (rows.length > f.limit || w.boundary === null) return pageOf(rows, f.limit, null);
    return { rows, nextCursor: keyCursor(w.boundary), indexed: null };
  }

  /**
   * Matching sessions among the next `budget` sessions (filters applied) after `after`; `boundary`
   * is the last of those `budget` sessions, or null when fewer remain.
   */
  private async walk(scope: SessionScope, f: SearchQuery, after: SessionKey | null, q: string, src: EventSources, budget: number): Promise<{ rows: SessionRow[]; boundary: SessionKey | null }> {
    // A probe that used the whole budget leaves nothing to walk: the boundary stays where it ended.
    if (budget <= 0 && after) return { rows: [], boundary: after };
    const where = sessionWhere(scope, f, after);
    const b = await sql<{ started_at: number; id: string }>`SELECT s.started_at, s.id FROM sessions s WHERE ${where}
      ORDER BY s.started_at DESC, s.id DESC LIMIT 1 OFFSET ${budget - 1}`.execute(this.store.db);
    const last = b.rows[0];
    const boundary = last ? { startedAt: Number(last.started_at), id: last.id } : null;
    const upTo = boundary ? keyAtOrAfter(boundary) : sql`1 = 1`;
    const d = this.store.dialect;
    const match = [...(src.metadata ? [metadataMatch(d, q)] : []), ...eventMatch(d, src, q)];
    if (match.length === 0) return { rows: [], boundary };
    const rows = await this.sessions(sql`${where} AND ${upTo} AND (${sql.join(match, sql` OR `)})`, f.limit + 1);
    return { rows, boundary };
  }

  private async sessions(where: RawBuilder<unknown>, limit: number): Promise<SessionRow[]> {
    const r = await sql<SessionRow>`SELECT s.* FROM sessions s WHERE ${where} ORDER BY s.started_at DESC, s.id DESC LIMIT ${limit}`.execute(this.store.db);
    return r.rows;
  }

  private async mp4Sessions(ids: string[]): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    const rows = await this.store.db.selectFrom('recording_files').select('session_id').where('format', '=', 'mp4').where('session_id', 'in', ids).execute();
    return new Set(rows.map((r) => r.session_id));
  }

  /** Up to MAX_HITS per session: metadata fields first, then events in time order. */
  private async hits(page: Page, q: string, src: EventSources): Promise<Map<string, SearchHit[]>> {
    const out = new Map<string, SearchHit[]>();
    const lower = q.toLowerCase();
    const need = new Map<string, number>();
    for (const r of page.rows) {
      const list: SearchHit[] = [];
      if (src.metadata) {
        for (const [field, col] of METADATA_FIELDS) {
          const v = r[col];
          if (v !== null && list.length < MAX_HITS && v.toLowerCase().includes(lower)) list.push({ type: field, source: 'metadata', snippet: snippet(v, q), at: 0, eventId: null });
        }
      }
      out.set(r.id, list);
      if (list.length < MAX_HITS) need.set(r.id, MAX_HITS - list.length);
    }
    const events = await this.hitEvents(page, need, q, src);
    for (const e of events) out.get(e.session_id)?.push({ type: e.type, source: e.source, snippet: (e.start > 1 ? '…' : '') + snippet(e.excerpt, q), at: Number(e.at_ms), eventId: Number(e.id) });
    for (const list of out.values()) list.sort((a, b) => a.at - b.at || (a.eventId ?? -1) - (b.eventId ?? -1));
    return out;
  }

  private async hitEvents(page: Page, need: Map<string, number>, q: string, src: EventSources): Promise<HitRow[]> {
    const evSql = sourceSql(src);
    if (need.size === 0 || !evSql) return [];
    const d = this.store.dialect;
    const pos = d === 'sqlite' ? sql`instr(lower(e.text), lower(${q}))` : sql`strpos(${foldC(sql`e.text`)}, ${foldC(sql`${q}::text`)})`;
    const start = d === 'sqlite' ? sql`max(1, ${pos} - 60)` : sql`greatest(1, ${pos} - 60)`;
    const cols = sql`e.id, e.session_id, e.type, e.source, e.at_ms, ${start} AS start, substr(e.text, ${start}, ${200 + q.length}) AS excerpt`;
    const fromIndex: number[] = [];
    const scan: string[] = [];
    for (const [id, n] of need) {
      if (!page.indexed) {
        scan.push(id);
        continue;
      }
      // The index returned every matching event: a session it did not list matched on metadata only.
      const known = page.indexed.get(id) ?? [];
      fromIndex.push(...[...known].sort((a, b) => a.at - b.at || a.id - b.id).slice(0, n).map((k) => k.id));
    }
    const rows: HitRow[] = [];
    if (fromIndex.length > 0) {
      const r = await sql<HitRow>`SELECT ${cols} FROM activity_events e WHERE ${d === 'sqlite' ? sql`e.id IN (SELECT value FROM json_each(${JSON.stringify(fromIndex)}))` : sql`e.id = ANY(${fromIndex}::bigint[])`}`.execute(this.store.db);
      rows.push(...r.rows);
    }
    const match = scanMatch(d, sql`e.text`, q);
    if (d === 'postgres' && scan.length > 0) {
      const r = await sql<HitRow>`SELECT h.* FROM unnest(${scan}::text[], ${scan.map((id) => need.get(id)!)}::int[]) AS x(sid, n)
        CROSS JOIN LATERAL (SELECT ${cols} FROM activity_events e WHERE e.session_id = x.sid AND ${evSql} AND ${match} ORDER BY e.at_ms, e.id LIMIT x.n) h`.execute(this.store.db);
      rows.push(...r.rows);
    } else {
      for (const id of scan) {
        const r = await sql<HitRow>`SELECT ${cols} FROM activity_events e WHERE e.session_id = ${id} AND ${evSql} AND ${match} ORDER BY e.at_ms, e.id LIMIT ${need.get(id)!}`.execute(this.store.db);
        rows.push(...r.rows);
      }
    }
    return rows;
  }
}

/**
 * Sessions (alias `s`) with an event containing q in the chosen sources: from the per-session text
 * rollup (a few adjacent rows per session, session-text.ts), or, for the one query it cannot
 * answer, from the session's events.
 */
function eventMatch(d: Store['dialect'], src: EventSources, q: string): RawBuilder<unknown>[] {
  const rollup = matchesRollup(d, src, q);
  if (rollup) return [rollup];
  const evSql = sourceSql(src);
  return evSql ? [sql`EXISTS (SELECT 1 FROM activity_events e WHERE e.session_id = s.id AND ${evSql} AND ${scanMatch(d, sql`e.text`, q)})`] : [];
}

type HitRow = { id: number; session_id: string; type: string; source: string; at_ms: number; start: number; excerpt: string };

function pageOf(rows: SessionRow[], limit: number, indexed: Page['indexed']): Page {
  if (rows.length <= limit) return { rows, nextCursor: null, indexed };
  const page = rows.slice(0, limit);
  const last = page[page.length - 1]!;
  return { rows: page, nextCursor: keyCursor({ startedAt: Number(last.started_at), id: last.id }), indexed };
}

const keyCursor = (k: SessionKey): string => encodeCursor([k.startedAt, k.id]);

function sessionKeyFromCursor(cursor: string): SessionKey {
  const [startedAt, id] = decodeCursor(cursor, ['number', 'string'] as const);
  return { startedAt, id };
}
