import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { Socket } from './helpers/ws.ts';
import { ADMIN_PASSWORD, Api, STACKS, uniqueName, type TestServer } from './helpers/server.ts';

for (const stack of STACKS) {
  describe(`watch live, message and terminate on ${stack.name}`, () => {
    let t: TestServer;
    let admin: Api;
    let auditor: Api;
    let user: Api;

    before(async () => {
      t = await stack.start();
      admin = await Api.login(t.base, 'admin', ADMIN_PASSWORD);
      const roles = Object.fromEntries((await admin.get('/api/v1/roles')).body.items.map((r: { name: string; id: string }) => [r.name, r.id]));
      for (const [role, set] of [['Auditor', (a: Api) => (auditor = a)], ['User', (a: Api) => (user = a)]] as const) {
        const username = uniqueName(role.toLowerCase());
        await admin.post('/api/v1/users', { username, password: 'a-good-password', roles: [roles[role]] });
        set(await Api.login(t.base, username, 'a-good-password'));
      }
    });
    after(async () => {
      await t?.stop();
    });

    it('relays control to the holder and its stream to viewers, and terminates with who and why', async () => {
      const { sessions } = t.server.services;
      const s = await sessions.open({ kind: 'desktop', component: 'launcher', user: { id: null, name: 'carol' }, secret: { id: 'x', name: 'x', recording: { video: true, keystrokes: true } }, target: { host: 'desk', user: 'Administrator' }, clientAddress: null, nodeId: null, media: 'webm' });
      const token = await sessions.issueUploadCredential(s.id);
      const ws = t.base.replace('http', 'ws');
      const holder = new Socket(`${ws}/api/v1/ingest/sessions/${s.id}/control`, token);
      await holder.opened;
      await new Promise((r) => setTimeout(r, 200)); // the holder's subscription is in place

      const viewer = new Socket(`${ws}/api/v1/sessions/${s.id}/live`, auditor.token!);
      await viewer.opened;
      assert.equal((await viewer.next('hello')).status, 'active');
      await holder.next('snapshot-request');
      holder.ws.send(JSON.stringify({ type: 'live', message: { type: 'snapshot', screen: 'C:\\> dir' } }));
      assert.equal((await viewer.next('snapshot')).screen, 'C:\\> dir');

      const hostile = '<img src=x onerror=alert(1)> please log off';
      assert.equal((await user.post(`/api/v1/sessions/${s.id}/message`, { text: 'hi' })).status, 403);
      assert.equal((await auditor.post(`/api/v1/sessions/${s.id}/message`, { text: 'hi' })).status, 403);
      assert.equal((await admin.post(`/api/v1/sessions/${s.id}/message`, { text: hostile })).status, 202);
      const msg = await holder.next('message');
      assert.deepEqual([msg.text, msg.by], [hostile, 'admin']);

      assert.equal((await admin.post(`/api/v1/sessions/${s.id}/terminate`, { message: 'policy violation' })).status, 202);
      assert.equal((await holder.next('terminate')).reason, 'policy violation');
      assert.equal((await viewer.next('end')).status, 'terminated');
      const view = await admin.get(`/api/v1/sessions/${s.id}`);
      assert.deepEqual([view.body.status, view.body.endedBy, view.body.endReason], ['terminated', 'admin', 'policy violation']);
      assert.equal((await admin.post(`/api/v1/sessions/${s.id}/terminate`, {})).status, 409);
      const actions = (await admin.get(`/api/v1/audit?targetId=${s.id}`)).body.items.map((e: { action: string }) => e.action);
      for (const a of ['session.watch', 'session.message', 'session.terminate', 'session.end']) assert.ok(actions.includes(a), `${a} audited`);
      const events = await t.server.store.db.selectFrom('activity_events').select(['type', 'text']).where('session_id', '=', s.id).where('source', '=', 'server').orderBy('seq').execute();
      assert.deepEqual(events.map((e) => e.type), ['message', 'terminate']);
      holder.ws.close();
      viewer.ws.close();
    });

    it('refuses viewers without permission and sockets from another origin', async () => {
      const s = await t.server.services.sessions.open({ kind: 'ssh', component: 'ssh-proxy', user: { id: null, name: 'dave' }, secret: null, target: { host: 'h', user: 'root' }, clientAddress: null, nodeId: null, media: 'cast' });
      const ws = t.base.replace('http', 'ws');
      await assert.rejects(new Socket(`${ws}/api/v1/sessions/${s.id}/live`, user.token!).opened, /403/);
      const foreign = new WebSocket(`${ws}/api/v1/sessions/${s.id}/live`, { headers: { authorization: `Bearer ${admin.token}`, origin: 'https://evil.example' } });
      const code = await new Promise<number>((resolve) => foreign.on('close', (c) => resolve(c)));
      assert.equal(code, 1008);
      await assert.rejects(new Socket(`${ws}/api/v1/ingest/sessions/${s.id}/control`, admin.token!).opened, /401/);
    });
  });
}
