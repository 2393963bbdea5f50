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
  if (after) c.push(sql`(s.started_at < ${after.startedAt} OR (s.started_at = ${after.startedAt} AND s.id < ${after.id}))`);
  return c.length > 0 ? sql.join(c, sql` AND `) : sql`1 = 1`;
}

/** `s.id` is one of `ids`, bound as one parameter. */
export function idIn(dialect: Dialect, col: RawBuilder<unknown>, ids: readonly string[]): RawBuilder<unknown> {
  if (ids.length === 0) return sql`1 = 0`;
  return dialect === 'sqlite' ? sql`${col} IN (SELECT value FROM json_each(${JSON.stringify(ids)}))` : sql`${col} = ANY(${[...ids]}::text[])`;
}
