import type { Kysely } from 'kysely';
import type { Dialect } from '../store.ts';

/**
 * `sessions.target_source_address` / `target_source_port`: the local end of the SSH proxy's
 * connection to the target. The target's sshd sees it as the client (SSH_CLIENT), so a host
 * agent's login report names the proxied session it belongs to exactly, even when several run
 * to the same host and user at once.
 */
export async function sessionLinks(db: Kysely<any>, _dialect: Dialect): Promise<void> { // eslint-disable-line @typescript-eslint/no-explicit-any
  await db.schema.alterTable('sessions').addColumn('target_source_address', 'text').execute();
  await db.schema.alterTable('sessions').addColumn('target_source_port', 'integer').execute();
}
