import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import WebSocket from 'ws';
import { allCommandLines, decodeErrors, ffprobePackets, hasCues, isAlive, programPids, RestartableServer, runVigil, stopLaunchers, launchingUser } from './helpers/launcher.ts';
import { ffprobeCodec, ffprobeDuration } from './helpers/media.ts';
import { ADMIN_PASSWORD, Api, uniqueName } from './helpers/server.ts';
import { startSshd } from './helpers/sshd.ts';
import { tempDir } from './helpers/stores.ts';
import { startXvfb, until, type XDisplay } from './helpers/xvfb.ts';

/**
 * `vigil launch` end to end: the real CLI, a real server, Xvfb with openbox, real X programs
 * (x11-apps) driven by xdotool, real ffmpeg capture, ffprobe on the finalised recording.
 */
describe('desktop launcher (vigil launch)', () => {
  const srv = new RestartableServer();
  const home = tempDir('vigil-launcher-home-');
  let x: XDisplay;
  let admin: Api;
  let user: Api;
  let userId: string;
  const password = `Pw-${Math.random().toString(36).slice(2)}-never-on-a-command-line`;
  const env = (): Record<string, string | undefined> => ({ DISPLAY: x.display, XDG_CONFIG_HOME: path.join(home.dir, 'config'), VIGIL_SPOOL_DIR: path.join(home.dir, 'spool'), VIGIL_TOKEN: undefined, VIGIL_SERVER: undefined });

  const createSecret = async (launcher: { type: 'process'; command: string; args: string[] }, grant = true): Promise<string> => {
    const name = uniqueName('desk');
    const res = await admin.post('/api/v1/secrets', { name, kind: 'desktop', host: '192.0.2.10', port: 3389, username: 'bob', password, launcher, access: { users: grant ? [userId] : [] } });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return name;
  };
  const session = async (id: string) => (await admin.get(`/api/v1/sessions/${id}`)).body;
  /** The finalised WebM (the server remuxes at session end: it then carries Cues). */
  const finalWebm = async (id: string, minChunks = 1): Promise<string> => {
    const file = path.join(home.dir, `${id}.webm`);
    await until('the finalised WebM', async () => {
      const s = await session(id);
      if (s.recording.chunks < minChunks) return false;
      const res = await fetch(`${srv.base}/api/v1/sessions/${id}/recording?format=webm`, { headers: { authorization: `Bearer ${admin.token}` } });
      if (res.status !== 200) return false;
      fs.writeFileSync(file, Buffer.from(await res.arrayBuffer()));
      return hasCues(file);
    }, 20_000);
    return file;
  };
  const events = async (id: string) => (await admin.get(`/api/v1/sessions/${id}/activity`)).body.items as Array<{ at: number; type: string; source: string; text: string; details: Record<string, unknown> | null }>;

  before(async () => {
    x = await startXvfb({ size: '1280x720' });
    await srv.start();
    admin = await Api.login(srv.base, 'admin', ADMIN_PASSWORD);
    ({ id: userId, api: user } = await launchingUser(srv.base, admin));
    // vigil login keeps the token for vigil launch, readable by the user only.
    const login = runVigil(['login', '--server', srv.base, '--token', user.token!], env());
    assert.equal(await login.exit, 0, login.lines.join('\n'));
    const file = path.join(home.dir, 'config', 'vigil', 'credentials.json');
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    assert.equal(JSON.parse(fs.readFileSync(file, 'utf8')).token, user.token);
  });

  after(async () => {
    await stopLaunchers();
    await srv.remove();
    await x?.stop();
    home.remove();
  });

  it('records typing and window switches, shows a message, and terminate ends the program tree', async () => {
    const name = await createSecret({ type: 'process', command: '/bin/sh', args: ['-c', 'xlogo -geometry 200x200+900+40 & xedit -geometry 700x400+40+40; wait'] });
    const run = runVigil(['launch', name], env());
    const id = await run.sessionId;
    const startedAt = (await session(id)).startedAt as number;
    const sinceStart = (): number => Date.now() - startedAt;
    const editor = (await until('the xedit window', async () => (await x.x('xdotool', ['search', '--class', 'Xedit']).catch(() => '')).trim().split('\n')[0])).trim();
    const logo = (await until('the xlogo window', async () => (await x.x('xdotool', ['search', '--class', 'XLogo']).catch(() => '')).trim().split('\n')[0])).trim();
    assert.ok(programPids(id).length >= 3, 'sh, xlogo and xedit run with the session marker');

    // The target password reaches the program only by its environment.
    assert.deepEqual(allCommandLines().filter((c) => c.includes(password)), []);
    assert.ok(fs.readFileSync(`/proc/${await run.programPid}/environ`).includes(Buffer.from(`VIGIL_PASSWORD=${password}`)));

    await x.x('xdotool', ['windowactivate', '--sync', editor]);
    await new Promise((r) => setTimeout(r, 2000)); // let the new windows' first paint pass
    const typingFrom = sinceStart();
    await x.x('xdotool', ['type', '--delay', '200', 'the quick brown fox jumps over the lazy dog in xedit']);
    const typingTo = sinceStart();
    await new Promise((r) => setTimeout(r, 1500));
    await x.x('xdotool', ['windowactivate', '--sync', logo]);
    await new Promise((r) => setTimeout(r, 1200));
    await x.x('xdotool', ['windowactivate', '--sync', editor]);
    await new Promise((r) => setTimeout(r, 1500));

    // A still screen for 6 s.
    const staticFrom = sinceStart();
    await new Promise((r) => setTimeout(r, 6000));
    const staticTo = sinceStart();

    // A message opens a real X dialog carrying the administrator's text.
    const text = `Please save your work ${Math.random().toString(36).slice(2, 8)}`;
    assert.equal((await admin.post(`/api/v1/sessions/${id}/message`, { text })).status, 202);
    await until('the message dialog', async () => (await x.tree()).includes(text));
    assert.ok(programPids(id).length >= 3, 'a message leaves the program running');

    const pids = programPids(id);
    assert.equal((await admin.post(`/api/v1/sessions/${id}/terminate`, { message: 'end of the audit test' })).status, 202);
    assert.equal(await run.exit, 7, run.lines.join('\n'));
    assert.deepEqual(pids.filter(isAlive), [], 'every process of the launched program is gone');
    assert.ok((await x.tree()).includes('end of the audit test'), 'the terminate dialog is shown');

    const s = await session(id);
    assert.equal(s.status, 'terminated');
    assert.equal(s.endedBy, 'admin');
    const file = await finalWebm(id);
    assert.equal(await decodeErrors(file), '');
    const duration = await ffprobeDuration(file);
    const wall = (s.endedAt - s.startedAt) / 1000;
    assert.ok(Math.abs(duration - wall) <= 1, `video ${duration} s, session ${wall} s`);
    const packets = await ffprobePackets(file);
    assert.ok(packets[0]!.key && packets[0]!.t === 0);
    const inStatic = packets.filter((p) => p.t * 1000 > staticFrom + 1000 && p.t * 1000 < staticTo);
    assert.ok(inStatic.length <= 2, `a still screen added ${inStatic.length} frames`);
    const inTyping = packets.filter((p) => p.t * 1000 >= typingFrom && p.t * 1000 <= typingTo + 1000);
    const typingSeconds = Math.floor((typingTo - typingFrom) / 1000);
    // A frame each second while the screen changes (one or two may be lost to a machine too busy
    // to grab on time; a decimated typing run would keep one or two in all).
    assert.ok(typingSeconds >= 4 && inTyping.length >= typingSeconds - 2, `typing for ${(typingTo - typingFrom) / 1000} s gave ${inTyping.length} frames`);
    // Seeking: a frame decodes from the middle.
    assert.ok(hasCues(file));

    const ev = await events(id);
    const changes = ev.filter((e) => e.type === 'screen-change' && e.source === 'launcher');
    const typingChanges = changes.filter((e) => e.at >= typingFrom + 1000 && e.at <= typingTo + 1000);
    assert.ok(typingChanges.length >= 3, `screen changes while typing: ${typingChanges.length}`);
    for (const c of typingChanges) assert.ok((c.details!.magnitude as number) > 0 && (c.details!.magnitude as number) < 0.2, JSON.stringify(c));
    // As with the frames above, one late repaint of the re-activated window may land in the still
    // period on a busy machine (seen in CI: one change of 2 %); a changing screen gives one a second.
    const stillChanges = changes.filter((e) => e.at > staticFrom + 1000 && e.at < staticTo);
    assert.ok(stillChanges.length <= 1, `screen changes while still: ${JSON.stringify(stillChanges)}`);
    const windows = ev.filter((e) => e.type === 'window' && e.at >= typingTo).map((e) => `${e.details!.app}:${e.text}`);
    assert.deepEqual(windows.slice(0, 2), ['XLogo:xlogo', 'Xedit:xedit']);
    assert.ok(ev.some((e) => e.type === 'terminate' && e.source === 'launcher'));
  });

  it('loses no chunk across a server restart, fails closed when the server stays away, then uploads the spool', async () => {
    const settings = (await admin.get('/api/v1/settings/session-recording')).body;
    assert.equal(settings.failClosedSeconds, 10, 'default fail-closed delay');
    const bad = await admin.put('/api/v1/settings/session-recording', { ...settings, failClosedSeconds: -1 });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.details.field, 'failClosedSeconds');
    assert.equal((await admin.put('/api/v1/settings/session-recording', { ...settings, failClosedSeconds: 8 })).status, 200);
    const name = await createSecret({ type: 'process', command: 'xclock', args: ['-update', '1', '-geometry', '300x300+100+100'] });
    const run = runVigil(['launch', name], env());
    const id = await run.sessionId;
    const clock = await run.programPid;
    await until('three chunks', async () => (await session(id)).recording.chunks >= 3, 15_000);

    // Watch Live: a viewer joining mid-stream gets the WebM header and the current cluster, then
    // each new chunk; what it receives decodes on its own.
    const ws = new WebSocket(`${srv.base.replace('http', 'ws')}/api/v1/sessions/${id}/live`, { headers: { authorization: `Bearer ${admin.token}` } });
    const live: Buffer[] = [];
    ws.on('message', (raw: Buffer) => {
      const f = JSON.parse(raw.toString()) as { type: string; join?: boolean; data?: string };
      if (f.type === 'media' && (f.join || live.length > 0)) live.push(Buffer.from(f.data!, 'base64'));
    });
    await until('three live chunks after the join point', () => live.length >= 4, 10_000);
    ws.close();
    const liveFile = path.join(home.dir, 'live.webm');
    fs.writeFileSync(liveFile, Buffer.concat(live));
    assert.equal(await decodeErrors(liveFile), '');
    assert.ok((await ffprobePackets(liveFile)).length >= 3);

    // A short restart (well under the fail-closed delay, counting the server's own stop and
    // start on a loaded machine): the program keeps running.
    await srv.stop();
    await new Promise((r) => setTimeout(r, 2000));
    await srv.start();
    admin = await Api.login(srv.base, 'admin', ADMIN_PASSWORD);
    const before = (await session(id)).recording.chunks;
    await until('uploads to resume', async () => (await session(id)).recording.chunks >= before + 3, 15_000).catch((err: Error) => {
      throw new Error(`${err.message}:\n${run.lines.join('\n')}`);
    });
    assert.ok(isAlive(clock), `a 2 s outage does not stop the program:\n${run.lines.join('\n')}`);

    // The server goes away for longer than 8 s: the program is stopped, the recording spooled.
    await srv.stop();
    const down = Date.now();
    await until('the program to be stopped', () => !isAlive(clock), 20_000);
    const stoppedAfter = (Date.now() - down) / 1000;
    assert.ok(stoppedAfter >= 7, `stopped ${stoppedAfter} s after the server went away`);
    assert.equal(run.proc.exitCode, null, 'the launcher waits to upload');
    const spool = path.join(home.dir, 'spool', id);
    assert.ok(fs.readdirSync(spool).some((f) => f.endsWith('.chunk')), 'chunks wait in the spool');
    await srv.start();
    admin = await Api.login(srv.base, 'admin', ADMIN_PASSWORD);
    assert.equal(await run.exit, 8, run.lines.join('\n'));

    const uploaded = /recording uploaded \((\d+) chunk/.exec(run.lines.join('\n'));
    assert.ok(uploaded, run.lines.join('\n'));
    const s = await session(id);
    assert.equal(s.status, 'terminated');
    assert.match(s.endReason, /fail closed/);
    // Every chunk arrived: the contiguous, hash-chained prefix is all of them.
    assert.equal(s.recording.chunks, Number(uploaded[1]));
    assert.equal(fs.existsSync(spool), false, 'the spool is emptied once acknowledged');
    const file = await finalWebm(id, Number(uploaded[1]));
    assert.equal(await decodeErrors(file), '');
    assert.ok((await ffprobePackets(file)).length >= 8);
    assert.equal((await admin.put('/api/v1/settings/session-recording', { ...settings, failClosedSeconds: 10 })).status, 200);
  });

  // AV1 is the default (the other tests record it too); VP8 stays a setting. Each run also ends
  // with the program and checks the video is as long as the session.
  for (const codec of ['av1', 'vp8'] as const) it(`records ${codec} when the setting says so: a seekable WebM as long as the session, key frames flagged, converted to H.264/MP4`, async () => {
    const settings = (await admin.get('/api/v1/settings/session-recording')).body;
    assert.equal((await admin.put('/api/v1/settings/session-recording', { ...settings, videoCodec: codec })).status, 200);
    try {
      // Windows that appear and go: several changed frames between the first and the final keyframe.
      const name = await createSecret({ type: 'process', command: '/bin/sh', args: ['-c', 'xlogo -geometry 150x150+10+10 & a=$!; sleep 2; xlogo -geometry 300x200+400+200 & b=$!; sleep 2; kill $a; sleep 2; kill $b'] });
      const run = runVigil(['launch', name], env());
      const id = await run.sessionId;
      assert.equal(await run.exit, 0, run.lines.join('\n'));
      const s = await session(id);
      assert.equal(s.status, 'ended');
      const file = await finalWebm(id);
      assert.equal(await ffprobeCodec(file), codec);
      assert.equal(await decodeErrors(file), '');
      const duration = await ffprobeDuration(file);
      const wall = (s.endedAt - s.startedAt) / 1000;
      assert.ok(wall >= 6, `session ${wall} s`);
      assert.ok(Math.abs(duration - wall) <= 1, `video ${duration} s, session ${wall} s`);
      // The first frame and the final one (a keyframe of the screen at the end, from its own
      // encoder: a second sequence header mid-stream) are key; the changes between are not.
      const packets = await ffprobePackets(file);
      assert.ok(packets.length >= 4, `${packets.length} frames`);
      assert.equal(packets[0]!.key, true);
      assert.equal(packets.at(-1)!.key, true);
      assert.ok(packets.slice(1, -1).some((p) => !p.key), 'changes between are coded as inter frames');
      assert.ok(packets.slice(1, -1).every((p) => !p.key), 'no other key frame: the launcher forces one only at the start');
      // Seekable (Cues): a frame decoded from the last key frame's time.
      const seek = await promisify(execFile)('ffmpeg', ['-v', 'error', '-ss', String(packets.at(-1)!.t), '-i', file, '-frames:v', '1', '-f', 'null', '-']);
      assert.equal(seek.stderr.trim(), '');

      assert.equal((await admin.post(`/api/v1/sessions/${id}/processing`, {})).status, 202);
      await until('the MP4', async () => (await session(id)).recording.processing?.state === 'done', 60_000);
      const mp4 = path.join(home.dir, `${id}.mp4`);
      const res = await fetch(`${srv.base}/api/v1/sessions/${id}/recording?format=mp4`, { headers: { authorization: `Bearer ${admin.token}` } });
      assert.equal(res.status, 200);
      fs.writeFileSync(mp4, Buffer.from(await res.arrayBuffer()));
      assert.equal(await ffprobeCodec(mp4), 'h264');
      assert.equal(await decodeErrors(mp4), '');
      assert.ok(Math.abs((await ffprobeDuration(mp4)) - duration) <= 1, 'the MP4 lasts as long as the WebM');
    } finally {
      assert.equal((await admin.put('/api/v1/settings/session-recording', { ...settings })).status, 200);
    }
  });

  it('ssh kind: a terminal running ssh logs in with the password from SSH_ASKPASS, never on a command line', async () => {
    const sshd = await startSshd();
    try {
      const name = uniqueName('ssh-desk');
      const known = path.join(home.dir, 'known_hosts');
      const res = await admin.post('/api/v1/secrets', {
        name, kind: 'desktop', host: '127.0.0.1', port: sshd.port, username: sshd.user, password: sshd.password,
        launcher: { type: 'ssh', command: 'xterm', args: ['-o', `UserKnownHostsFile=${known}`] }, access: { users: [userId] },
      });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      const run = runVigil(['launch', name], env());
      const id = await run.sessionId;
      const term = (await until('the xterm window', async () => (await x.x('xdotool', ['search', '--onlyvisible', '--class', 'XTerm']).catch(() => '')).trim().split('\n')[0])).trim();
      await new Promise((r) => setTimeout(r, 3000)); // ssh connects and logs in
      assert.deepEqual(allCommandLines().filter((c) => c.includes(sshd.password)), []);
      await x.x('xdotool', ['windowactivate', '--sync', term]);
      await x.x('xdotool', ['type', '--delay', '30', `echo launched-${id.slice(0, 8)} > ~/launcher-ssh.txt; exit`]);
      await x.x('xdotool', ['key', 'Return']);
      assert.equal(await run.exit, 0, run.lines.join('\n'));
      assert.equal(fs.readFileSync(path.join(sshd.home, 'launcher-ssh.txt'), 'utf8').trim(), `launched-${id.slice(0, 8)}`);
      assert.equal((await session(id)).status, 'ended');
    } finally {
      await sshd.stop();
    }
  });

  it('says in one line why it cannot launch: no display, server unreachable, no permission', async () => {
    const name = await createSecret({ type: 'process', command: 'xlogo', args: [] });
    const noDisplay = runVigil(['launch', name], { ...env(), DISPLAY: undefined });
    assert.equal(await noDisplay.exit, 5);
    assert.equal(noDisplay.lines.length, 1, noDisplay.lines.join('\n'));
    assert.match(noDisplay.lines[0]!, /cannot record the screen: no X display/);
    const unreachable = runVigil(['launch', name, '--server', 'http://127.0.0.1:9'], { ...env(), VIGIL_TOKEN: user.token });
    assert.equal(await unreachable.exit, 3);
    assert.match(unreachable.lines.join('\n'), /cannot reach the Vigil server/);
    const hidden = await createSecret({ type: 'process', command: 'xlogo', args: [] }, false);
    const denied = runVigil(['launch', hidden], env());
    assert.equal(await denied.exit, 4);
    assert.match(denied.lines[0]!, /no secret .* that you may launch/);
    const badToken = runVigil(['launch', name, '--server', srv.base, '--token', 'vga_not-a-token-at-all'], env());
    assert.equal(await badToken.exit, 4);
    assert.match(badToken.lines[0]!, /not signed in/);
  });
});
