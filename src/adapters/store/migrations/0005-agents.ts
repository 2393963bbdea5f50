import type { Kysely } from 'kysely';
import type { Dialect } from '../store.ts';

/**
 * Host agents: one-time enrollment tokens, the agents with their own credential (hash only) and
 * last heartbeat, and the logins they reported with the session each one joined.
 */
export async function agents(db: Kysely<any>, _dialect: Dialect): Promise<void> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const ts = 'bigint';
  await db.schema
    .createTable('agent_enrollment_tokens')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('token_hash', 'text', (c) => c.notNull().unique())
    .addColumn('created_by', 'text')
    .addColumn('created_at', ts, (c) => c.notNull())
    .addColumn('expires_at', ts, (c) => c.notNull())
    .addColumn('used_at', ts)
    .addColumn('agent_id', 'text')
    .execute();

  await db.schema
    .createTable('agents')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('host_name', 'text', (c) => c.notNull())
    .addColumn('version', 'text', (c) => c.notNull())
    .addColumn('credential_hash', 'text', (c) => c.notNull().unique())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('status', 'text')
    .addColumn('addresses', 'text')
    .addColumn('enrolled_at', ts, (c) => c.notNull())
    .addColumn('last_seen_at', ts, (c) => c.notNull())
    .addColumn('deactivated_at', ts)
    .addColumn('deactivated_by', 'text')
    .execute();
  await db.schema.createIndex('agents_host').on('agents').columns(['host_name']).execute();

  await db.schema
    .createTable('agent_logins')
    .addColumn('agent_id', 'text', (c) => c.notNull().references('agents.id').onDelete('cascade'))
    .addColumn('login_key', 'text', (c) => c.notNull())
    .addColumn('session_id', 'text', (c) => c.references('sessions.id').onDelete('cascade'))
    .addColumn('held', 'integer', (c) => c.notNull())
    .addColumn('user_name', 'text', (c) => c.notNull())
    .addColumn('tty', 'text')
    .addColumn('remote_address', 'text')
    .addColumn('created_at', ts, (c) => c.notNull())
    .addColumn('ended_at', ts)
    .addPrimaryKeyConstraint('agent_logins_pk', ['agent_id', 'login_key'])
    .execute();
  await db.schema.createIndex('agent_logins_session').on('agent_logins').columns(['session_id']).execute();
}
