import { sql, type Kysely } from 'kysely';
import type { Dialect } from '../store.ts';

/** Sessions, grants, recording chunks and files, blobs, activity events with a substring index, leases. */
export async function recording(db: Kysely<any>, dialect: Dialect): Promise<void> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const ts = 'bigint';
  const blob = dialect === 'postgres' ? 'bytea' : 'blob';

  await db.schema
    .createTable('sessions')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('user_id', 'text')
    .addColumn('username', 'text', (c) => c.notNull())
    .addColumn('secret_id', 'text')
    .addColumn('secret_name', 'text')
    .addColumn('target_host', 'text', (c) => c.notNull())
    .addColumn('target_user', 'text', (c) => c.notNull())
    .addColumn('client_address', 'text')
    .addColumn('component', 'text', (c) => c.notNull())
    .addColumn('node_id', 'text')
    .addColumn('started_at', ts, (c) => c.notNull())
    .addColumn('ended_at', ts)
    .addColumn('last_activity_at', ts, (c) => c.notNull())
    .addColumn('last_heartbeat_at', ts, (c) => c.notNull())
    .addColumn('end_reason', 'text')
    .addColumn('ended_by', 'text')
    .addColumn('record_video', 'integer', (c) => c.notNull())
    .addColumn('record_keystrokes', 'integer', (c) => c.notNull())
    .addColumn('media', 'text')
    .addColumn('recording_state', 'text', (c) => c.notNull())
    .addColumn('storage', 'text', (c) => c.notNull())
    .addColumn('chunk_count', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('bytes', ts, (c) => c.notNull().defaultTo(0))
    .addColumn('chain_head', 'text')
    .addColumn('duration_ms', ts)
    .addColumn('processing_state', 'text')
    .addColumn('processing_progress', 'real')
    .addColumn('processing_error', 'text')
    .addColumn('archived_at', ts)
    .addColumn('deleted_at', ts)
    .execute();
  await db.schema.createIndex('sessions_started').on('sessions').columns(['started_at', 'id']).execute();
  await db.schema.createIndex('sessions_status').on('sessions').columns(['status', 'last_heartbeat_at']).execute();
  await db.schema.createIndex('sessions_user').on('sessions').columns(['user_id', 'started_at']).execute();
  await db.schema.createIndex('sessions_secret').on('sessions').columns(['secret_id', 'started_at']).execute();
  await db.schema.createIndex('sessions_storage').on('sessions').columns(['storage', 'ended_at']).execute();

  await db.schema
    .createTable('session_grants')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('session_id', 'text', (c) => c.notNull().references('sessions.id').onDelete('cascade'))
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('token_hash', 'text', (c) => c.notNull().unique())
    .addColumn('created_at', ts, (c) => c.notNull())
    .addColumn('expires_at', ts, (c) => c.notNull())
    .addColumn('used_at', ts)
    .addColumn('revoked_at', ts)
    .execute();

  await db.schema
    .createTable('recording_chunks')
    .addColumn('session_id', 'text', (c) => c.notNull().references('sessions.id').onDelete('cascade'))
    .addColumn('seq', 'integer', (c) => c.notNull())
    .addColumn('size', 'integer', (c) => c.notNull())
    .addColumn('sha256', 'text', (c) => c.notNull())
    .addColumn('chain', 'text')
    .addColumn('location', 'text', (c) => c.notNull())
    .addColumn('blob_key', 'text', (c) => c.notNull())
    .addColumn('created_at', ts, (c) => c.notNull())
    .addPrimaryKeyConstraint('recording_chunks_pk', ['session_id', 'seq'])
    .execute();

  await db.schema
    .createTable('recording_files')
    .addColumn('session_id', 'text', (c) => c.notNull().references('sessions.id').onDelete('cascade'))
    .addColumn('format', 'text', (c) => c.notNull())
    .addColumn('location', 'text', (c) => c.notNull())
    .addColumn('blob_key', 'text', (c) => c.notNull())
    .addColumn('size', ts, (c) => c.notNull())
    .addColumn('sha256', 'text', (c) => c.notNull())
    .addColumn('created_at', ts, (c) => c.notNull())
    .addPrimaryKeyConstraint('recording_files_pk', ['session_id', 'format'])
    .execute();

  await db.schema
    .createTable('blobs')
    .addColumn('key', 'text', (c) => c.primaryKey())
    .addColumn('data', blob, (c) => c.notNull())
    .execute();

  const serial = dialect === 'postgres' ? 'bigserial' : 'integer';
  await db.schema
    .createTable('activity_events')
    .addColumn('id', serial, (c) => (dialect === 'sqlite' ? c.primaryKey().autoIncrement() : c.primaryKey()))
    .addColumn('session_id', 'text', (c) => c.notNull().references('sessions.id').onDelete('cascade'))
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('seq', 'integer', (c) => c.notNull())
    .addColumn('at_ms', ts, (c) => c.notNull())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('text', 'text', (c) => c.notNull())
    .addColumn('details', 'text')
    .execute();
  await db.schema.createIndex('activity_events_seq').unique().on('activity_events').columns(['session_id', 'source', 'seq']).execute();
  await db.schema.createIndex('activity_events_at').on('activity_events').columns(['session_id', 'at_ms']).execute();

  // Case-insensitive substring search: FTS5 trigram on SQLite, pg_trgm GIN on PostgreSQL.
  if (dialect === 'sqlite') {
    await sql`CREATE VIRTUAL TABLE activity_fts USING fts5(text, content='activity_events', content_rowid='id', tokenize='trigram case_sensitive 0')`.execute(db);
    await sql`CREATE TRIGGER activity_events_ai AFTER INSERT ON activity_events BEGIN INSERT INTO activity_fts(rowid, text) VALUES (new.id, new.text); END`.execute(db);
    await sql`CREATE TRIGGER activity_events_ad AFTER DELETE ON activity_events BEGIN INSERT INTO activity_fts(activity_fts, rowid, text) VALUES ('delete', old.id, old.text); END`.execute(db);
  } else {
    await sql`CREATE EXTENSION IF NOT EXISTS pg_trgm`.execute(db);
    await sql`CREATE INDEX activity_events_text_trgm ON activity_events USING gin (text gin_trgm_ops)`.execute(db);
  }

  await db.schema
    .createTable('leases')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('holder', 'text', (c) => c.notNull())
    .addColumn('expires_at', ts, (c) => c.notNull())
    .execute();
}
