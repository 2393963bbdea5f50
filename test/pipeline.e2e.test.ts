import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { chainOver, chunkDigest } from '../src/core/recording/hash-chain.ts';
import fs from 'node:fs';
import path from 'node:path';
import { ffprobeCodec, ffprobeDuration, split, testCast, testWebm } from './helpers/media.ts';
import { tempDir } from './helpers/stores.ts';
import { ADMIN_PASSWORD, Api, STACKS, uniqueName, type TestServer } from './helpers/server.ts';

async function putChunk(base: string, token: string, sessionId: string, seq: number, data: Buffer) {
  const res = await fetch(`${base}/api/v1/ingest/sessions/${sessionId}/chunks/${seq}`, { method: 'PUT', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream' }, body: new Uint8Array(data) });
  return { status: res.status, body: (await res.json()) as any }; // eslint-disable-line @typescript-eslint/no-explicit-any
}

async function waitFor<T>(probe: () => Promise<T | undefined>, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 200));
  }
}

for (const stack of STACKS) {
  describe(`recording pipeline on ${stack.name}`, () => {
    let t: TestServer;
    let admin: Api;
    let alice: { id: string; api: Api };
    let desktopSecret: string;
    let sshSecret: { id: string; name: string };

    before(async () => {
      t = await stack.start();
      admin = await Api.login(t.base, 'admin', ADMIN_PASSWORD);
      const roles = Object.fromEntries((await admin.get('/api/v1/roles')).body.items.map((r: { name: string; id: string }) => [r.name, r.id]));
      const username = uniqueName('alice');
      const u = await admin.post('/api/v1/users', { username, password: 'alice-password', roles: [roles.User] });
      alice = { id: u.body.id, api: await Api.login(t.base, username, 'alice-password') };
      const d = await admin.post('/api/v1/secrets', { name: uniqueName('desk'), kind: 'desktop', host: 'desk01.example.test', username: 'Administrator', password: 'Desk-Pa55', launcher: { type: 'rdp' }, access: { users: [alice.id], roles: [] } });
      desktopSecret = d.body.id;
      const s = await admin.post('/api/v1/secrets', { name: uniqueName('web'), kind: 'ssh', host: 'web01.example.test', username: 'root', password: 'Ssh-Pa55', access: { users: [alice.id], roles: [] } });
      sshSecret = { id: s.body.id, name: s.body.name };
    });
    after(async () => {
      await t?.stop();
    });

    it('records a terminal session: chunks in any order, replays, gaps, hash chain, cast playback with Range', async () => {
      const { sessions } = t.server.services;
      const session = await sessions.open({ kind: 'ssh', component: 'ssh-proxy', user: { id: alice.id, name: 'alice' }, secret: { id: sshSecret.id, name: sshSecret.name, recording: { video: true, keystrokes: true } }, target: { host: 'web01.example.test', user: 'root' }, clientAddress: '192.0.2.10', nodeId: null, media: 'cast' });
      const token = await sessions.issueUploadCredential(session.id);
      const cast = testCast();
      const chunks = split(Buffer.from(cast.text), 3);

      let ack = await putChunk(t.base, token, session.id, 0, chunks[0]!);
      assert.deepEqual([ack.status, ack.body.next, ack.body.missing], [200, 1, []]);
      ack = await putChunk(t.base, token, session.id, 2, chunks[2]!);
      assert.deepEqual([ack.body.accepted, ack.body.next, ack.body.missing], [1, 1, [[1, 1]]], 'the gap is reported so the sender re-sends');
      ack = await putChunk(t.base, token, session.id, 2, chunks[2]!);
      assert.deepEqual([ack.status, ack.body.accepted, ack.body.duplicates], [200, 0, 1], 'a replay is accepted once');
      const conflict = await putChunk(t.base, token, session.id, 2, Buffer.from('tampered'));
      assert.equal(conflict.status, 409);
      ack = await putChunk(t.base, token, session.id, 1, chunks[1]!);
      assert.deepEqual([ack.body.next, ack.body.missing], [3, []]);
      assert.equal(ack.body.head, chainOver(session.id, chunks.map((c) => chunkDigest(c))));

      const ingest = new Api(t.base, token);
      const events = await ingest.post(`/api/v1/ingest/sessions/${session.id}/events`, {
        source: 'proxy',
        events: [
          { seq: 0, at: 5000, type: 'keystrokes', text: 'rm -rf /var/tmp/x' },
          { seq: 1, at: 5000, type: 'command', text: 'rm -rf /var/tmp/x' },
          { seq: 3, at: 7000, type: 'command', text: 'sudo passwd bob' },
        ],
      });
      assert.deepEqual([events.status, events.body.accepted, events.body.next, events.body.missing], [200, 3, 2, [[2, 2]]]);
      const resend = await ingest.post(`/api/v1/ingest/sessions/${session.id}/events`, { source: 'proxy', events: [{ seq: 2, at: 7000, type: 'keystrokes', text: 'sudo passwd bob' }, { seq: 3, at: 7000, type: 'command', text: 'sudo passwd bob' }] });
      assert.deepEqual([resend.body.accepted, resend.body.duplicates, resend.body.next, resend.body.missing], [1, 1, 4, []]);

      // Readable while active.
      const live = await admin.get(`/api/v1/sessions/${session.id}/recording?format=cast`);
      assert.equal(live.status, 200);
      assert.equal(live.body, cast.text);
      const closed = await ingest.post(`/api/v1/ingest/sessions/${session.id}/close`, { status: 'ended' });
      assert.equal(closed.body.status, 'ended');

      const res = await fetch(`${t.base}/api/v1/sessions/${session.id}/recording?format=cast`, { headers: { authorization: `Bearer ${admin.token}` } });
      const text = await res.text();
      assert.equal(text, cast.text);
      const lines = text.trim().split('\n').map((l) => JSON.parse(l));
      assert.equal(lines[0].version, 2);
      assert.deepEqual(lines.slice(1), cast.events);
      const ranged = await fetch(`${t.base}/api/v1/sessions/${session.id}/recording?format=cast`, { headers: { authorization: `Bearer ${admin.token}`, range: 'bytes=10-99' } });
      assert.equal(ranged.status, 206);
      assert.equal(ranged.headers.get('content-range'), `bytes 10-99/${Buffer.byteLength(cast.text)}`);
      assert.equal(Buffer.from(await ranged.arrayBuffer()).toString(), Buffer.from(cast.text).subarray(10, 100).toString());
      const bad = await fetch(`${t.base}/api/v1/sessions/${session.id}/recording?format=cast`, { headers: { authorization: `Bearer ${admin.token}`, range: 'bytes=999999-' } });
      assert.equal(bad.status, 416);

      const found = await admin.get(`/api/v1/sessions?q=${encodeURIComponent('RM -RF /var')}&in=proxy-keystrokes`);
      const item = found.body.items.find((i: { id: string }) => i.id === session.id);
      assert.ok(item, 'found by a keystroke substring, case-insensitively');
      assert.ok(item.hits.some((h: { at: number; snippet: string }) => h.at === 5000 && h.snippet.includes('rm -rf /var')));
      const passwd = await admin.get('/api/v1/sessions?q=passwd&in=proxy-keystrokes');
      assert.ok(passwd.body.items.find((i: { id: string; hits: Array<{ at: number }> }) => i.id === session.id)?.hits.some((h: { at: number }) => h.at === 7000));
      const notInOutput = await admin.get(`/api/v1/sessions?q=${encodeURIComponent('rm -rf /var')}&in=output`);
      assert.equal(notInOutput.body.items.some((i: { id: string }) => i.id === session.id), false, 'in= selects the data searched');

      const view = await admin.get(`/api/v1/sessions/${session.id}`);
      assert.equal(view.body.status, 'ended');
      assert.equal(view.body.recording.chunks, 3);
      assert.equal(view.body.recording.integrity, ack.body.head);
      const audit = await admin.get(`/api/v1/audit?action=recording.view&targetId=${session.id}`);
      assert.ok(audit.body.items.length >= 1);
      // Alice has no playback permission: the recording is not hers to see.
      assert.equal((await alice.api.get(`/api/v1/sessions/${session.id}/recording`)).status, 404);
    });

    it('never hands an SSH secret\'s credential to a launcher: the redeem is refused, audited, and its session ended', async () => {
      const launched = await alice.api.post(`/api/v1/secrets/${sshSecret.id}/launch`);
      assert.equal(launched.status, 201, JSON.stringify(launched.body));
      const refused = await new Api(t.base).post('/api/v1/launch-grants/redeem', { grant: launched.body.grant });
      assert.equal(refused.status, 403);
      assert.match(refused.body.error.message, /SSH proxy/);
      assert.equal(JSON.stringify(refused.body).includes('Ssh-Pa55'), false);
      const failed = await admin.get('/api/v1/audit?action=secret.credential-handout&outcome=failure');
      assert.ok(failed.body.items.some((e: { details: { session: string } }) => e.details.session === launched.body.session.id), JSON.stringify(failed.body.items));
      assert.equal((await admin.get(`/api/v1/sessions/${launched.body.session.id}`)).body.status, 'ended');
    });

    it('launches a desktop session, redeems the grant once, and uploads WebM chunks that play back identical', async () => {
      const launched = await alice.api.post(`/api/v1/secrets/${desktopSecret}/launch`);
      assert.equal(launched.status, 201, JSON.stringify(launched.body));
      assert.equal(launched.body.session.status, 'active');
      assert.equal(JSON.stringify(launched.body).includes('Desk-Pa55'), false);
      const anon = new Api(t.base);
      const redeemed = await anon.post('/api/v1/launch-grants/redeem', { grant: launched.body.grant });
      assert.equal(redeemed.status, 200);
      assert.equal(redeemed.body.target.credential.value, 'Desk-Pa55');
      assert.equal((await anon.post('/api/v1/launch-grants/redeem', { grant: launched.body.grant })).status, 409, 'a grant is redeemed once');
      // Guessing grants from one address is cut off after 20 failures a minute (the 409 above was one).
      const guesses = [];
      for (let i = 0; i < 19; i += 1) guesses.push((await anon.post('/api/v1/launch-grants/redeem', { grant: `vgl_${'x'.repeat(40)}${i}` })).status);
      assert.ok(guesses.every((s) => s === 404 || s === 409 || s === 401), JSON.stringify(guesses));
      const blocked = await anon.post('/api/v1/launch-grants/redeem', { grant: launched.body.grant });
      assert.equal(blocked.status, 429);
      assert.equal(blocked.body.error.code, 'rate-limited');
      const sessionId = launched.body.session.id;
      const token = redeemed.body.uploadToken;
      const audit = await admin.get(`/api/v1/audit?action=secret.credential-handout`);
      assert.ok(audit.body.items.some((e: { details: { session: string } }) => e.details.session === sessionId));

      const webm = await testWebm(6);
      const parts = split(webm, 4);
      for (const seq of [1, 0, 3, 3, 2]) {
        const ack = await putChunk(t.base, token, sessionId, seq, parts[seq]!);
        assert.equal(ack.status, 200, JSON.stringify(ack.body));
      }
      const hb = await new Api(t.base, token).post(`/api/v1/ingest/sessions/${sessionId}/heartbeat`);
      assert.equal(hb.body.status, 'active');
      const other = await t.server.services.sessions.issueUploadCredential(sessionId);
      assert.ok(other);
      // Another session's credential, a user token or none: 401.
      const stranger = await alice.api.post(`/api/v1/ingest/sessions/${sessionId}/heartbeat`);
      assert.equal(stranger.status, 401);
      const res = await fetch(`${t.base}/api/v1/sessions/${sessionId}/recording?format=webm`, { headers: { authorization: `Bearer ${admin.token}` } });
      assert.equal(res.headers.get('content-type'), 'video/webm');
      assert.ok(Buffer.from(await res.arrayBuffer()).equals(webm));

      const launcherApi = new Api(t.base, token);
      const ev = await launcherApi.post(`/api/v1/ingest/sessions/${sessionId}/events`, {
        source: 'launcher',
        events: [
          { seq: 0, at: 1000, type: 'screen-change', text: '', details: { magnitude: 0.4 } },
          { seq: 1, at: 2000, type: 'window', text: 'Quarterly-Payroll.xlsx - Excel', details: { app: 'EXCEL.EXE', pid: 4242 } },
          { seq: 2, at: 4000, type: 'output', text: 'Payroll export finished: 1204 rows' },
        ],
      });
      assert.equal(ev.body.next, 3);
      const apps = await admin.get('/api/v1/sessions?q=payroll.xlsx&in=applications');
      assert.deepEqual(apps.body.items.find((i: { id: string }) => i.id === sessionId)?.hits.map((h: { at: number }) => h.at), [2000]);
      const out = await admin.get(`/api/v1/sessions?q=${encodeURIComponent('export finished')}&in=output`);
      assert.deepEqual(out.body.items.find((i: { id: string }) => i.id === sessionId)?.hits.map((h: { at: number }) => h.at), [4000]);
      const grid = await admin.get(`/api/v1/sessions/${sessionId}/activity?type=window`);
      assert.equal(grid.body.items.length, 1);
      const map = await admin.get(`/api/v1/sessions/${sessionId}/activity-map?buckets=10`);
      assert.equal(map.status, 200);
      assert.equal(map.body.series.windows.reduce((a: number, b: number) => a + b, 0), 1);

      // At the end the WebM is remuxed into a seekable file; on request it is converted to H.264 MP4.
      assert.equal((await new Api(t.base, token).post(`/api/v1/ingest/sessions/${sessionId}/close`, {})).body.status, 'ended');
      const finalised = await waitFor(async () => {
        const row = await t.server.store.db.selectFrom('recording_files').select('format').where('session_id', '=', sessionId).where('format', '=', 'webm').executeTakeFirst();
        return row ? true : undefined;
      });
      assert.ok(finalised);
      const dir = tempDir();
      try {
        const webmFile = path.join(dir.dir, 'final.webm');
        fs.writeFileSync(webmFile, Buffer.from(await (await fetch(`${t.base}/api/v1/sessions/${sessionId}/recording?format=webm`, { headers: { authorization: `Bearer ${admin.token}` } })).arrayBuffer()));
        const webmSeconds = await ffprobeDuration(webmFile);
        assert.ok(Math.abs(webmSeconds - 6) <= 1, `finalised WebM lasts ${webmSeconds} s`);
        assert.equal((await admin.get(`/api/v1/sessions/${sessionId}/recording?format=mp4`)).status, 409);
        const requested = await admin.post(`/api/v1/sessions/${sessionId}/processing`);
        assert.equal(requested.status, 202, JSON.stringify(requested.body));
        const done = await waitFor(async () => {
          const v = await admin.get(`/api/v1/sessions/${sessionId}`);
          if (v.body.recording.processing.state === 'failed') throw new Error(v.body.recording.processing.error);
          return v.body.recording.mp4 ? v.body : undefined;
        }, 60_000);
        assert.equal(done.recording.processing.state, 'done');
        const mp4File = path.join(dir.dir, 'out.mp4');
        fs.writeFileSync(mp4File, Buffer.from(await (await fetch(`${t.base}/api/v1/sessions/${sessionId}/recording?format=mp4`, { headers: { authorization: `Bearer ${admin.token}` } })).arrayBuffer()));
        assert.equal(await ffprobeCodec(mp4File), 'h264');
        assert.ok(Math.abs((await ffprobeDuration(mp4File)) - webmSeconds) <= 1);
      } finally {
        dir.remove();
      }
    });

    it('refuses bad ingest input with a 4xx naming the problem', async () => {
      const { sessions } = t.server.services;
      const a = await sessions.open({ kind: 'ssh', component: 'ssh-proxy', user: { id: alice.id, name: 'alice' }, secret: { id: sshSecret.id, name: sshSecret.name, recording: { video: true, keystrokes: false } }, target: { host: 'h', user: 'root' }, clientAddress: null, nodeId: null, media: 'cast' });
      const b = await sessions.open({ kind: 'ssh', component: 'ssh-proxy', user: { id: alice.id, name: 'alice' }, secret: null, target: { host: 'h', user: 'root' }, clientAddress: null, nodeId: null, media: 'cast' });
      const tokenA = await sessions.issueUploadCredential(a.id);
      const api = new Api(t.base, tokenA);
      assert.equal((await new Api(t.base, tokenA).post(`/api/v1/ingest/sessions/${b.id}/heartbeat`)).status, 401, 'a credential is bound to its session');
      const badType = await api.post(`/api/v1/ingest/sessions/${a.id}/events`, { source: 'proxy', events: [{ seq: 0, at: 1, type: 'nonsense', text: 'x' }] });
      assert.equal(badType.status, 400);
      assert.equal(badType.body.error.details.field, 'events.0.type');
      const negative = await api.post(`/api/v1/ingest/sessions/${a.id}/events`, { source: 'proxy', events: [{ seq: -1, at: 1, type: 'output', text: 'x' }] });
      assert.equal(negative.body.error.details.field, 'events.0.seq');
      const big = await putChunk(t.base, tokenA, a.id, 0, Buffer.alloc(9 * 1024 * 1024));
      assert.equal(big.status, 413);
      const empty = await putChunk(t.base, tokenA, a.id, 0, Buffer.alloc(0));
      assert.equal(empty.status, 400);
      // Keystrokes off for this secret: acknowledged but not stored.
      const keys = await api.post(`/api/v1/ingest/sessions/${a.id}/events`, { source: 'proxy', events: [{ seq: 0, at: 1, type: 'keystrokes', text: 'secret-typing' }, { seq: 1, at: 2, type: 'output', text: 'visible' }] });
      assert.deepEqual([keys.status, keys.body.next], [200, 2]);
      const rows = await t.server.store.db.selectFrom('activity_events').select(['type', 'text']).where('session_id', '=', a.id).orderBy('seq').execute();
      assert.deepEqual(rows.map((r) => r.text), ['', 'visible']);
      // A session without recording keeps its row and refuses media.
      const unrecorded = await sessions.open({ kind: 'ssh', component: 'ssh-proxy', user: { id: alice.id, name: 'alice' }, secret: { id: sshSecret.id, name: sshSecret.name, recording: { video: false, keystrokes: false } }, target: { host: 'h', user: 'root' }, clientAddress: null, nodeId: null, media: 'cast' });
      const tokenU = await sessions.issueUploadCredential(unrecorded.id);
      assert.equal((await putChunk(t.base, tokenU, unrecorded.id, 0, Buffer.from('x'))).status, 409);
      assert.equal((await admin.get(`/api/v1/sessions/${unrecorded.id}`)).body.recording.state, 'none');
    });
  });
}

describe('a silent component', () => {
  it('gets its session marked interrupted, and what arrived stays playable', async () => {
    const { startTestServer } = await import('./helpers/server.ts');
    const t = await startTestServer({}, { heartbeatTimeoutMs: 300, sweepIntervalMs: 50 });
    try {
      const { sessions } = t.server.services;
      const s = await sessions.open({ kind: 'ssh', component: 'ssh-proxy', user: { id: null, name: 'bob' }, secret: { id: 'x', name: 'x', recording: { video: true, keystrokes: true } }, target: { host: 'h', user: 'root' }, clientAddress: null, nodeId: null, media: 'cast' });
      const token = await sessions.issueUploadCredential(s.id);
      assert.equal((await putChunk(t.base, token, s.id, 0, Buffer.from('{"version":2,"width":80,"height":24}\n'))).status, 200);
      const deadline = Date.now() + 5000;
      let status = 'active';
      while (status === 'active' && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 100));
        status = (await sessions.row(s.id)).status;
      }
      assert.equal(status, 'interrupted');
      const row = await sessions.row(s.id);
      assert.equal(row.recording_state, 'partial');
      const admin = await Api.login(t.base, 'admin', ADMIN_PASSWORD);
      const rec = await fetch(`${t.base}/api/v1/sessions/${s.id}/recording`, { headers: { authorization: `Bearer ${admin.token}` } });
      assert.equal(await rec.text(), '{"version":2,"width":80,"height":24}\n');
    } finally {
      await t.stop();
    }
  });
});
