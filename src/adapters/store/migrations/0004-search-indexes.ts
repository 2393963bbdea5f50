import { sql, type Kysely } from 'kysely';
import type { Dialect } from '../store.ts';

/**
 * Indexes for session search (src/core/search) on 100k+ sessions:
 * - a substring (trigram) index over the session metadata that search matches — username, secret
 *   name, target host and user, client address — joined by chr(1), which a query cannot contain
 *   (the API refuses control characters), so no match spans two fields;
 * - expression indexes for the case-insensitive `user` / `secret` / `host` filters and composite
 *   ones for `kind` / `status`, each ending in (started_at, id), the order of the result list.
 *
 * SQLite: an external-content FTS5 trigram table over `session_search`, a side table of one row
 * per session kept by triggers on `sessions` (FTS5 needs a stable integer rowid, which a table
 * with a text primary key does not have: VACUUM may renumber it). PostgreSQL: a pg_trgm GIN index
 * on the same concatenation as an expression.
 */
export async function searchIndexes(db: Kysely<any>, dialect: Dialect): Promise<void> { // eslint-disable-line @typescript-eslint/no-explicit-any
  for (const [name, expr] of [
    ['sessions_search_user', 'lower(username), started_at, id'],
    ['sessions_search_secret', 'lower(secret_name), started_at, id'],
    ['sessions_search_host', 'lower(target_host), started_at, id'],
    ['sessions_search_kind', 'kind, started_at, id'],
    ['sessions_search_status', 'status, started_at, id'],
  ] as const) {
    await sql.raw(`CREATE INDEX ${name} ON sessions (${expr})`).execute(db);
  }

  if (dialect === 'sqlite') {
    const meta = (p: string) =>
      `${p}username || char(1) || coalesce(${p}secret_name, '') || char(1) || ${p}target_host || char(1) || ${p}target_user || char(1) || coalesce(${p}client_address, '')`;
    await sql`CREATE TABLE session_search (rid INTEGER PRIMARY KEY, session_id TEXT NOT NULL UNIQUE, meta TEXT NOT NULL)`.execute(db);
    await sql`CREATE VIRTUAL TABLE session_search_fts USING fts5(meta, content='session_search', content_rowid='rid', tokenize='trigram case_sensitive 0')`.execute(db);
    await sql.raw(`INSERT INTO session_search (session_id, meta) SELECT id, ${meta('')} FROM sessions ORDER BY started_at, id`).execute(db);
    await sql`INSERT INTO session_search_fts (session_search_fts) VALUES ('rebuild')`.execute(db);
    // The side table follows sessions; the FTS index follows the side table.
    await sql.raw(`CREATE TRIGGER sessions_search_ai AFTER INSERT ON sessions BEGIN INSERT INTO session_search (session_id, meta) VALUES (new.id, ${meta('new.')}); END`).execute(db);
    await sql.raw(`CREATE TRIGGER sessions_search_au AFTER UPDATE OF id, username, secret_name, target_host, target_user, client_address ON sessions BEGIN
      UPDATE session_search SET session_id = new.id, meta = ${meta('new.')} WHERE session_id = old.id; END`).execute(db);
    await sql`CREATE TRIGGER sessions_search_ad AFTER DELETE ON sessions BEGIN DELETE FROM session_search WHERE session_id = old.id; END`.execute(db);
    await sql`CREATE TRIGGER session_search_ai AFTER INSERT ON session_search BEGIN INSERT INTO session_search_fts (rowid, meta) VALUES (new.rid, new.meta); END`.execute(db);
    await sql`CREATE TRIGGER session_search_ad AFTER DELETE ON session_search BEGIN INSERT INTO session_search_fts (session_search_fts, rowid, meta) VALUES ('delete', old.rid, old.meta); END`.execute(db);
    await sql`CREATE TRIGGER session_search_au AFTER UPDATE ON session_search BEGIN
      INSERT INTO session_search_fts (session_search_fts, rowid, meta) VALUES ('delete', old.rid, old.meta);
      INSERT INTO session_search_fts (rowid, meta) VALUES (new.rid, new.meta); END`.execute(db);
  } else {
    await sql`CREATE EXTENSION IF NOT EXISTS pg_trgm`.execute(db);
    // `||` and coalesce are immutable, concat_ws is not, hence the longhand. Queries repeat this
    // expression verbatim (src/core/search/search-sql.ts, metadataIndexed) for the planner to use it.
    await sql`CREATE INDEX sessions_search_meta_trgm ON sessions USING gin ((username || chr(1) || coalesce(secret_name, '') || chr(1) || target_host || chr(1) || target_user || chr(1) || coalesce(client_address, '')) gin_trgm_ops)`.execute(db);
    await sql`ANALYZE sessions`.execute(db);
  }
}
