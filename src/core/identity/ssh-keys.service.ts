import type { Store } from '../../adapters/store/store.ts';
import type { SshKeyView } from '../../protocol/identity.ts';
import type { Clock } from '../clock.ts';
import { ConflictError, NotFoundError, ValidationError } from '../errors.ts';
import { newId } from '../ids.ts';
import { isUniqueViolation } from '../store-errors.ts';

export type PublicKeyParser = (line: string) => { algorithm: string; publicKey: string; fingerprint: string; comment: string };

/** SSH public keys per user, used by the SSH proxy for public-key authentication. */
export class SshKeysService {
  constructor(private readonly store: Store, private readonly clock: Clock, private readonly parse: PublicKeyParser) {}

  async add(userId: string, publicKey: string, name: string | undefined): Promise<SshKeyView> {
    const user = await this.store.db.selectFrom('users').select('id').where('id', '=', userId).executeTakeFirst();
    if (!user) throw new NotFoundError('user');
    let parsed;
    try {
      parsed = this.parse(publicKey);
    } catch (err) {
      throw new ValidationError(`publicKey: ${(err as Error).message}`, 'publicKey');
    }
    const row = { id: newId(), user_id: userId, name: name || parsed.comment || parsed.algorithm, algorithm: parsed.algorithm, public_key: parsed.publicKey, fingerprint: parsed.fingerprint, created_at: this.clock.now() };
    try {
      await this.store.db.insertInto('ssh_keys').values(row).execute();
    } catch (err) {
      if (isUniqueViolation(err)) throw new ConflictError('this key is already registered', 'publicKey');
      throw err;
    }
    return { id: row.id, name: row.name, algorithm: row.algorithm, fingerprint: row.fingerprint, createdAt: row.created_at };
  }

  async list(userId: string): Promise<SshKeyView[]> {
    const rows = await this.store.db.selectFrom('ssh_keys').selectAll().where('user_id', '=', userId).orderBy('created_at').execute();
    return rows.map((r) => ({ id: r.id, name: r.name, algorithm: r.algorithm, fingerprint: r.fingerprint, createdAt: Number(r.created_at) }));
  }

  async remove(userId: string, keyId: string): Promise<void> {
    const res = await this.store.db.deleteFrom('ssh_keys').where('id', '=', keyId).where('user_id', '=', userId).executeTakeFirst();
    if (Number(res.numDeletedRows) === 0) throw new NotFoundError('SSH key');
  }

  /** The user's keys as canonical `type base64` lines, for the proxy's public-key check. */
  async keysOf(userId: string): Promise<Array<{ id: string; publicKey: string; fingerprint: string }>> {
    return this.store.db.selectFrom('ssh_keys').select(['id', 'public_key as publicKey', 'fingerprint']).where('user_id', '=', userId).execute();
  }
}
