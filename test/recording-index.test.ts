import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { castIndex } from '../src/protocol/cast-index.ts';
import { ADMIN_PASSWORD, Api, STACKS, uniqueName, type TestServer } from './helpers/server.ts';

/** A cast of `seconds` seconds with ~1 KB of output per second, each line naming its second. */
function cast(seconds: number, from = 1): string {
  const lines = from === 1 ? [JSON.stringify({ version: 2, width: 100, height: 30 })] : [];
  for (let s = from; s <= seconds; s++) lines.push(JSON.stringify([s, 'o', `second-${s} ${'y'.repeat(1000)}\r\n`]));
  return `${lines.join('\n')}\n`;
}

async function putChunk(base: string, token: string, id: string, seq: number, data: string): Promise<void> {
  const res = await fetch(`${base}/api/v1/ingest/sessions/${id}/chunks/${seq}`, { method: 'PUT', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream' }, body: new Uint8Array(Buffer.from(data)) });
  assert.equal(res.status, 200, await res.text());
}

async function range(base: string, api: Api, path: string, header: string): Promise<{ status: number; text: string }> {
  const res = await fetch(base + path, { headers: { authorization: `Bearer ${api.token}`, range: header } });
  return { status: res.status, text: await res.text() };
}

for (const stack of STACKS) {
  describe(`terminal recording seek index on ${stack.name}`, () => {
    let t: TestServer;
    let admin: Api;
    let nobody: Api;
    let secret: { id: string; name: string };

    const open = async (media: 'cast' | 'webm' = 'cast') => {
      const { sessions } = t.server.services;
      const s = await sessions.open({ kind: media === 'cast' ? 'ssh' : 'desktop', component: 'ssh-proxy', user: { id: null, name: 'alice' }, secret: { ...secret, recording: { video: true, keystrokes: true } }, target: { host: 'web01.example.test', user: 'root' }, clientAddress: '192.0.2.1', nodeId: null, media });
      return { id: s.id, token: await sessions.issueUploadCredential(s.id) };
    };
    const files = async (id: string) => (await t.server.store.db.selectFrom('recording_files').select(['format', 'size']).where('session_id', '=', id).orderBy('format').execute()).map((f) => f.format);

    before(async () => {
      t = await stack.start();
      admin = await Api.login(t.base, 'admin', ADMIN_PASSWORD);
      const roles = Object.fromEntries((await admin.get('/api/v1/roles')).body.items.map((r: { name: string; id: string }) => [r.name, r.id]));
      const username = uniqueName('nobody');
      assert.equal((await admin.post('/api/v1/users', { username, password: 'nobody-password', roles: [roles.User] })).status, 201);
      nobody = await Api.login(t.base, username, 'nobody-password');
      const s = await admin.post('/api/v1/secrets', { name: uniqueName('web'), kind: 'ssh', host: 'web01.example.test', username: 'root', password: 'Pa55-word' });
      secret = { id: s.body.id, name: s.body.name };
    });
    after(async () => {
      await t?.stop();
    });

    it('indexes a recording when its session ends; keyframes and cast offsets land on the right screen', async () => {
      const s = await open();
      const text = cast(300);
      await putChunk(t.base, s.token, s.id, 0, text.slice(0, 100_000));
      await putChunk(t.base, s.token, s.id, 1, text.slice(100_000));
      assert.equal((await new Api(t.base, s.token).post(`/api/v1/ingest/sessions/${s.id}/close`, { status: 'ended' })).status, 200);
      const deadline = Date.now() + 10_000;
      while ((await files(s.id)).length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      assert.deepEqual(await files(s.id), ['cast-index', 'cast-keyframes'], 'built at the end, stored with the recording');

      const views = async () => (await admin.get(`/api/v1/audit?action=recording.view&targetId=${s.id}`)).body.items.length as number;
      const before = await views();
      const res = await admin.get(`/api/v1/sessions/${s.id}/recording/index`);
      assert.equal(res.status, 200);
      const index = castIndex.parse(res.body);
      assert.equal(await views(), before + 1, 'opening through the index is one audited viewing');
      assert.equal(index.size, Buffer.byteLength(text));
      assert.equal(index.durationMs, 300_000);
      assert.deepEqual([index.cols, index.rows], [100, 30]);
      assert.ok(index.keyframes.length >= 4, `keyframes: ${index.keyframes.length}`);

      const kf = index.keyframes[2]!;
      const snap = await range(t.base, admin, `/api/v1/sessions/${s.id}/recording/keyframes`, `bytes=${kf.snapshot[0]}-${kf.snapshot[0] + kf.snapshot[1] - 1}`);
      assert.equal(snap.status, 206);
      assert.equal(Buffer.byteLength(snap.text), kf.snapshot[1]);
      const second = kf.at / 1000;
      assert.ok(snap.text.includes(`second-${second} `), 'the keyframe holds the screen at its time');
      assert.equal(snap.text.includes(`second-${second + 1} `), false);
      const next = index.keyframes[3]!;
      const seg = await range(t.base, admin, `/api/v1/sessions/${s.id}/recording?format=cast`, `bytes=${kf.offset}-${next.offset - 1}`);
      assert.equal(seg.status, 206);
      assert.ok(seg.text.startsWith(`[${second + 1},"o","second-${second + 1} `), seg.text.slice(0, 40));
      assert.ok(seg.text.endsWith(`second-${next.at / 1000} ${'y'.repeat(1000)}\\r\\n"]\n`));
      assert.equal(await views(), before + 1, 'Range requests past the header add no audit entry');
    });

    it('extends the index of an active recording as it grows', async () => {
      const s = await open();
      const text = cast(200);
      await putChunk(t.base, s.token, s.id, 0, text.slice(0, 120_000));
      const first = castIndex.parse((await admin.get(`/api/v1/sessions/${s.id}/recording/index`)).body);
      assert.ok(first.size < 120_000 && first.scanned === 120_000, 'the half-written last line is not covered');
      await putChunk(t.base, s.token, s.id, 1, text.slice(120_000));
      const second = castIndex.parse((await admin.get(`/api/v1/sessions/${s.id}/recording/index`)).body);
      assert.equal(second.size, Buffer.byteLength(text));
      assert.equal(second.durationMs, 200_000);
      assert.deepEqual(second.keyframes.slice(0, first.keyframes.length), first.keyframes, 'an extension keeps the earlier keyframes');
      assert.ok(second.keyframes.length > first.keyframes.length);
    });

    it('audits every way of reading a recording once per viewing: a Range past the first byte, the keyframes alone', async () => {
      const count = async (action: string, id: string) => (await admin.get(`/api/v1/audit?action=${action}&targetId=${id}`)).body.items.length as number;
      const s = await open();
      const text = cast(300);
      await putChunk(t.base, s.token, s.id, 0, text);
      assert.equal((await new Api(t.base, s.token).post(`/api/v1/ingest/sessions/${s.id}/close`, { status: 'ended' })).status, 200);
      const skipFirst = await range(t.base, admin, `/api/v1/sessions/${s.id}/recording?format=cast&download=1`, 'bytes=1-');
      assert.equal(skipFirst.status, 206);
      assert.equal(skipFirst.text, text.slice(1), 'all but the first byte');
      assert.equal(await count('recording.download', s.id), 1, 'a download that skips the first byte is audited');
      assert.equal((await range(t.base, admin, `/api/v1/sessions/${s.id}/recording?format=cast&download=1`, 'bytes=100-')).status, 206);
      assert.equal(await count('recording.download', s.id), 1, 'the same person downloading again within the window adds no entry');

      const deadline = Date.now() + 10_000;
      while ((await files(s.id)).length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      assert.equal(await count('recording.view', s.id), 0);
      const kf = await range(t.base, admin, `/api/v1/sessions/${s.id}/recording/keyframes`, 'bytes=0-99');
      assert.equal(kf.status, 206);
      assert.equal(await count('recording.view', s.id), 1, 'the saved screens alone are a viewing');
      assert.equal((await admin.get(`/api/v1/sessions/${s.id}/recording/index`)).status, 200);
      assert.equal(await count('recording.view', s.id), 1, 'the index of the same viewing adds no entry');
    });

    it('answers only those who may play the recording, and only for terminal recordings', async () => {
      const s = await open();
      await putChunk(t.base, s.token, s.id, 0, cast(5));
      for (const path of ['index', 'keyframes']) {
        assert.equal((await nobody.get(`/api/v1/sessions/${s.id}/recording/${path}`)).status, 404, path);
        assert.equal((await new Api(t.base).get(`/api/v1/sessions/${s.id}/recording/${path}`)).status, 401, path);
      }
      const desk = await open('webm');
      const r = await admin.get(`/api/v1/sessions/${desk.id}/recording/index`);
      assert.equal(r.status, 400);
      assert.match(r.body.error.message, /no terminal recording/);
      const empty = await open();
      assert.equal((await admin.get(`/api/v1/sessions/${empty.id}/recording/index`)).status, 409);
      const bad = await open();
      await putChunk(t.base, bad.token, bad.id, 0, '<html>not a cast</html>\n');
      const b = await admin.get(`/api/v1/sessions/${bad.id}/recording/index`);
      assert.equal(b.status, 409);
      assert.match(b.body.error.message, /not an asciicast/);
      assert.equal((await range(t.base, admin, `/api/v1/sessions/${s.id}/recording/keyframes`, 'bytes=999999-')).status, 416);
    });
  });
}
