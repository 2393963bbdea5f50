import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ffprobePackets, hasCues, isAlive, RestartableServer, runVigil, stopLaunchers, launchingUser } from './helpers/launcher.ts';
import { ADMIN_PASSWORD, Api, uniqueName } from './helpers/server.ts';
import { tempDir } from './helpers/stores.ts';
import { startXvfb, until, type XDisplay } from './helpers/xvfb.ts';

/**
 * The session limits from the settings, enforced by the launcher: a warning dialog, then the
 * session ends. The shortest limit is one minute, so both run at once (each on its own display,
 * as a still screen is what makes a session inactive) in this file of their own.
 */
describe('desktop launcher limits: inactivity timeout and maximum session length', () => {
  const srv = new RestartableServer();
  const home = tempDir('vigil-launcher-limits-');
  let idleDisplay: XDisplay;
  let busyDisplay: XDisplay;
  let admin: Api;
  let user: Api;
  let userId: string;

  before(async () => {
    [idleDisplay, busyDisplay] = await Promise.all([startXvfb({ size: '640x480' }), startXvfb({ size: '640x480' })]);
    await srv.start();
    admin = await Api.login(srv.base, 'admin', ADMIN_PASSWORD);
    ({ id: userId, api: user } = await launchingUser(srv.base, admin));
  });

  after(async () => {
    await stopLaunchers();
    await srv.remove();
    await idleDisplay?.stop();
    await busyDisplay?.stop();
    home.remove();
  });

  const secret = async (command: string, args: string[]): Promise<string> => {
    const name = uniqueName('desk');
    const res = await admin.post('/api/v1/secrets', { name, kind: 'desktop', host: '192.0.2.20', username: 'bob', password: 'pw-limits', launcher: { type: 'process', command, args }, access: { users: [userId] } });
    assert.equal(res.status, 201);
    return name;
  };
  const setLimits = async (inactivityTimeoutMinutes: number, maxSessionMinutes: number): Promise<void> => {
    const s = (await admin.get('/api/v1/settings/session-recording')).body;
    assert.equal((await admin.put('/api/v1/settings/session-recording', { ...s, inactivityTimeoutMinutes, maxSessionMinutes })).status, 200);
  };
  const launch = (name: string, x: XDisplay) =>
    runVigil(['launch', name, '--server', srv.base, '--token', user.token!], { DISPLAY: x.display, VIGIL_SPOOL_DIR: path.join(home.dir, 'spool'), XDG_CONFIG_HOME: path.join(home.dir, 'config') });

  it('warns, then ends a still session after the inactivity timeout and a busy one at the maximum length', async () => {
    // The policy is read when the grant is redeemed: each launch keeps the limits set before it.
    await setLimits(1, 0);
    const idle = launch(await secret('xlogo', ['-geometry', '200x200+10+10']), idleDisplay);
    const idleId = await idle.sessionId;
    await setLimits(0, 1);
    const busy = launch(await secret('xclock', ['-update', '1', '-geometry', '200x200+10+10']), busyDisplay);
    const busyId = await busy.sessionId;
    const [idlePid, busyPid] = [await idle.programPid, await busy.programPid];
    await setLimits(0, 0);

    // A warning half-way through a one-minute limit, on each display.
    const warned = async (x: XDisplay) => (await x.tree()).includes('Vigil: your session will end soon');
    await until('the inactivity warning', () => warned(idleDisplay), 45_000);
    await until('the maximum-length warning', () => warned(busyDisplay), 45_000);
    assert.ok(isAlive(idlePid) && isAlive(busyPid), 'a warning does not end the session');

    const exited = (r: typeof idle) => Promise.race([r.exit, new Promise<number>((res) => setTimeout(() => res(-2), 60_000).unref())]);
    assert.equal(await exited(idle), 7, idle.lines.join('\n'));
    assert.equal(await exited(busy), 7, busy.lines.join('\n'));
    assert.ok(!isAlive(idlePid) && !isAlive(busyPid), 'the programs are stopped');
    const [a, b] = [(await admin.get(`/api/v1/sessions/${idleId}`)).body, (await admin.get(`/api/v1/sessions/${busyId}`)).body];
    assert.equal(a.status, 'terminated');
    assert.match(a.endReason, /no activity/);
    assert.equal(b.status, 'terminated');
    assert.match(b.endReason, /maximum session length/);
    const length = (b.endedAt - b.startedAt) / 1000;
    assert.ok(length >= 59 && length < 66, `the busy session lasted ${length} s`);

    // The idle session's screen stood still for half a minute before the warning: hardly a frame.
    const file = path.join(home.dir, 'idle.webm');
    await until('the finalised WebM', async () => {
      const res = await fetch(`${srv.base}/api/v1/sessions/${idleId}/recording?format=webm`, { headers: { authorization: `Bearer ${admin.token}` } });
      if (res.status !== 200) return false;
      fs.writeFileSync(file, Buffer.from(await res.arrayBuffer()));
      return hasCues(file);
    }, 20_000);
    const still = (await ffprobePackets(file)).filter((p) => p.t > 4 && p.t < 29);
    assert.ok(still.length <= 3, `25 s of a still screen added ${still.length} frames`);
  });
});
