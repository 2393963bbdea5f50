import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { allCommandLines, isAlive, programPids, RestartableServer, runVigil, stopLaunchers, launchingUser } from './helpers/launcher.ts';
import { ADMIN_PASSWORD, Api, uniqueName } from './helpers/server.ts';
import { freePort } from './helpers/sshd.ts';
import { tempDir } from './helpers/stores.ts';
import { startXvfb, until, type XDisplay } from './helpers/xvfb.ts';

/**
 * The `rdp` launcher kind end to end: a real RDP server (FreeRDP's shadow server sharing an Xvfb
 * "remote desktop", NLA with a SAM file, so a wrong password is refused) and the real xfreerdp
 * started by `vigil launch` on the workstation's display, the password on its stdin only.
 */
describe('desktop launcher: rdp kind (xfreerdp against a FreeRDP shadow server)', () => {
  const srv = new RestartableServer();
  const home = tempDir('vigil-launcher-rdp-');
  const rdpPassword = `Rdp-${Math.random().toString(36).slice(2)}-secret`;
  let remote: XDisplay;
  let workstation: XDisplay;
  let shadow: ChildProcess;
  let remoteApp: ChildProcess;
  let rdpPort: number;
  let admin: Api;
  let user: Api;
  let userId: string;

  before(async () => {
    [remote, workstation] = await Promise.all([startXvfb({ size: '800x600', windowManager: false }), startXvfb({ size: '1280x720' })]);
    // A clock on the remote desktop: its screen changes every second, and so must the recording.
    remoteApp = spawn('xclock', ['-update', '1', '-geometry', '300x300+20+20'], { env: { ...process.env, ...remote.env }, stdio: 'ignore' });
    const sam = path.join(home.dir, 'sam');
    const nt = execFileSync('winpr-hash', ['-u', 'bob', '-p', rdpPassword], { encoding: 'utf8' }).trim();
    fs.writeFileSync(sam, `bob:::${nt}:::\n`, { mode: 0o600 });
    rdpPort = await freePort();
    shadow = spawn('freerdp-shadow-cli', [`/port:${rdpPort}`, '/bind-address:127.0.0.1', '/sec:nla', `/sam-file:${sam}`, '+auth'], { env: { ...process.env, ...remote.env, HOME: home.dir }, stdio: 'ignore' });
    await until('the RDP server', async () => {
      const net = await import('node:net');
      return new Promise<boolean>((r) => {
        const s = net.connect(rdpPort, '127.0.0.1', () => (s.end(), r(true)));
        s.on('error', () => r(false));
      });
    }, 15_000);
    await srv.start();
    admin = await Api.login(srv.base, 'admin', ADMIN_PASSWORD);
    ({ id: userId, api: user } = await launchingUser(srv.base, admin));
  });

  after(async () => {
    await stopLaunchers();
    await srv.remove();
    shadow?.kill();
    remoteApp?.kill();
    await remote?.stop();
    await workstation?.stop();
    home.remove();
  });

  const secret = async (password: string): Promise<string> => {
    const name = uniqueName('rdp');
    const res = await admin.post('/api/v1/secrets', { name, kind: 'desktop', host: '127.0.0.1', port: rdpPort, username: 'bob', password, launcher: { type: 'rdp' }, access: { users: [userId] } });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return name;
  };
  const launch = (name: string) =>
    runVigil(['launch', name, '--server', srv.base, '--token', user.token!], { ...workstation.env, HOME: home.dir, XDG_CONFIG_HOME: path.join(home.dir, 'config'), VIGIL_SPOOL_DIR: path.join(home.dir, 'spool') });
  const session = async (id: string) => (await admin.get(`/api/v1/sessions/${id}`)).body;

  it('connects with the password on stdin only, records the remote desktop, and terminate ends xfreerdp', async () => {
    const run = launch(await secret(rdpPassword));
    const id = await run.sessionId;
    const client = await run.programPid;
    // The RDP client's window shows the remote desktop on the workstation's display.
    await until('the xfreerdp window', async () => (await workstation.tree()).includes(`FreeRDP: 127.0.0.1:${rdpPort}`), 30_000);
    assert.deepEqual(allCommandLines().filter((c) => c.includes(rdpPassword)), [], 'the password is on no command line');
    assert.ok(fs.readFileSync(`/proc/${client}/cmdline`, 'utf8').includes('/from-stdin:force'));
    await until('recorded chunks', async () => (await session(id)).recording.chunks >= 3, 20_000).catch(async (err: Error) => {
      throw new Error(`${err.message}: ${JSON.stringify(await session(id))}\n${run.lines.join('\n')}`);
    });
    const pids = programPids(id);
    assert.ok(pids.includes(client));
    assert.equal((await admin.post(`/api/v1/sessions/${id}/terminate`, { message: 'rdp test over' })).status, 202);
    assert.equal(await run.exit, 7, run.lines.join('\n'));
    assert.deepEqual(pids.filter(isAlive), [], 'xfreerdp is stopped');
    const s = await session(id);
    assert.equal(s.status, 'terminated');
    assert.ok(s.recording.chunks >= 3);
  });

  it('a wrong stored password is refused by the server: the client gives up and the session ends', async () => {
    const run = launch(await secret('not-the-rdp-password'));
    const id = await run.sessionId;
    const code = await Promise.race([run.exit, new Promise<number>((r) => setTimeout(() => r(-2), 60_000))]);
    assert.equal(code, 0, run.lines.join('\n'));
    assert.match(run.lines.join('\n'), /the launched program exited \(code [1-9]\d*\)/);
    const s = await session(id);
    assert.equal(s.status, 'ended');
    assert.ok(!(await workstation.tree()).includes(`FreeRDP: 127.0.0.1:${rdpPort}`));
  });
});
