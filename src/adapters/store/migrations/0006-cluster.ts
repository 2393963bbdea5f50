import type { Kysely } from 'kysely';
import type { Dialect } from '../store.ts';

/**
 * Cluster membership and node-independent facts:
 * - `cluster_nodes`: every server process announces itself and beats every few seconds; the
 *   sessions a node holds in-process (SSH proxy) are marked interrupted by a surviving node when
 *   its beats stop.
 * - `system_meta`: small named values shared by every node (the master-key check).
 */
export async function cluster(db: Kysely<any>, _dialect: Dialect): Promise<void> { // eslint-disable-line @typescript-eslint/no-explicit-any
  await db.schema
    .createTable('cluster_nodes')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('hostname', 'text', (c) => c.notNull())
    .addColumn('pid', 'integer', (c) => c.notNull())
    .addColumn('roles', 'text', (c) => c.notNull())
    .addColumn('version', 'text', (c) => c.notNull())
    .addColumn('http_url', 'text')
    .addColumn('ssh_port', 'integer')
    .addColumn('started_at', 'bigint', (c) => c.notNull())
    .addColumn('last_seen_at', 'bigint', (c) => c.notNull())
    .addColumn('stopped_at', 'bigint')
    .execute();
  await db.schema.createIndex('sessions_node_active').on('sessions').columns(['node_id', 'status']).execute();
  await db.schema
    .createTable('system_meta')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('value', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
}
