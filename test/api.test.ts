import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ed25519PublicKeyLine } from './helpers/keys.ts';
import { ADMIN_PASSWORD, Api, STACKS, uniqueName, type TestServer } from './helpers/server.ts';

// The same API suite on the embedded stack and on PostgreSQL + RabbitMQ.
for (const stack of STACKS) {
  describe(`API on ${stack.name}`, () => {
    let t: TestServer;
    let admin: Api;
    let roles: Record<string, string>;

    before(async () => {
      t = await stack.start();
      admin = await Api.login(t.base, 'admin', ADMIN_PASSWORD);
      const list = await admin.get('/api/v1/roles');
      roles = Object.fromEntries(list.body.items.map((r: { name: string; id: string }) => [r.name, r.id]));
    });
    after(async () => {
      await t?.stop();
    });

    async function newUser(role: string, password = 'a-good-password'): Promise<{ id: string; username: string; api: Api }> {
      const username = uniqueName('u');
      const res = await admin.post('/api/v1/users', { username, password, roles: role ? [roles[role]] : [] });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      return { id: res.body.id, username, api: await Api.login(t.base, username, password) };
    }

    it('answers health', async () => {
      const res = await new Api(t.base).get('/api/v1/health');
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, { status: 'ok' });
    });

    it('sends security headers with a CSP that allows no inline script', async () => {
      const res = await new Api(t.base).get('/api/v1/health');
      const csp = res.headers.get('content-security-policy') ?? '';
      assert.match(csp, /script-src 'self'(;|$)/);
      assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
      assert.equal(res.headers.get('x-frame-options'), 'DENY');
    });

    it('has the built-in roles with the field permissions', async () => {
      const res = await admin.get('/api/v1/roles');
      const byName = Object.fromEntries(res.body.items.map((r: { name: string }) => [r.name, r]));
      assert.ok(byName.Administrator.permissions.includes('users.administer'));
      assert.deepEqual(byName.Auditor.permissions.sort(), ['audit.view', 'session-monitoring.view', 'session-recording.audit', 'session-recording.view']);
      assert.deepEqual(byName.User.permissions, []);
      assert.ok(byName.User.builtin);
    });

    it('signs in with a cookie session and a bearer token, and logs out', async () => {
      const anon = new Api(t.base);
      const res = await anon.post('/api/v1/auth/login', { username: 'admin', password: ADMIN_PASSWORD });
      assert.equal(res.status, 200);
      assert.match(res.body.token, /^vgs_/);
      assert.equal(res.body.user.username, 'admin');
      assert.equal(JSON.stringify(res.body).includes(ADMIN_PASSWORD), false);
      const cookies = res.headers.getSetCookie();
      const session = cookies.find((c) => c.startsWith('vigil_session='))!;
      assert.match(session, /HttpOnly/i);
      assert.match(session, /SameSite=Strict/i);
      const cookieHeader = cookies.map((c) => c.split(';')[0]).join('; ');
      const me = await anon.req('GET', '/api/v1/auth/me', undefined, { cookie: cookieHeader });
      assert.equal(me.status, 200);
      assert.equal(me.body.username, 'admin');

      const bearer = new Api(t.base, res.body.token);
      assert.equal((await bearer.get('/api/v1/auth/me')).status, 200);
      assert.equal((await bearer.post('/api/v1/auth/logout')).status, 204);
      assert.equal((await bearer.get('/api/v1/auth/me')).status, 401);
    });

    it('refuses state changes from a cookie session without the CSRF header', async () => {
      const anon = new Api(t.base);
      const res = await anon.post('/api/v1/auth/login', { username: 'admin', password: ADMIN_PASSWORD });
      const cookieHeader = res.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
      const body = { name: uniqueName('role'), permissions: [] };
      const without = await anon.req('POST', '/api/v1/roles', body, { cookie: cookieHeader });
      assert.equal(without.status, 403);
      assert.match(without.body.error.message, /x-vigil-csrf/);
      const withHeader = await anon.req('POST', '/api/v1/roles', body, { cookie: cookieHeader, 'x-vigil-csrf': res.body.csrfToken });
      assert.equal(withHeader.status, 201);
    });

    it('answers a wrong password and an unknown user the same way, and audits both', async () => {
      const anon = new Api(t.base);
      const wrong = await anon.post('/api/v1/auth/login', { username: 'admin', password: 'not-the-password' });
      const unknown = await anon.post('/api/v1/auth/login', { username: 'nobody-here', password: 'not-the-password' });
      assert.equal(wrong.status, 401);
      assert.equal(unknown.status, 401);
      assert.deepEqual(wrong.body, unknown.body);
      const audit = await admin.get('/api/v1/audit?action=auth.login&outcome=failure');
      const names = audit.body.items.map((e: { actor: { name: string } }) => e.actor.name);
      assert.ok(names.includes('admin') && names.includes('nobody-here'));
      // Clear admin's failure so later tests are not near the lockout.
      await Api.login(t.base, 'admin', ADMIN_PASSWORD);
    });

    it('locks an account after 5 failed sign-ins in 15 minutes, audited', async () => {
      const u = await newUser('User');
      const anon = new Api(t.base);
      for (let i = 0; i < 5; i++) assert.equal((await anon.post('/api/v1/auth/login', { username: u.username, password: 'wrong-password' })).status, 401);
      const locked = await anon.post('/api/v1/auth/login', { username: u.username, password: 'a-good-password' });
      assert.equal(locked.status, 423);
      assert.equal(locked.body.error.code, 'locked');
      const audit = await admin.get(`/api/v1/audit?action=auth.lockout&actor=${u.username}`);
      assert.equal(audit.body.items.length, 1);
    });

    it('creates, lists, revokes and expires API tokens', async () => {
      const u = await newUser('Auditor');
      const created = await u.api.post('/api/v1/auth/tokens', { name: 'automation', expiresInDays: 1 });
      assert.equal(created.status, 201);
      assert.match(created.body.token, /^vga_/);
      const tokenApi = new Api(t.base, created.body.token);
      assert.equal((await tokenApi.get('/api/v1/audit?limit=1')).status, 200);
      const list = await u.api.get('/api/v1/auth/tokens');
      assert.ok(list.body.items.some((x: { id: string; token?: string }) => x.id === created.body.id && x.token === undefined));
      assert.equal((await u.api.del(`/api/v1/auth/tokens/${created.body.id}`)).status, 204);
      assert.equal((await tokenApi.get('/api/v1/audit?limit=1')).status, 401);
      // Another user's token id is not found for this user.
      assert.equal((await admin.del(`/api/v1/auth/tokens/${created.body.id}`)).status, 404);
    });

    it('marks administrative actions taken with an API token in the audit log', async () => {
      const created = await admin.post('/api/v1/auth/tokens', { name: 'ci-bot' });
      const bot = new Api(t.base, created.body.token);
      const role = await bot.post('/api/v1/roles', { name: uniqueName('bot-role'), permissions: [] });
      assert.equal(role.status, 201);
      const audit = await admin.get(`/api/v1/audit?action=role.create&targetId=${role.body.id}`);
      assert.equal(audit.body.items[0].details.via, 'api-token');
      assert.equal(audit.body.items[0].actor.name, 'admin');
    });

    it('manages users and custom roles, and the permissions follow the roles', async () => {
      const role = await admin.post('/api/v1/roles', { name: uniqueName('auditor-lite'), description: 'reads audit', permissions: ['audit.view'] });
      assert.equal(role.status, 201);
      const u = await newUser('');
      assert.equal((await u.api.get('/api/v1/audit')).status, 403);
      const patched = await admin.patch(`/api/v1/users/${u.id}`, { roles: [role.body.id], displayName: 'Renamed' });
      assert.equal(patched.status, 200);
      assert.deepEqual(patched.body.permissions, ['audit.view']);
      assert.equal((await u.api.get('/api/v1/audit')).status, 200);
      assert.equal((await admin.patch(`/api/v1/roles/${roles.Administrator}`, { permissions: [] })).status, 400);
      assert.equal((await admin.del(`/api/v1/roles/${role.body.id}`)).status, 204);
      assert.equal((await u.api.get('/api/v1/audit')).status, 403);
    });

    it('disabling a user ends their sessions and tokens', async () => {
      const u = await newUser('Auditor');
      assert.equal((await admin.patch(`/api/v1/users/${u.id}`, { disabled: true })).status, 200);
      assert.equal((await u.api.get('/api/v1/auth/me')).status, 401);
      assert.equal((await new Api(t.base).post('/api/v1/auth/login', { username: u.username, password: 'a-good-password' })).status, 401);
    });

    it('registers SSH public keys, fingerprinted, for oneself and not for others', async () => {
      const u = await newUser('User');
      const other = await newUser('User');
      const key = ed25519PublicKeyLine('alice@laptop');
      const res = await u.api.post(`/api/v1/users/${u.id}/ssh-keys`, { publicKey: key.line });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      assert.match(res.body.fingerprint, /^SHA256:[A-Za-z0-9+/]{43}$/);
      assert.equal(res.body.algorithm, 'ssh-ed25519');
      assert.equal(res.body.name, 'alice@laptop');
      assert.equal((await u.api.post(`/api/v1/users/${u.id}/ssh-keys`, { publicKey: key.line })).status, 409);
      assert.equal((await other.api.post(`/api/v1/users/${u.id}/ssh-keys`, { publicKey: ed25519PublicKeyLine().line })).status, 403);
      const bad = await u.api.post(`/api/v1/users/${u.id}/ssh-keys`, { publicKey: 'ssh-ed25519 AAAAnotakey' });
      assert.equal(bad.status, 400);
      assert.equal(bad.body.error.details.field, 'publicKey');
      const priv = await u.api.post(`/api/v1/users/${u.id}/ssh-keys`, { publicKey: key.privatePem });
      assert.equal(priv.status, 400);
      assert.equal(JSON.stringify(priv.body).includes('BEGIN'), false);
      const list = await admin.get(`/api/v1/users/${u.id}/ssh-keys`);
      assert.equal(list.body.items.length, 1);
    });

    describe('bad input', () => {
      it('malformed JSON → 400 naming the body', async () => {
        const res = await admin.req('POST', '/api/v1/users', '{"username": ', { 'content-type': 'application/json' });
        assert.equal(res.status, 400);
        assert.equal(res.body.error.code, 'invalid-json');
      });
      it('wrong types, unknown fields and over-long strings name the field', async () => {
        const cases: Array<[unknown, string]> = [
          [{ username: 42, password: 'a-good-password' }, 'username'],
          [{ username: 'x', password: 'a-good-password', isAdmin: true }, 'isAdmin'],
          [{ username: 'x'.repeat(65), password: 'a-good-password' }, 'username'],
          [{ username: 'x', password: 'short' }, 'password'],
          [{ username: '../../etc/passwd', password: 'a-good-password' }, 'username'],
          [{ username: 'x', password: 'a-good-password', roles: ['not-a-uuid'] }, 'roles.0'],
        ];
        for (const [body, field] of cases) {
          const res = await admin.post('/api/v1/users', body);
          assert.equal(res.status, 400, JSON.stringify(body));
          assert.equal(res.body.error.details.field, field, JSON.stringify(res.body));
          assert.ok(res.body.error.message.includes(field));
        }
      });
      it('a duplicate name is a 409 and nothing is half-written', async () => {
        const username = uniqueName('dup');
        assert.equal((await admin.post('/api/v1/users', { username, password: 'a-good-password' })).status, 201);
        const again = await admin.post('/api/v1/users', { username, password: 'a-good-password' });
        assert.equal(again.status, 409);
        assert.equal(again.body.error.details.field, 'username');
        const missingRole = await admin.post('/api/v1/users', { username: uniqueName('norole'), password: 'a-good-password', roles: ['00000000-0000-4000-8000-000000000000'] });
        assert.equal(missingRole.status, 400);
        const users = await admin.get('/api/v1/users');
        assert.equal(users.body.items.filter((x: { username: string }) => x.username === username).length, 1);
      });
      it('an oversized body is a 413', async () => {
        const res = await admin.post('/api/v1/users', { username: 'big', password: 'x'.repeat(2 * 1024 * 1024) });
        assert.equal(res.status, 413);
        assert.equal(res.body.error.code, 'payload-too-large');
      });
      it('unknown routes and bad ids answer in the error shape', async () => {
        const res = await admin.get('/api/v1/nothing-here');
        assert.equal(res.status, 404);
        assert.equal(res.body.error.code, 'not-found');
        const bad = await admin.get('/api/v1/users/not-a-uuid');
        assert.equal(bad.status, 400);
        assert.equal(bad.body.error.details.field, 'id');
      });
    });

    it('audits user and role changes with paging and filters', async () => {
      const first = await admin.get('/api/v1/audit?limit=2');
      assert.equal(first.body.items.length, 2);
      assert.ok(first.body.nextCursor);
      const second = await admin.get(`/api/v1/audit?limit=2&cursor=${first.body.nextCursor}`);
      assert.ok(second.body.items[0].id < first.body.items[1].id);
      const creates = await admin.get('/api/v1/audit?action=user.create');
      assert.ok(creates.body.items.length >= 3);
      assert.ok(creates.body.items.every((e: { action: string }) => e.action === 'user.create'));
      const prefix = await admin.get('/api/v1/audit?action=role.*');
      assert.ok(prefix.body.items.some((e: { action: string }) => e.action === 'role.delete'));
      assert.equal(JSON.stringify((await admin.get('/api/v1/audit?limit=500')).body).includes('a-good-password'), false);
    });

    it('serves Prometheus metrics to an administrator only', async () => {
      const res = await admin.get('/metrics');
      assert.equal(res.status, 200);
      assert.match(String(res.body), /vigil_http_requests_total/);
      assert.equal((await new Api(t.base).get('/metrics')).status, 401);
    });
  });
}
