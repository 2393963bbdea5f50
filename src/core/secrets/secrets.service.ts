import type { Kysely, Transaction } from 'kysely';
import type { Database, SecretsTable } from '../../adapters/store/schema.ts';
import type { Store } from '../../adapters/store/store.ts';
import type { CreateSecretRequest, Launcher, SecretView, UpdateSecretRequest } from '../../protocol/secrets.ts';
import type { Clock } from '../clock.ts';
import { ConflictError, NotFoundError, ValidationError } from '../errors.ts';
import { newId } from '../ids.ts';
import type { Principal } from '../permissions.ts';
import { isUniqueViolation } from '../store-errors.ts';
import { hostKeyFingerprint, normaliseHostKey } from './host-key.ts';
import { decryptCredential, encryptCredential, type Credential } from './secret-cipher.ts';

/** Throws an Error with a readable message (never containing the key) when the key does not parse. */
export type PrivateKeyValidator = (pem: string, passphrase?: string) => void;

export type SecretViewer = Pick<Principal, 'userId' | 'roleIds' | 'permissions'>;
export type Launchee = Pick<Principal, 'userId' | 'roleIds'>;

type Grants = { users: string[]; roles: string[] };
type Db = Kysely<Database> | Transaction<Database>;

/**
 * Secrets: a target plus the credential Vigil uses to reach it. The credential is encrypted with
 * the master key (secret id as associated data) and leaves this service only through
 * `revealCredential`, for the SSH proxy and launch grants; no view ever carries it.
 */
export class SecretsService {
  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly masterKey: Buffer,
    private readonly validatePrivateKey: PrivateKeyValidator,
  ) {}

  /** Administrators of secrets see every secret; everyone else the secrets they may launch. */
  async list(principal: SecretViewer): Promise<SecretView[]> {
    const admin = principal.permissions.has('secrets.administer');
    let query = this.store.db.selectFrom('secrets').selectAll().orderBy('name');
    if (!admin) query = query.where('id', 'in', this.grantsFor(principal));
    const rows = await query.execute();
    const grants = await this.grantsOf(rows.map((r) => r.id));
    return rows.map((r) => this.view(r, this.visibleGrants(principal, grants.get(r.id))));
  }

  /** Same rule as `list`; a secret the caller may not see is "not found", so its name stays private. */
  async get(principal: SecretViewer, id: string): Promise<SecretView> {
    const row = await this.row(id);
    if (!principal.permissions.has('secrets.administer') && !(await this.canLaunch(principal, id))) throw new NotFoundError('secret');
    return this.view(row, this.visibleGrants(principal, (await this.grantsOf([id])).get(id)));
  }

  async byName(name: string): Promise<SecretView | undefined> {
    const row = await this.store.db.selectFrom('secrets').selectAll().where('name', '=', name).executeTakeFirst();
    return row && this.view(row, (await this.grantsOf([row.id])).get(row.id));
  }

  /** Granted to the user directly or to one of their roles. Holding `secrets.administer` is not enough. */
  async canLaunch(principal: Launchee, secretId: string): Promise<boolean> {
    const hit = await this.grantsFor(principal).where('secret_access.secret_id', '=', secretId).executeTakeFirst();
    return hit !== undefined;
  }

  async create(input: CreateSecretRequest): Promise<SecretView> {
    const id = newId();
    const now = this.clock.now();
    let credential: Credential | null = null;
    if (input.privateKey !== undefined) {
      this.checkPrivateKey(input.privateKey, input.passphrase);
      credential = { type: 'private-key', value: input.privateKey, ...(input.passphrase !== undefined ? { passphrase: input.passphrase } : {}) };
    } else if (input.password !== undefined) {
      credential = { type: 'password', value: input.password };
    }
    try {
      await this.store.db.transaction().execute(async (tx) => {
        await this.assertPrincipalsExist(tx, input.access);
        await tx
          .insertInto('secrets')
          .values({
            id,
            name: input.name,
            kind: input.kind,
            host: input.host,
            port: input.port,
            username: input.username,
            credential_type: credential?.type ?? null,
            credential_enc: credential ? encryptCredential(this.masterKey, id, credential) : null,
            launcher: input.launcher ? JSON.stringify(input.launcher) : null,
            record_video: input.recording.video ? 1 : 0,
            record_keystrokes: input.recording.keystrokes ? 1 : 0,
            host_key: null,
            created_at: now,
            updated_at: now,
          })
          .execute();
        await this.writeGrants(tx, id, 'user', input.access.users);
        await this.writeGrants(tx, id, 'role', input.access.roles);
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw new ConflictError(`a secret named "${input.name}" already exists`, 'name');
      throw err;
    }
    return this.adminView(id);
  }

  /** Applies a partial change; `changed` names the fields that really changed (for the audit log). */
  async update(id: string, input: UpdateSecretRequest): Promise<{ secret: SecretView; changed: string[] }> {
    const row = await this.row(id);
    const current = await this.grantsOf([id]).then((g) => g.get(id) ?? { users: [], roles: [] });
    const changed = new Set<string>();
    const set: Partial<SecretsTable> = {};

    for (const field of ['name', 'kind', 'host', 'port', 'username'] as const) {
      const value = input[field];
      if (value !== undefined && value !== row[field]) {
        Object.assign(set, { [field]: value });
        changed.add(field);
      }
    }
    const kind = input.kind ?? row.kind;

    // Launcher: desktop only. Turning a secret into an SSH secret drops its launcher.
    const oldLauncher = row.launcher ? (JSON.parse(row.launcher) as Launcher) : null;
    let newLauncher = input.launcher !== undefined ? input.launcher : oldLauncher;
    if (kind === 'ssh') {
      if (input.launcher) throw new ValidationError('launcher: only desktop secrets have a launcher', 'launcher');
      newLauncher = null;
    } else if (!newLauncher) {
      newLauncher = { type: 'rdp' };
    }
    if (JSON.stringify(newLauncher) !== JSON.stringify(oldLauncher)) {
      set.launcher = newLauncher ? JSON.stringify(newLauncher) : null;
      changed.add('launcher');
    }

    // Credential: one slot. A string replaces it; null clears it when it is of that type.
    if (typeof input.privateKey === 'string') {
      this.checkPrivateKey(input.privateKey, input.passphrase);
      const cred: Credential = { type: 'private-key', value: input.privateKey, ...(input.passphrase !== undefined ? { passphrase: input.passphrase } : {}) };
      Object.assign(set, { credential_type: cred.type, credential_enc: encryptCredential(this.masterKey, id, cred) });
      changed.add('privateKey');
      if (input.passphrase !== undefined) changed.add('passphrase');
      if (row.credential_type === 'password') changed.add('password');
    } else if (typeof input.password === 'string') {
      Object.assign(set, { credential_type: 'password', credential_enc: encryptCredential(this.masterKey, id, { type: 'password', value: input.password }) });
      changed.add('password');
      if (row.credential_type === 'private-key') changed.add('privateKey');
    } else if ((input.password === null && row.credential_type === 'password') || (input.privateKey === null && row.credential_type === 'private-key')) {
      Object.assign(set, { credential_type: null, credential_enc: null });
      changed.add(row.credential_type === 'password' ? 'password' : 'privateKey');
    }

    if (input.recording) {
      const video = input.recording.video !== undefined ? (input.recording.video ? 1 : 0) : row.record_video;
      const keys = input.recording.keystrokes !== undefined ? (input.recording.keystrokes ? 1 : 0) : row.record_keystrokes;
      if (video !== row.record_video || keys !== row.record_keystrokes) {
        Object.assign(set, { record_video: video, record_keystrokes: keys });
        changed.add('recording');
      }
    }

    // The pinned host key belongs to host:port; a new target must be pinned afresh.
    if (input.hostKey !== undefined) {
      let pinned: string | null = null;
      if (input.hostKey !== null) {
        try {
          pinned = normaliseHostKey(input.hostKey);
        } catch (err) {
          throw new ValidationError(`hostKey: ${(err as Error).message}`, 'hostKey');
        }
      }
      if (pinned !== row.host_key) {
        set.host_key = pinned;
        changed.add('hostKey');
      }
    } else if ((changed.has('host') || changed.has('port')) && row.host_key !== null) {
      set.host_key = null;
      changed.add('hostKey');
    }

    const users = input.access?.users !== undefined ? [...new Set(input.access.users)] : undefined;
    const roles = input.access?.roles !== undefined ? [...new Set(input.access.roles)] : undefined;
    const sameSet = (a: string[], b: string[]): boolean => a.length === b.length && a.every((x) => b.includes(x));
    if ((users && !sameSet(users, current.users)) || (roles && !sameSet(roles, current.roles))) changed.add('access');

    if (changed.size > 0) {
      try {
        await this.store.db.transaction().execute(async (tx) => {
          await this.assertPrincipalsExist(tx, { users: users ?? [], roles: roles ?? [] });
          await tx.updateTable('secrets').set({ ...set, updated_at: this.clock.now() }).where('id', '=', id).execute();
          if (users) {
            await tx.deleteFrom('secret_access').where('secret_id', '=', id).where('principal_type', '=', 'user').execute();
            await this.writeGrants(tx, id, 'user', users);
          }
          if (roles) {
            await tx.deleteFrom('secret_access').where('secret_id', '=', id).where('principal_type', '=', 'role').execute();
            await this.writeGrants(tx, id, 'role', roles);
          }
        });
      } catch (err) {
        if (isUniqueViolation(err)) throw new ConflictError(`a secret named "${input.name ?? row.name}" already exists`, 'name');
        throw err;
      }
    }
    return { secret: await this.adminView(id), changed: [...changed] };
  }

  /** Deletes the secret and its grants; returns what was deleted (for the audit log). */
  async remove(id: string): Promise<SecretView> {
    const secret = await this.adminView(id);
    await this.store.db.transaction().execute(async (tx) => {
      await tx.deleteFrom('secret_access').where('secret_id', '=', id).execute();
      await tx.deleteFrom('secrets').where('id', '=', id).execute();
    });
    return secret;
  }

  /**
   * The decrypted credential, for the component that connects to the target. Never return it
   * from a route or write it to a log. Null when the secret has none.
   */
  async revealCredential(secretId: string): Promise<Credential | null> {
    const row = await this.store.db.selectFrom('secrets').select(['credential_enc']).where('id', '=', secretId).executeTakeFirst();
    if (!row) throw new NotFoundError('secret');
    return row.credential_enc ? decryptCredential(this.masterKey, secretId, row.credential_enc) : null;
  }

  /**
   * Trust on first use: pins the target's host key unless one is pinned already, and returns the
   * fingerprint now pinned, which the caller compares with what the target presented. Replacing
   * a pinned key is an administrator's PATCH (`hostKey`).
   */
  async pinHostKey(secretId: string, hostKeyLineOrFingerprint: string): Promise<string> {
    let pinned: string;
    try {
      pinned = normaliseHostKey(hostKeyLineOrFingerprint);
    } catch (err) {
      throw new ValidationError(`hostKey: ${(err as Error).message}`, 'hostKey');
    }
    await this.store.db.updateTable('secrets').set({ host_key: pinned }).where('id', '=', secretId).where('host_key', 'is', null).execute();
    const row = await this.row(secretId);
    return hostKeyFingerprint(row.host_key ?? pinned);
  }

  private checkPrivateKey(pem: string, passphrase: string | undefined): void {
    try {
      this.validatePrivateKey(pem, passphrase);
    } catch (err) {
      // The validator's messages are fixed strings; never append anything from the key here.
      throw new ValidationError(`privateKey: ${err instanceof Error ? err.message : 'not a valid private key'}`, 'privateKey');
    }
  }

  private async row(id: string): Promise<SecretsTable> {
    const row = await this.store.db.selectFrom('secrets').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) throw new NotFoundError('secret');
    return row;
  }

  /** The view of a secret without a caller check, for server components acting on a session. */
  async adminView(id: string): Promise<SecretView> {
    const row = await this.row(id);
    return this.view(row, (await this.grantsOf([id])).get(id));
  }

  /** Subquery of the secret ids granted to the user or any of their roles. */
  private grantsFor(p: Launchee) {
    return this.store.db
      .selectFrom('secret_access')
      .select('secret_access.secret_id')
      .where((eb) =>
        eb.or([
          eb.and([eb('principal_type', '=', 'user'), eb('principal_id', '=', p.userId)]),
          ...(p.roleIds.length > 0 ? [eb.and([eb('principal_type', '=', 'role'), eb('principal_id', 'in', [...p.roleIds])])] : []),
        ]),
      );
  }

  private visibleGrants(p: SecretViewer, g: Grants | undefined): Grants {
    const grants = g ?? { users: [], roles: [] };
    if (p.permissions.has('secrets.administer')) return grants;
    return { users: grants.users.filter((u) => u === p.userId), roles: grants.roles.filter((r) => p.roleIds.includes(r)) };
  }

  private async grantsOf(ids: string[]): Promise<Map<string, Grants>> {
    const out = new Map<string, Grants>();
    if (ids.length === 0) return out;
    const rows = await this.store.db.selectFrom('secret_access').selectAll().where('secret_id', 'in', ids).orderBy('principal_id').execute();
    for (const r of rows) {
      const g = out.get(r.secret_id) ?? { users: [], roles: [] };
      (r.principal_type === 'user' ? g.users : g.roles).push(r.principal_id);
      out.set(r.secret_id, g);
    }
    return out;
  }

  private async assertPrincipalsExist(db: Db, access: Grants): Promise<void> {
    for (const [table, field] of [['users', 'users'], ['roles', 'roles']] as const) {
      const ids = [...new Set(access[field])];
      if (ids.length === 0) continue;
      const found = new Set((await db.selectFrom(table).select('id').where('id', 'in', ids).execute()).map((r) => r.id));
      const missing = ids.find((i) => !found.has(i));
      if (missing) throw new ValidationError(`access.${field}: no ${field === 'users' ? 'user' : 'role'} with id ${missing}`, `access.${field}`);
    }
  }

  private async writeGrants(db: Db, secretId: string, type: 'user' | 'role', ids: string[]): Promise<void> {
    const unique = [...new Set(ids)];
    if (unique.length === 0) return;
    await db.insertInto('secret_access').values(unique.map((principal_id) => ({ secret_id: secretId, principal_type: type, principal_id }))).execute();
  }

  private view(r: SecretsTable, grants: Grants | undefined): SecretView {
    return {
      id: r.id,
      name: r.name,
      kind: r.kind,
      host: r.host,
      port: Number(r.port),
      username: r.username,
      credential: { type: r.credential_type },
      launcher: r.launcher ? (JSON.parse(r.launcher) as Launcher) : null,
      recording: { video: Number(r.record_video) === 1, keystrokes: Number(r.record_keystrokes) === 1 },
      access: grants ?? { users: [], roles: [] },
      hostKeyFingerprint: r.host_key ? hostKeyFingerprint(r.host_key) : null,
      createdAt: Number(r.created_at),
      updatedAt: Number(r.updated_at),
    };
  }
}
