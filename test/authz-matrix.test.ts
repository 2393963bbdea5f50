import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ADMIN_PASSWORD, Api, startTestServer, uniqueName, type TestServer } from './helpers/server.ts';

/**
 * Every route × each built-in role × anonymous. The table is the reviewed source of truth: a route
 * that the server registers without an entry here fails the first test, and each entry's access
 * must match what the route declares and what it answers.
 */
const MATRIX: Record<string, string> = {
  'GET /api/v1/health': 'public',
  'GET /*': 'public',
  'GET /api/v1/ssh-proxy/host-key': 'authenticated',
  'GET /api/v1/version': 'public',
  'GET /metrics': 'settings.administer',
  'POST /api/v1/auth/login': 'public',
  'POST /api/v1/auth/logout': 'authenticated',
  'GET /api/v1/auth/me': 'authenticated',
  'GET /api/v1/auth/tokens': 'authenticated',
  'POST /api/v1/auth/tokens': 'authenticated',
  'DELETE /api/v1/auth/tokens/:id': 'authenticated',
  'GET /api/v1/users': 'users.administer',
  'POST /api/v1/users': 'users.administer',
  'GET /api/v1/users/:id': 'self-or-users.administer',
  'PATCH /api/v1/users/:id': 'users.administer',
  'GET /api/v1/users/:id/ssh-keys': 'self-or-users.administer',
  'POST /api/v1/users/:id/ssh-keys': 'self-or-users.administer',
  'DELETE /api/v1/users/:id/ssh-keys/:keyId': 'self-or-users.administer',
  'GET /api/v1/roles': 'users.administer',
  'POST /api/v1/roles': 'users.administer',
  'PATCH /api/v1/roles/:id': 'users.administer',
  'DELETE /api/v1/roles/:id': 'users.administer',
  'GET /api/v1/audit': 'audit.view',
  'GET /api/v1/cluster/nodes': 'settings.administer',
  'GET /api/v1/secrets': 'authenticated',
  'POST /api/v1/secrets': 'secrets.administer',
  'GET /api/v1/secrets/:id': 'authenticated',
  'PATCH /api/v1/secrets/:id': 'secrets.administer',
  'DELETE /api/v1/secrets/:id': 'secrets.administer',
  'GET /api/v1/settings/session-recording': 'settings.administer',
  'PUT /api/v1/settings/session-recording': 'settings.administer',
  'POST /api/v1/secrets/:id/launch': 'authenticated',
  'POST /api/v1/launch-grants/redeem': 'public',
  'GET /api/v1/sessions/:id': 'authenticated',
  'GET /api/v1/sessions/:id/recording': 'authenticated',
  'GET /api/v1/sessions/:id/recording/index': 'authenticated',
  'GET /api/v1/sessions/:id/recording/keyframes': 'authenticated',
  'POST /api/v1/ingest/sessions/:id/events': 'component',
  'PUT /api/v1/ingest/sessions/:id/chunks/:seq': 'component',
  'POST /api/v1/ingest/sessions/:id/heartbeat': 'component',
  'POST /api/v1/ingest/sessions/:id/close': 'component',
  'GET /api/v1/ingest/sessions/:id/control': 'component',
  'POST /api/v1/sessions/:id/message': 'session-monitoring.administer',
  'POST /api/v1/sessions/:id/terminate': 'session-monitoring.administer',
  'GET /api/v1/sessions/:id/live': 'session-monitoring.view',
  'GET /api/v1/sessions': 'authenticated',
  'POST /api/v1/sessions/:id/processing': 'session-recording.view',
  'GET /api/v1/sessions/:id/activity': 'authenticated',
  'GET /api/v1/sessions/:id/activity-map': 'authenticated',
  'POST /api/v1/agents/enrollment-tokens': 'settings.administer',
  'GET /api/v1/agents': 'settings.administer',
  'GET /api/v1/agents/:id': 'settings.administer',
  'POST /api/v1/agents/:id/deactivate': 'settings.administer',
  'POST /api/v1/agents/enroll': 'public',
  'POST /api/v1/agent/heartbeat': 'agent',
  'POST /api/v1/agent/logins': 'agent',
};

const ROLE_PERMISSIONS: Record<string, string[]> = {
  Administrator: ['session-monitoring.view', 'session-monitoring.administer', 'session-recording.view', 'session-recording.audit', 'settings.administer', 'secrets.administer', 'users.administer', 'audit.view'],
  Auditor: ['session-monitoring.view', 'session-recording.view', 'session-recording.audit', 'audit.view'],
  User: [],
};

/** What a caller holding `perms` (undefined = anonymous) must get: 'ok' means neither 401 nor 403. */
function expected(access: string, perms: string[] | undefined): 401 | 403 | 'ok' {
  if (access === 'public') return 'ok';
  // Recording components hold an upload credential; no user token (nor none) opens these routes.
  if (access === 'component') return 401;
  // Host agents hold their own credential (`vgn_`); user tokens do not open agent routes.
  if (access === 'agent') return 401;
  if (!perms) return 401;
  if (access === 'authenticated') return 'ok';
  // The matrix calls with someone else's id; reaching oneself is covered in api.test.ts.
  if (access === 'self-or-users.administer') return perms.includes('users.administer') ? 'ok' : 403;
  return perms.includes(access) ? 'ok' : 403;
}

describe('authorization matrix', () => {
  let t: TestServer;
  const callers: Record<string, Api> = {};

  before(async () => {
    t = await startTestServer();
    const admin = await Api.login(t.base, 'admin', ADMIN_PASSWORD);
    const roles = (await admin.get('/api/v1/roles')).body.items as Array<{ id: string; name: string }>;
    for (const name of Object.keys(ROLE_PERMISSIONS)) {
      const username = uniqueName(name.toLowerCase());
      const res = await admin.post('/api/v1/users', { username, password: 'matrix-password', roles: [roles.find((r) => r.name === name)!.id] });
      assert.equal(res.status, 201);
      callers[name] = await Api.login(t.base, username, 'matrix-password');
    }
    callers.anonymous = new Api(t.base);
  });
  after(async () => {
    await t?.stop();
  });

  it('lists every registered route, and only those', () => {
    const registered = t.server.routes.map((r) => `${r.method} ${r.url}`).sort();
    const missing = registered.filter((r) => !(r in MATRIX));
    assert.deepEqual(missing, [], `routes without an authorization-matrix entry: ${missing.join(', ')}`);
    assert.deepEqual(Object.keys(MATRIX).filter((k) => !registered.includes(k)), [], 'matrix entries for routes that no longer exist');
  });

  it('each route declares the access the matrix expects', () => {
    for (const r of t.server.routes) assert.equal(r.access, MATRIX[`${r.method} ${r.url}`], `${r.method} ${r.url}`);
  });

  it('each route answers each role as the matrix expects', async () => {
    const fakeId = '00000000-0000-4000-8000-000000000000';
    const failures: string[] = [];
    for (const r of t.server.routes) {
      if (r.url === '/api/v1/auth/logout') continue; // would end the callers' sessions; covered in api.test.ts
      const url = r.url.replace(':seq', '0').replace(/:[a-zA-Z]+/g, fakeId);
      for (const [who, api] of Object.entries(callers)) {
        const perms = who === 'anonymous' ? undefined : ROLE_PERMISSIONS[who];
        const want = expected(MATRIX[`${r.method} ${r.url}`]!, perms);
        const body = r.method === 'GET' || r.method === 'DELETE' ? undefined : {};
        const res = await api.req(r.method, url, body);
        const ok = want === 'ok' ? res.status !== 401 && res.status !== 403 : res.status === want;
        if (!ok) failures.push(`${r.method} ${r.url} as ${who}: got ${res.status}, want ${want}`);
      }
    }
    assert.deepEqual(failures, []);
  });
});
