import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Store } from '../../adapters/store/store.ts';
import type { Clock } from '../clock.ts';

const NAME = 'master-key-check';

/**
 * Every node of a cluster must encrypt and decrypt secrets with the same master key. The first
 * node to start records an HMAC of a constant under its key; a node whose key gives another value
 * refuses to start, instead of failing later on every credential hand-out (or worse, writing
 * secrets no other node can read). The value reveals nothing about the key.
 */
export async function checkMasterKey(store: Store, masterKey: Buffer, clock: Clock): Promise<void> {
  const mine = createHmac('sha256', masterKey).update('vigil master key check v1').digest('hex');
  await store.db
    .insertInto('system_meta')
    .values({ name: NAME, value: mine, created_at: clock.now() })
    .onConflict((oc) => oc.column('name').doNothing())
    .execute();
  const row = await store.db.selectFrom('system_meta').select('value').where('name', '=', NAME).executeTakeFirstOrThrow();
  const a = Buffer.from(row.value, 'hex');
  const b = Buffer.from(mine, 'hex');
  if (a.length !== b.length || !timingSafeEqual(a, b)) {
    throw new Error('the master key (VIGIL_MASTER_KEY, or master.key in the data directory) is not the key this database\'s secrets are encrypted with; every node must use the same key');
  }
}
