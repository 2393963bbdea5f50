import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { Database } from '../../adapters/store/schema.ts';
import type { Dialect } from '../../adapters/store/store.ts';
import { SOURCE_PREDICATES, type EventSources } from './search-sql.ts';

/**
 * The per-session rollup of searchable event text (table `session_text`, migration 0008): what a
 * search walk reads instead of each session's ~200 events scattered over ~100 pages.
 *
 * One row per (session, text class, segment): the ASCII-folded text of up to SEGMENT_EVENTS events
 * of that class, joined by chr(1). A query cannot contain chr(1) (the API refuses control
 * characters, and `matchesRollup` refuses such a query), so a substring of a row is a substring of
 * one event's text: `instr(row, fold(q)) > 0` for some row of the session ⇔ some event of the
 * session contains q under the scan predicate (LIKE / lower(… COLLATE "C")), which folds ASCII
 * only, exactly like `foldAscii`. The classes are the `in` data sources (disjoint by source and
 * type) plus `etc` for every other event, so a search over every event reads all five.
 *
 * Rows are appended to in the same transaction as their events (ingest, group commit, server
 * events); the segment is the event's seq / SEGMENT_EVENTS, which bounds a row's growth without
 * reading anything first. Which segment an event lands in does not matter for correctness, only
 * for how many rows a session has.
 */
export const SEGMENT_EVENTS = 64;

export type TextClass = 'pk' | 'ak' | 'app' | 'out' | 'etc';

const SOURCE_CLASS: Record<EventSources['sources'][number], TextClass> = {
  'proxy-keystrokes': 'pk',
  'agent-keystrokes': 'ak',
  applications: 'app',
  output: 'out',
};
const SOURCES = Object.keys(SOURCE_CLASS) as Array<EventSources['sources'][number]>;

/** The class of an event: the `in` data source whose predicate takes it (they are disjoint), else `etc`. */
export function textClass(source: string, type: string): TextClass {
  const e = { source, type };
  const s = SOURCES.find((k) => SOURCE_PREDICATES[k](e));
  return s ? SOURCE_CLASS[s] : 'etc';
}

/**
 * The class of an event row in SQL (alias-free column names), for the backfill; the contract test
 * checks that the backfill gives what `textClass` appends.
 */
function classSql(): string {
  return `CASE WHEN type IN ('keystrokes', 'command') THEN (CASE source WHEN 'proxy' THEN 'pk' WHEN 'agent' THEN 'ak' ELSE 'etc' END)
    WHEN type IN ('process-start', 'process-stop', 'window') THEN 'app' WHEN type = 'output' THEN 'out' ELSE 'etc' END`;
}

/** ASCII-only lower case, as SQLite's lower()/LIKE and PostgreSQL's lower(… COLLATE "C") fold. */
export function foldAscii(s: string): string {
  return s.replace(/[A-Z]+/g, (m) => m.toLowerCase());
}

export const SEPARATOR = '\u0001';

type TextRow = { session_id: string; source: string; seq: number; type: string; text: string };

/**
 * Appends freshly stored events' text to their sessions' rollup rows, inside the caller's
 * transaction (the rows must commit with their events). Empty texts (keystrokes dropped by the
 * keystroke setting, events without text) add nothing.
 */
export async function appendSessionText(db: Kysely<Database>, dialect: Dialect, events: readonly TextRow[]): Promise<void> {
  const groups = new Map<string, { session_id: string; cls: TextClass; seg: number; parts: string[] }>();
  for (const e of events) {
    if (e.text === '') continue;
    const cls = textClass(e.source, e.type);
    const seg = Math.floor(e.seq / SEGMENT_EVENTS);
    const key = `${e.session_id}\0${cls}\0${seg}`;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { session_id: e.session_id, cls, seg, parts: [] }));
    g.parts.push(foldAscii(e.text));
  }
  if (groups.size === 0) return;
  const rows = [...groups.values()].map((g) => ({ session_id: g.session_id, cls: g.cls, seg: g.seg, text: g.parts.join(SEPARATOR) }));
  const sep = dialect === 'sqlite' ? sql`char(1)` : sql`chr(1)`;
  for (let i = 0; i < rows.length; i += 200) {
    await db
      .insertInto('session_text')
      .values(rows.slice(i, i + 200))
      .onConflict((oc) => oc.columns(['session_id', 'cls', 'seg']).doUpdateSet({ text: sql<string>`session_text.text || ${sep} || excluded.text` }))
      .execute();
  }
}

/**
 * Whether session `s` (alias) has an event containing q in the chosen sources, read from the
 * rollup; null when the rollup cannot answer (q contains the separator), so the caller scans the
 * events instead.
 */
export function matchesRollup(dialect: Dialect, src: EventSources, q: string): RawBuilder<unknown> | null {
  if (q.includes(SEPARATOR) || q === '') return null;
  const classes = src.all ? null : src.sources.map((s) => SOURCE_CLASS[s]);
  if (classes && classes.length === 0) return null;
  const needle = foldAscii(q);
  const cls = classes ? sql` AND t.cls IN (${sql.join(classes)})` : sql``;
  const found = dialect === 'sqlite' ? sql`instr(t.text, ${needle}) > 0` : sql`strpos(t.text, ${needle}::text) > 0`;
  return sql`EXISTS (SELECT 1 FROM session_text t WHERE t.session_id = s.id${cls} AND ${found})`;
}

/** The statement that fills the rollup from every stored event (migration 0008 on an existing database; the search benchmark's bulk load). */
export function fillSessionTextSql(dialect: Dialect): string {
  const fold = dialect === 'sqlite' ? 'lower(text)' : 'lower(text COLLATE "C")';
  const agg = dialect === 'sqlite' ? `group_concat(${fold}, char(1))` : `string_agg(${fold}, chr(1))`;
  // In key order, so each session's rows are stored together.
  return `INSERT INTO session_text (session_id, cls, seg, text)
    SELECT session_id, cls, seg, ${agg} FROM (SELECT session_id, ${classSql()} AS cls, seq / ${SEGMENT_EVENTS} AS seg, text FROM activity_events WHERE text <> '') x
    GROUP BY session_id, cls, seg ORDER BY session_id, cls, seg`;
}

export async function fillSessionText(db: Kysely<any>, dialect: Dialect): Promise<void> { // eslint-disable-line @typescript-eslint/no-explicit-any
  await sql.raw(fillSessionTextSql(dialect)).execute(db);
}
