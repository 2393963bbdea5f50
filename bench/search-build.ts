import fs from 'node:fs';
import path from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import pg from 'pg';
import { openPostgresStore } from '../src/adapters/store/postgres/postgres-store.ts';
import { openSqliteStore } from '../src/adapters/store/sqlite/sqlite-store.ts';
import { fillSessionTextSql } from '../src/core/search/session-text.ts';
import { catalog, generateEvents, generateSessions, type CorpusSize, type EventRow, type SessionRow } from './search-corpus.ts';

/**
 * Builds the search corpus once per size and caches it: a SQLite file under /tmp and a PostgreSQL
 * database. The schema comes from the real migrations; for speed the bulk load drops the
 * activity_events indexes (and the FTS insert trigger) and replays their exact DDL afterwards,
 * read back from the catalog, so the measured database has exactly the production indexes.
 */

export interface Built {
  sizeLabel: string;
  buildMs: number;
  reused: boolean;
  location: string;
}

const SESSION_DEFAULTS = {
  node_id: null,
  last_heartbeat_at: 0,
  end_reason: null,
  ended_by: null,
  record_video: 1,
  record_keystrokes: 1,
  media: null,
  recording_state: 'complete',
  storage: 'database',
  chunk_count: 0,
  bytes: 0,
  chain_head: null,
  processing_state: null,
  processing_progress: null,
  processing_error: null,
  archived_at: null,
  deleted_at: null,
};

const SESSION_COLS = ['id', 'kind', 'status', 'user_id', 'username', 'secret_id', 'secret_name', 'target_host', 'target_user', 'client_address', 'component', 'started_at', 'ended_at', 'duration_ms', 'last_activity_at', ...Object.keys(SESSION_DEFAULTS)];

function sessionValues(s: SessionRow): unknown[] {
  const row: Record<string, unknown> = { ...s, last_activity_at: s.ended_at ?? s.started_at, ...SESSION_DEFAULTS, last_heartbeat_at: s.ended_at ?? s.started_at };
  return SESSION_COLS.map((c) => row[c]);
}

export function sizeLabel(size: CorpusSize): string {
  const f = (n: number) => (n >= 1e6 && n % 1e5 === 0 ? `${n / 1e6}M` : n >= 1e3 && n % 100 === 0 ? `${n / 1e3}k` : String(n));
  return `${f(size.sessions)}-sessions-${f(size.events)}-events`;
}

const log = (msg: string) => process.stderr.write(`[search bench] ${msg}\n`);

export async function buildSqlite(size: CorpusSize, dir: string): Promise<Built> {
  const label = sizeLabel(size);
  const file = path.join(dir, `search-${label}.sqlite`);
  fs.mkdirSync(dir, { recursive: true });
  if (fs.existsSync(file)) {
    const db = new SqliteDatabase(file, { readonly: true });
    const done = db.prepare(`SELECT value FROM sqlite_master m, bench_meta b WHERE m.name = 'bench_meta' AND b.key = 'build_ms'`).get() as { value: string } | undefined;
    db.close();
    if (done) return { sizeLabel: label, buildMs: Number(done.value), reused: true, location: file };
    for (const f of [file, `${file}-wal`, `${file}-shm`]) fs.rmSync(f, { force: true });
  }
  const t0 = Date.now();
  const store = await openSqliteStore(file);
  await store.close();
  const db = new SqliteDatabase(file);
  db.pragma('journal_mode = DELETE');
  db.pragma('journal_mode = OFF');
  db.pragma('synchronous = OFF');
  db.pragma('cache_size = -1000000');
  const ddl = db.prepare(`SELECT type, name, sql FROM sqlite_master WHERE tbl_name = 'activity_events' AND sql IS NOT NULL AND type IN ('index', 'trigger')`).all() as Array<{ type: string; name: string; sql: string }>;
  for (const d of ddl) db.exec(`DROP ${d.type === 'index' ? 'INDEX' : 'TRIGGER'} ${d.name}`);

  const cat = catalog();
  const sessions = generateSessions(size, cat);
  const insS = db.prepare(`INSERT INTO sessions (${SESSION_COLS.join(', ')}) VALUES (${SESSION_COLS.map(() => '?').join(', ')})`);
  db.transaction(() => {
    for (const s of sessions) insS.run(...sessionValues(s));
  })();
  const insE = db.prepare('INSERT INTO activity_events (id, session_id, source, seq, at_ms, type, text, details) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
  const insertBatches = db.transaction((batches: EventRow[][]) => {
    for (const b of batches) for (const e of b) insE.run(e.id, e.session_id, e.source, e.seq, e.at_ms, e.type, e.text, e.details);
  });
  let pending: EventRow[][] = [];
  let n = 0;
  let lastLog = Date.now();
  for (const batch of generateEvents(size, sessions)) {
    pending.push(batch);
    n += batch.length;
    if (pending.length >= 400) {
      insertBatches(pending);
      pending = [];
    }
    if (Date.now() - lastLog > 30_000) {
      log(`sqlite: ${n.toLocaleString('en')} events (${Math.round((Date.now() - t0) / 1000)} s)`);
      lastLog = Date.now();
    }
  }
  insertBatches(pending);
  log(`sqlite: ${n.toLocaleString('en')} events loaded in ${Math.round((Date.now() - t0) / 1000)} s; building indexes and the FTS index`);
  for (const d of ddl) db.exec(d.sql);
  db.exec(`INSERT INTO activity_fts(activity_fts) VALUES ('rebuild')`);
  db.exec(fillSessionTextSql('sqlite'));
  db.exec('ANALYZE');
  const buildMs = Date.now() - t0;
  db.exec(`CREATE TABLE bench_meta (key TEXT PRIMARY KEY, value TEXT); INSERT INTO bench_meta VALUES ('build_ms', '${buildMs}'), ('events', '${n}')`);
  db.pragma('journal_mode = WAL');
  db.close();
  log(`sqlite: built in ${Math.round(buildMs / 1000)} s (${(fs.statSync(file).size / 2 ** 30).toFixed(2)} GiB)`);
  return { sizeLabel: label, buildMs, reused: false, location: file };
}

export async function buildPostgres(size: CorpusSize, adminUrl: string, dbName: string): Promise<Built> {
  const label = sizeLabel(size);
  const url = new URL(adminUrl);
  url.pathname = `/${dbName}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  const exists = (await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [dbName])).rowCount === 1;
  if (exists) {
    const c = new pg.Client({ connectionString: url.toString() });
    await c.connect();
    const done = await c.query(`SELECT value FROM bench_meta WHERE key = 'build_ms'`).catch(() => null);
    await c.end();
    if (done && done.rowCount === 1) {
      await admin.end();
      return { sizeLabel: label, buildMs: Number((done.rows[0] as { value: string }).value), reused: true, location: dbName };
    }
    await admin.query(`DROP DATABASE ${dbName} WITH (FORCE)`);
  }
  await admin.query(`CREATE DATABASE ${dbName}`);
  await admin.end();

  const t0 = Date.now();
  const store = await openPostgresStore(url.toString());
  await store.close();
  const c = new pg.Client({ connectionString: url.toString() });
  await c.connect();
  // Bulk-load settings for this connection only; the server's configuration is left alone.
  await c.query(`SET session_replication_role = replica; SET synchronous_commit = off; SET maintenance_work_mem = '2GB'`);
  const idx = (await c.query(`SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'activity_events' AND indexname <> 'activity_events_pkey'`)).rows as Array<{ indexname: string; indexdef: string }>;
  for (const i of idx) await c.query(`DROP INDEX ${i.indexname}`);

  const cat = catalog();
  const sessions = generateSessions(size, cat);
  for (let i = 0; i < sessions.length; i += 5000) {
    const rows = sessions.slice(i, i + 5000).map(sessionValues);
    const cols = SESSION_COLS.map((_, j) => rows.map((r) => r[j]));
    const types = SESSION_COLS.map((col) => (['started_at', 'ended_at', 'duration_ms', 'last_activity_at', 'last_heartbeat_at', 'bytes', 'archived_at', 'deleted_at'].includes(col) ? 'bigint' : ['record_video', 'record_keystrokes', 'chunk_count'].includes(col) ? 'int' : col === 'processing_progress' ? 'real' : 'text'));
    await c.query(`INSERT INTO sessions (${SESSION_COLS.join(', ')}) SELECT * FROM unnest(${types.map((t, j) => `$${j + 1}::${t}[]`).join(', ')})`, cols);
  }

  const insert = (rows: EventRow[]) =>
    c.query(
      'INSERT INTO activity_events (id, session_id, source, seq, at_ms, type, text, details) SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::int[], $5::bigint[], $6::text[], $7::text[], $8::text[])',
      [rows.map((e) => e.id), rows.map((e) => e.session_id), rows.map((e) => e.source), rows.map((e) => e.seq), rows.map((e) => e.at_ms), rows.map((e) => e.type), rows.map((e) => e.text), rows.map((e) => e.details)],
    );
  let pending: EventRow[] = [];
  let inflight: Promise<unknown> = Promise.resolve();
  let n = 0;
  let maxId = 0;
  let lastLog = Date.now();
  for (const batch of generateEvents(size, sessions)) {
    for (const e of batch) pending.push(e);
    n += batch.length;
    maxId = batch[batch.length - 1]?.id ?? maxId;
    if (pending.length >= 20_000) {
      await inflight;
      inflight = insert(pending);
      pending = [];
    }
    if (Date.now() - lastLog > 30_000) {
      log(`postgres: ${n.toLocaleString('en')} events (${Math.round((Date.now() - t0) / 1000)} s)`);
      lastLog = Date.now();
    }
  }
  await inflight;
  if (pending.length > 0) await insert(pending);
  log(`postgres: ${n.toLocaleString('en')} events loaded in ${Math.round((Date.now() - t0) / 1000)} s; building indexes`);
  for (const i of idx) {
    const t = Date.now();
    await c.query(i.indexdef);
    log(`postgres: ${i.indexname} built in ${Math.round((Date.now() - t) / 1000)} s`);
  }
  await c.query(fillSessionTextSql('postgres'));
  await c.query(`SELECT setval(pg_get_serial_sequence('activity_events', 'id'), $1)`, [maxId]);
  await c.query('VACUUM ANALYZE sessions');
  await c.query('VACUUM ANALYZE activity_events');
  await c.query('VACUUM ANALYZE session_text');
  const buildMs = Date.now() - t0;
  await c.query(`CREATE TABLE bench_meta (key text PRIMARY KEY, value text)`);
  await c.query(`INSERT INTO bench_meta VALUES ('build_ms', $1), ('events', $2)`, [String(buildMs), String(n)]);
  const sz = (await c.query(`SELECT pg_database_size(current_database()) AS b`)).rows[0] as { b: string };
  await c.end();
  log(`postgres: built in ${Math.round(buildMs / 1000)} s (${(Number(sz.b) / 2 ** 30).toFixed(2)} GiB)`);
  return { sizeLabel: label, buildMs, reused: false, location: dbName };
}
