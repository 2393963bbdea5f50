import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { createLogger } from '../src/adapters/log/logger.ts';
import { ADMIN_PASSWORD, Api, STACKS, startTestServer, uniqueName, type TestServer } from './helpers/server.ts';
import { tempDir } from './helpers/stores.ts';

const TARGET_PASSWORD = 'Target-Pa55word-never-shown';

for (const stack of STACKS) {
  describe(`secrets and settings over HTTP on ${stack.name}`, () => {
    let t: TestServer;
    let admin: Api;
    let roles: Record<string, string>;
    const tmp = tempDir();

    before(async () => {
      t = await stack.start();
      admin = await Api.login(t.base, 'admin', ADMIN_PASSWORD);
      roles = Object.fromEntries((await admin.get('/api/v1/roles')).body.items.map((r: { name: string; id: string }) => [r.name, r.id]));
    });
    after(async () => {
      await t?.stop();
      tmp.remove();
    });

    async function user(role: string): Promise<{ id: string; api: Api }> {
      const username = uniqueName('u');
      const res = await admin.post('/api/v1/users', { username, password: 'a-good-password', roles: [roles[role]] });
      return { id: res.body.id, api: await Api.login(t.base, username, 'a-good-password') };
    }

    it('creates a secret whose credential never comes back, and grants launch to a user', async () => {
      const alice = await user('User');
      const bob = await user('User');
      const name = uniqueName('web01');
      const created = await admin.post('/api/v1/secrets', { name, kind: 'ssh', host: 'web01.example.test', username: 'root', password: TARGET_PASSWORD, recording: { video: true, keystrokes: false }, access: { users: [alice.id], roles: [] } });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      assert.equal(created.body.port, 22);
      assert.deepEqual(created.body.recording, { video: true, keystrokes: false });
      assert.equal(created.body.credential.type, 'password');
      for (const res of [created, await admin.get(`/api/v1/secrets/${created.body.id}`), await admin.get('/api/v1/secrets'), await alice.api.get('/api/v1/secrets')]) {
        assert.equal(JSON.stringify(res.body).includes(TARGET_PASSWORD), false);
      }
      assert.ok((await alice.api.get('/api/v1/secrets')).body.items.some((s: { name: string }) => s.name === name));
      assert.equal((await alice.api.get(`/api/v1/secrets/${created.body.id}`)).status, 200);
      assert.equal((await bob.api.get(`/api/v1/secrets/${created.body.id}`)).status, 404);
      assert.equal((await bob.api.get('/api/v1/secrets')).body.items.length, 0);
      assert.equal((await alice.api.patch(`/api/v1/secrets/${created.body.id}`, { host: 'x' })).status, 403);

      const dup = await admin.post('/api/v1/secrets', { name, kind: 'ssh', host: 'h', username: 'root', password: 'p' });
      assert.equal(dup.status, 409);
      assert.equal(dup.body.error.details.field, 'name');
      const bad = await admin.post('/api/v1/secrets', { name: 'a:b@c', kind: 'ssh', host: 'h', username: 'root' });
      assert.equal(bad.status, 400);
      assert.equal(bad.body.error.details.field, 'name');

      const patched = await admin.patch(`/api/v1/secrets/${created.body.id}`, { password: 'another-secret-value' });
      assert.equal(patched.status, 200);
      const audit = await admin.get(`/api/v1/audit?action=secret.*&targetId=${created.body.id}`);
      assert.deepEqual(audit.body.items.map((e: { action: string }) => e.action), ['secret.update', 'secret.create']);
      assert.equal(JSON.stringify(audit.body).includes('another-secret-value'), false);
      assert.equal((await admin.del(`/api/v1/secrets/${created.body.id}`)).status, 204);
      assert.equal((await alice.api.get(`/api/v1/secrets/${created.body.id}`)).status, 404);
    });

    it('reads and writes the session-recording settings, naming each bad field', async () => {
      const current = await admin.get('/api/v1/settings/session-recording');
      assert.equal(current.status, 200);
      assert.equal(current.body.enabled, true);
      assert.ok(current.body.processingConcurrency >= 1);
      const next = { ...current.body, archiveEnabled: true, archiveAfterDays: 7, archivePath: tmp.dir, deleteEnabled: true, deleteAfterDays: 30, videoCodec: 'vp9' };
      const put = await admin.put('/api/v1/settings/session-recording', next);
      assert.equal(put.status, 200, JSON.stringify(put.body));
      assert.equal((await admin.get('/api/v1/settings/session-recording')).body.videoCodec, 'vp9');
      const cases: Array<[Record<string, unknown>, string]> = [
        [{ deleteAfterDays: 0 }, 'deleteAfterDays'],
        [{ archivePath: 'relative/dir' }, 'archivePath'],
        [{ archivePath: '/proc/vigil-cannot-write-here' }, 'archivePath'],
        [{ videoCodec: 'h265' }, 'videoCodec'],
        [{ inactivityTimeoutMinutes: 100000 }, 'inactivityTimeoutMinutes'],
        [{ deleteAfterDays: 5 }, 'deleteAfterDays'],
        [{ surprise: true }, 'surprise'],
      ];
      for (const [change, field] of cases) {
        const res = await admin.put('/api/v1/settings/session-recording', { ...next, ...change });
        assert.equal(res.status, 400, `${JSON.stringify(change)} → ${res.status}`);
        assert.equal(res.body.error.details.field, field, JSON.stringify(res.body));
      }
      const audit = await admin.get('/api/v1/audit?action=settings.update');
      assert.equal(audit.body.items.length, 1);
      const auditor = await user('Auditor');
      assert.equal((await auditor.api.get('/api/v1/settings/session-recording')).status, 403);
    });
  });
}

describe('logs', () => {
  it('never carry passwords, private keys or tokens', async () => {
    let captured = '';
    const sink = new Writable({ write(chunk: Buffer, _enc, cb) { captured += chunk.toString(); cb(); } });
    const t = await startTestServer({}, { logger: createLogger({ level: 'trace', destination: sink }) });
    try {
      const admin = await Api.login(t.base, 'admin', ADMIN_PASSWORD);
      await admin.post('/api/v1/secrets', { name: uniqueName('s'), kind: 'ssh', host: 'h.example.test', username: 'root', password: TARGET_PASSWORD });
      await new Api(t.base).post('/api/v1/auth/login', { username: 'admin', password: 'wrong-password-in-log?' });
      await admin.post('/api/v1/secrets', { name: 'bad name!', kind: 'ssh', host: 'h', username: 'r', password: TARGET_PASSWORD });
      assert.ok(captured.length > 0, 'the server logged something');
      for (const s of [TARGET_PASSWORD, ADMIN_PASSWORD, 'wrong-password-in-log?', admin.token!]) assert.equal(captured.includes(s), false, `log contains ${s.slice(0, 6)}…`);
    } finally {
      await t.stop();
    }
  });
});
