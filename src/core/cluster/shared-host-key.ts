import fs from 'node:fs';
import path from 'node:path';
import type { Store } from '../../adapters/store/store.ts';
import { HOST_KEY_FILE, loadOrCreateHostKey, type ProxyHostKey } from '../../ssh-proxy/host-key.ts';
import type { Clock } from '../clock.ts';
import { decryptCredential, encryptCredential } from '../secrets/secret-cipher.ts';

const NAME = 'ssh-host-key';
// Associated data for the cipher: this ciphertext opens only as the proxy host key.
const AAD_ID = 'system:ssh-host-key';

/**
 * One SSH host key for the whole cluster, so a client that pinned it may be sent to any node.
 * The key lives in the shared database, encrypted with the master key; each node keeps a copy in
 * its data dir (where the proxy reads it). The first node to start contributes its key (an
 * existing single node's key, so its clients keep trusting it); later nodes adopt the stored one.
 */
export async function syncClusterHostKey(store: Store, masterKey: Buffer, dataDir: string, clock: Clock, log: (msg: string) => void): Promise<ProxyHostKey> {
  const local = loadOrCreateHostKey(dataDir);
  await store.db
    .insertInto('system_meta')
    .values({ name: NAME, value: encryptCredential(masterKey, AAD_ID, { type: 'private-key', value: local.privateKey }), created_at: clock.now() })
    .onConflict((oc) => oc.column('name').doNothing())
    .execute();
  const row = await store.db.selectFrom('system_meta').select('value').where('name', '=', NAME).executeTakeFirstOrThrow();
  const shared = decryptCredential(masterKey, AAD_ID, row.value).value;
  if (shared === local.privateKey) return local;
  const file = path.join(dataDir, HOST_KEY_FILE);
  // Replace atomically: a crash leaves either the old key or the cluster's, never half a file.
  fs.writeFileSync(`${file}.tmp`, shared, { mode: 0o600 });
  fs.renameSync(`${file}.tmp`, file);
  const adopted = loadOrCreateHostKey(dataDir);
  fs.writeFileSync(`${file}.pub`, `${adopted.publicKey} vigil-ssh-proxy\n`, { mode: 0o644 });
  log(`this node adopted the cluster's SSH host key ${adopted.fingerprint} (its own was ${local.fingerprint})`);
  return adopted;
}
