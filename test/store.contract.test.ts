import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { migrate } from '../src/adapters/store/migrations/index.ts';
import type { Store } from '../src/adapters/store/store.ts';
import { isUniqueViolation } from '../src/core/store-errors.ts';
import { newId } from '../src/core/ids.ts';
import { storeFixtures } from './helpers/stores.ts';

// One contract, two adapters: every assertion below runs on SQLite and on PostgreSQL.
for (const fx of storeFixtures()) {
  describe(`Store contract: ${fx.name}`, () => {
    let store: Store;
    before(async () => {
      store = await fx.open();
    });
    after(async () => {
      await store?.close();
      await fx.cleanup();
    });

    const user = (username: string) => ({ id: newId(), username, display_name: username, email: null, password_hash: null, disabled: 0, created_at: 1_700_000_000_123, updated_at: 1_700_000_000_123 });

    it('applies migrations once and is idempotent on a second run', async () => {
      assert.deepEqual(await migrate(store.db, store.dialect), []);
      const tables = ['users', 'roles', 'user_roles', 'auth_tokens', 'login_failures', 'ssh_keys', 'secrets', 'secret_access', 'settings', 'audit_log'];
      for (const t of tables) {
        const rows = await store.db.selectFrom(t as 'users').select((eb) => eb.fn.countAll<number>().as('n')).execute();
        assert.equal(Number(rows[0]!.n), 0, `${t} starts empty`);
      }
    });

    it('round-trips millisecond timestamps as numbers', async () => {
      const u = user('ts-user');
      await store.db.insertInto('users').values(u).execute();
      const row = await store.db.selectFrom('users').selectAll().where('id', '=', u.id).executeTakeFirstOrThrow();
      assert.equal(row.created_at, 1_700_000_000_123);
      assert.equal(typeof row.created_at, 'number');
    });

    it('reports unique violations the same way', async () => {
      await store.db.insertInto('users').values(user('dup')).execute();
      await assert.rejects(store.db.insertInto('users').values(user('dup')).execute(), (err) => isUniqueViolation(err));
    });

    it('rolls back a failed transaction entirely', async () => {
      const u = user('tx-user');
      await assert.rejects(
        store.db.transaction().execute(async (tx) => {
          await tx.insertInto('users').values(u).execute();
          await tx.insertInto('users').values(user('tx-user')).execute();
        }),
      );
      assert.equal(await store.db.selectFrom('users').select('id').where('id', '=', u.id).executeTakeFirst(), undefined);
    });

    it('numbers audit entries in increasing order', async () => {
      for (let i = 0; i < 3; i++) {
        await store.db.insertInto('audit_log').values({ at: i, actor_id: null, actor_name: 'x', action: 'test', target_type: null, target_id: null, outcome: 'success', ip: null, details: null }).execute();
      }
      const ids = (await store.db.selectFrom('audit_log').select('id').orderBy('id').execute()).map((r) => Number(r.id));
      assert.equal(ids.length, 3);
      assert.ok(ids[0]! < ids[1]! && ids[1]! < ids[2]!);
    });

    it('cascades user deletion to roles and tokens', async () => {
      const u = user('cascade');
      const roleId = newId();
      await store.db.insertInto('users').values(u).execute();
      await store.db.insertInto('roles').values({ id: roleId, name: 'r-cascade', description: '', builtin: 0, permissions: '[]', created_at: 0, updated_at: 0 }).execute();
      await store.db.insertInto('user_roles').values({ user_id: u.id, role_id: roleId }).execute();
      await store.db.insertInto('auth_tokens').values({ id: newId(), user_id: u.id, token_hash: 'h-cascade', kind: 'api', name: 't', created_at: 0, expires_at: null, revoked_at: null, last_used_at: null }).execute();
      await store.db.deleteFrom('users').where('id', '=', u.id).execute();
      assert.equal((await store.db.selectFrom('user_roles').selectAll().where('user_id', '=', u.id).execute()).length, 0);
      assert.equal((await store.db.selectFrom('auth_tokens').selectAll().where('user_id', '=', u.id).execute()).length, 0);
    });
  });
}
