import type { Kysely } from 'kysely';
import type { Dialect } from '../store.ts';

/**
 * Per session and source: how many events arrived and the highest sequence number, updated in the
 * batch's transaction, so the ingest ack knows "no gaps" without counting the session's events.
 */
export async function ingestCursors(db: Kysely<any>, _dialect: Dialect): Promise<void> { // eslint-disable-line @typescript-eslint/no-explicit-any
  await db.schema
    .createTable('event_cursors')
    .addColumn('session_id', 'text', (c) => c.notNull().references('sessions.id').onDelete('cascade'))
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('received', 'bigint', (c) => c.notNull())
    .addColumn('max_seq', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('event_cursors_pk', ['session_id', 'source'])
    .execute();
}
