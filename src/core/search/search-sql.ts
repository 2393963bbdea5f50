import { sql, type RawBuilder } from 'kysely';
import type { Dialect } from '../../adapters/store/store.ts';
import type { SessionKind, SessionStatus } from '../../adapters/store/schema.ts';
import type { SearchSource } from '../../protocol/sessions.ts';
import type { SessionScope } from '../sessions/session-access.ts';

/**
 * SQL fragments shared by session search and the activity grid. Every substring predicate here is
 * case-insensitive and literal: `%`, `_` and `\` in the user's text never act as wildcards.
 *
 * Two kinds of substring predicate exist on purpose:
 * - the *index* predicate (FTS5 trigram phrase / pg_trgm ILIKE), used when scanning all events;
 * - the *scan* predicate (LIKE on SQLite, strpos(lower()) on PostgreSQL), used when the rows are
 *   already narrowed to a few sessions. On PostgreSQL it is deliberately not index-eligible, so
 *   the planner cannot replace a cheap per-session scan with a table-wide GIN bitmap.
 */

/** Event rows that belong to each `in` data source. */
export const SOURCE_PREDICATES: Record<Exclude<SearchSource, 'metadata'>, (e: { type: string; source: string }) => boolean> = {
  'proxy-keystrokes': (e) => e.source === 'proxy' && (e.type === 'keystrokes' || e.type === 'command'),
  'agent-keystrokes': (e) => e.source === 'agent' && (e.type === 'keystrokes' || e.type === 'command'),
  applications: (e) => e.type === 'process-start' || e.type === 'process-stop' || e.type === 'window',
  output: (e) => e.type === 'output',
};

const SOURCE_SQL: Record<Exclude<SearchSource, 'metadata'>, RawBuilder<unknown>> = {
  'proxy-keystrokes': sql`(e.source = 'proxy' AND e.type IN ('keystrokes', 'command'))`,
  'agent-keystrokes': sql`(e.source = 'agent' AND e.type IN ('keystrokes', 'command'))`,
  applications: sql`e.type IN ('process-start', 'process-stop', 'window')`,
  output: sql`e.type = 'output'`,
};

/** Which events a search looks at: every event (no `in`), or the union of the chosen sources. */
export interface EventSources {
  all: boolean;
  sources: Array<Exclude<SearchSource, 'metadata'>>;
  metadata: boolean;
}

export function eventSources(inList: readonly SearchSource[] | undefined): EventSources {
  if (!inList || inList.length === 0) return { all: true, sources: [], metadata: true };
  const set = new Set(inList);
  return { all: false, sources: [...set].filter((s): s is Exclude<SearchSource, 'metadata'> => s !== 'metadata'), metadata: set.has('metadata') };
}

export function eventInSources(src: EventSources, e: { type: string; source: string }): boolean {
  return src.all || src.sources.some((s) => SOURCE_PREDICATES[s](e));
}

/** SQL over alias `e`; null when no event can qualify. */
export function sourceSql(src: EventSources): RawBuilder<unknown> | null {
  if (src.all) return sql`1 = 1`;
  if (src.sources.length === 0) return null;
  return sql`(${sql.join(src.sources.map((s) => SOURCE_SQL[s]), sql` OR `)})`;
}

/** `%`, `_` and `\` escaped for `LIKE … ESCAPE '\'`, wrapped in `%…%`. */
export function likeContains(q: string): string {
  return `%${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/**
 * PostgreSQL: the LIKE pattern that drives the pg_trgm index, matched by every text containing q.
 * pg_trgm takes trigrams only from runs of letters and digits and, where the pattern shows a run's
 * start or end (`-65155` in `OPS-65155`), adds padded word-boundary trigrams (`  6`, ` 65`, `ps `)
 * that millions of rows share, so the literal pattern reads huge posting lists (40–250 ms on 20M
 * events for a term with 5 matches). `%run%run%` from q's runs of 3+ ASCII letters or digits keeps
 * only the trigrams inside the runs (13 ms for the same term; `rm -rf /var/lib` 73 ms instead of
 * 374 ms); the caller re-checks the exact predicate (ILIKE folds at least ASCII case, so it keeps
 * every row that predicate accepts). With a single such trigram the runs select
 * too little (`ls -la /etc` would read every `etc`, and the planner then prefers a sequential
 * scan of 20M rows), so the literal pattern is used.
 */
export function trigramDriver(q: string): string {
  const runs = q.match(/[A-Za-z0-9]{3,}/g) ?? [];
  return runs.reduce((n, r) => n + r.length - 2, 0) >= 2 ? `%${runs.join('%')}%` : likeContains(q);
}

/** An FTS5 phrase: the trigram tokenizer turns it into consecutive trigrams, i.e. a substring. */
export function ftsPhrase(q: string): string {
  return `"${q.replace(/"/g, '""')}"`;
}

/** Case-insensitive literal substring test of `col` for rows already narrowed by other means. */
export function scanMatch(dialect: Dialect, col: RawBuilder<unknown>, q: string): RawBuilder<unknown> {
  return dialect === 'sqlite' ? sql`${col} LIKE ${likeContains(q)} ESCAPE '\\'` : sql`strpos(${foldC(col)}, ${foldC(sql`${q}::text`)}) > 0`;
}

/**
 * ASCII case folding on PostgreSQL: lower() under the "C" collation skips the locale's wide-char
 * conversion (6× faster on a 20M-row scan here) and folds exactly like SQLite's LIKE, so both
 * dialects agree. Letters outside ASCII therefore match case-sensitively on the scan paths.
 */
export function foldC(expr: RawBuilder<unknown>): RawBuilder<unknown> {
  return sql`lower(${expr} COLLATE "C")`;
}

/** Metadata source: username, secret name, target host and user, client address (alias `s`). */
export function metadataMatch(dialect: Dialect, q: string): RawBuilder<unknown> {
  if (dialect === 'postgres') {
    // One fold per row instead of five; chr(1) cannot occur in a query (the API refuses control
    // characters), so a match never spans two fields.
    return sql`strpos(${foldC(sql`concat_ws(chr(1), s.username, s.secret_name, s.target_host, s.target_user, s.client_address)`)}, ${foldC(sql`${q}::text`)}) > 0`;
  }
  const cols = [sql`s.username`, sql`s.secret_name`, sql`s.target_host`, sql`s.target_user`, sql`s.client_address`];
  return sql`(${sql.join(cols.map((c) => scanMatch(dialect, c, q)), sql` OR `)})`;
}

/**
 * Sessions whose metadata contains q (≥ 3 characters), up to `limit`, found through the metadata
 * trigram index (migration 0004) and re-checked with metadataMatch, so they are exactly the
 * sessions metadataMatch accepts (the index folds case beyond ASCII, the scan predicate does not).
 */
export function metadataIndexed(dialect: Dialect, q: string, limit: number): RawBuilder<{ id: string }> {
  if (dialect === 'sqlite') {
    return sql`SELECT s.id FROM (SELECT rowid AS rid FROM session_search_fts WHERE session_search_fts MATCH ${ftsPhrase(q)}) f
      JOIN session_search m ON m.rid = f.rid JOIN sessions s ON s.id = m.session_id WHERE ${metadataMatch(dialect, q)} LIMIT ${limit}`;
  }
  // Must stay the expression of index sessions_search_meta_trgm, or the planner scans the table.
  const indexed = sql`(s.username || chr(1) || coalesce(s.secret_name, '') || chr(1) || s.target_host || chr(1) || s.target_user || chr(1) || coalesce(s.client_address, ''))`;
  return sql`SELECT s.id FROM sessions s WHERE ${indexed} ILIKE ${likeContains(q)} AND ${metadataMatch(dialect, q)} LIMIT ${limit}`;
}

export const METADATA_FIELDS = [
  ['user', 'username'],
  ['secret', 'secret_name'],
  ['host', 'target_host'],
  ['target-user', 'target_user'],
  ['client-address', 'client_address'],
] as const;

export interface SessionFilters {
  user?: string | undefined;
  secret?: string | undefined;
  host?: string | undefined;
  kind?: SessionKind | undefined;
  /** A status, where `ended` means every status but `active`. */
  status?: SessionStatus | undefined;
  from?: number | undefined;
  to?: number | undefined;
}

/** Sessions keyset position: started_at desc, id desc. */
export interface SessionKey {
  startedAt: number;
  id: string;
}

/** WHERE conditions on alias `s` for the filters, the caller's scope and the cursor. */
export function sessionWhere(scope: SessionScope, f: SessionFilters, after: SessionKey | null): RawBuilder<unknown> {
  const c: Array<RawBuilder<unknown>> = [];
  if (!scope.all) c.push(scope.secretIds.length > 0 ? sql`s.secret_id IN (${sql.join(scope.secretIds)})` : sql`1 = 0`);
  if (f.user !== undefined) c.push(sql`lower(s.username) = lower(${f.user})`);
  if (f.secret !== undefined) c.push(sql`lower(s.secret_name) = lower(${f.secret})`);
  if (f.host !== undefined) c.push(sql`lower(s.target_host) = lower(${f.host})`);
  if (f.kind !== undefined) c.push(sql`s.kind = ${f.kind}`);
  if (f.status === 'ended') c.push(sql`s.status <> 'active'`);
  else if (f.status !== undefined) c.push(sql`s.status = ${f.status}`);
  if (f.from !== undefined) c.push(sql`s.started_at >= ${f.from}`);
  if (f.to !== undefined) c.push(sql`s.started_at <= ${f.to}`);
  if (after) c.push(keyBefore(after));
  return c.length > 0 ? sql.join(c, sql` AND `) : sql`1 = 1`;
}

/**
 * Keyset bounds as row values, which both dialects turn into a range on the (…, started_at, id)
 * indexes, so a scan stops at the bound (an equivalent OR of comparisons is only a filter, and a
 * scan with a filter reads on to the end of the index).
 */
export function keyBefore(k: SessionKey): RawBuilder<unknown> {
  return sql`(s.started_at, s.id) < (${k.startedAt}, ${k.id})`;
}

export function keyAtOrAfter(k: SessionKey): RawBuilder<unknown> {
  return sql`(s.started_at, s.id) >= (${k.startedAt}, ${k.id})`;
}

/** `s.id` is one of `ids`, bound as one parameter. */
export function idIn(dialect: Dialect, col: RawBuilder<unknown>, ids: readonly string[]): RawBuilder<unknown> {
  if (ids.length === 0) return sql`1 = 0`;
  return dialect === 'sqlite' ? sql`${col} IN (SELECT value FROM json_each(${JSON.stringify(ids)}))` : sql`${col} = ANY(${[...ids]}::text[])`;
}
