import { sql, type Kysely } from 'kysely';
import { fillSessionText } from '../../../core/search/session-text.ts';
import type { Dialect } from '../store.ts';

/**
 * `session_text`: per session, the searchable event text rolled up by class and segment
 * (src/core/search/session-text.ts), so a search walk reads a few adjacent rows per session
 * instead of its events scattered over the table. Filled from the stored events here, session by
 * session (so each session's rows sit together); ingest keeps it in step from then on.
 */
export async function sessionText(db: Kysely<any>, dialect: Dialect): Promise<void> { // eslint-disable-line @typescript-eslint/no-explicit-any
  if (dialect === 'sqlite') {
    // A rowid table: its rows (1–5 KB) stay on their leaf page, where WITHOUT ROWID would move
    // anything over ~1 KB to overflow pages (a walk over 1000 sessions measured 21 vs 53 ms).
    await sql`CREATE TABLE session_text (
      id INTEGER PRIMARY KEY,
      session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
      cls TEXT NOT NULL, seg INTEGER NOT NULL, text TEXT NOT NULL,
      UNIQUE (session_id, cls, seg))`.execute(db);
  } else {
    await sql`CREATE TABLE session_text (
      session_id text NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
      cls text NOT NULL, seg integer NOT NULL, text text NOT NULL,
      PRIMARY KEY (session_id, cls, seg)) WITH (toast_tuple_target = 8160)`.execute(db);
    // Rows stay uncompressed up to a page: at the default (2 KB) most output rows were compressed,
    // and a walk decompresses every row it reads.
  }
  await fillSessionText(db, dialect);
  if (dialect === 'postgres') await sql`ANALYZE session_text`.execute(db);
}
