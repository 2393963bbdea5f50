import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import dbus from 'dbus-next';
import { createLogger } from '../src/adapters/log/logger.ts';
import { AgentClient } from '../src/agent/agent-client.ts';
import { HostAgent } from '../src/agent/agent.ts';
import { LogindLoginSource } from '../src/agent/logins/logind-logins.ts';
import { UserNames } from '../src/agent/proc.ts';
import { buildProcConnector, ProcConnectorCapture } from '../src/agent/processes/proc-connector-capture.ts';
import { ADMIN_PASSWORD, Api, startTestServer, type TestServer } from './helpers/server.ts';
import { Terminal, waitFor } from './helpers/pty-login.ts';

/**
 * logind itself cannot run here (no systemd as PID 1: it starts, but cannot create a session), so
 * these tests run the agent's D-Bus client against a real dbus-daemon on which a stand-in owns
 * `org.freedesktop.login1` and answers what logind answers: Manager.ListSessions, the sessions'
 * properties (GetAll) and the SessionNew / SessionRemoved signals. The sessions' leaders are real
 * processes (pty logins), so the agent attributes their real processes.
 */
class FakeLogind {
  private readonly sessions = new Map<string, Record<string, dbus.Variant>>();
  constructor(readonly bus: dbus.MessageBus) {}

  static async start(address: string): Promise<FakeLogind> {
    const bus = dbus.sessionBus({ busAddress: address });
    const f = new FakeLogind(bus);
    bus.addMethodHandler((m: dbus.Message) => f.handle(m));
    assert.equal(await bus.requestName('org.freedesktop.login1', 0), dbus.RequestNameReply.PRIMARY_OWNER);
    return f;
  }

  private handle(m: dbus.Message): boolean {
    if (m.interface === 'org.freedesktop.login1.Manager' && m.member === 'ListSessions') {
      const list = [...this.sessions.entries()].map(([id, p]) => [id, p.User!.value[0], p.Name!.value, '', sessionPath(id)]);
      this.bus.send(dbus.Message.newMethodReturn(m, 'a(susso)', [list]));
      return true;
    }
    if (m.interface === 'org.freedesktop.DBus.Properties' && m.member === 'GetAll') {
      const id = [...this.sessions.keys()].find((k) => sessionPath(k) === m.path);
      // dbus-next's types say newError takes a string; it takes the call it answers.
      if (!id) this.bus.send(dbus.Message.newError(m as unknown as string, 'org.freedesktop.login1.NoSuchSession', 'no such session'));
      else this.bus.send(dbus.Message.newMethodReturn(m, 'a{sv}', [this.sessions.get(id)]));
      return true;
    }
    return false;
  }

  add(id: string, s: { uid: number; name: string; leader: number; tty?: string; display?: string; remoteHost?: string; class?: string }, announce = true): void {
    this.sessions.set(id, {
      Id: new dbus.Variant('s', id),
      User: new dbus.Variant('(uo)', [s.uid, `/org/freedesktop/login1/user/_${s.uid}`]),
      Name: new dbus.Variant('s', s.name),
      Timestamp: new dbus.Variant('t', BigInt(Date.now()) * 1000n),
      TTY: new dbus.Variant('s', s.tty ?? ''),
      Display: new dbus.Variant('s', s.display ?? ''),
      Remote: new dbus.Variant('b', !!s.remoteHost),
      RemoteHost: new dbus.Variant('s', s.remoteHost ?? ''),
      Leader: new dbus.Variant('u', s.leader),
      Class: new dbus.Variant('s', s.class ?? 'user'),
      Type: new dbus.Variant('s', s.display ? 'x11' : 'tty'),
    });
    if (announce) this.signal('SessionNew', id);
  }

  remove(id: string): void {
    this.sessions.delete(id);
    this.signal('SessionRemoved', id);
  }

  private signal(member: string, id: string): void {
    this.bus.send(dbus.Message.newSignal('/org/freedesktop/login1', 'org.freedesktop.login1.Manager', member, 'so', [id, sessionPath(id)]));
  }
}

function sessionPath(id: string): string {
  return `/org/freedesktop/login1/session/_3${id}`;
}

/** A private dbus-daemon (the session bus configuration: anyone may own any name). */
async function startBus(dir: string): Promise<{ address: string; daemon: ChildProcess }> {
  const address = `unix:path=${path.join(dir, 'bus')}`;
  const daemon = spawn('dbus-daemon', ['--session', '--nofork', '--nopidfile', `--address=${address}`, '--print-address=1'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  daemon.stderr!.on('data', (d: Buffer) => (stderr += d.toString())); // "Failed to set fd limit" as non-root-like containers: harmless
  await new Promise<void>((resolve, reject) => {
    daemon.once('error', reject);
    daemon.once('exit', (code) => reject(new Error(`dbus-daemon exited (${code}): ${stderr.trim()}`)));
    daemon.stdout!.once('data', () => resolve());
  });
  return { address, daemon };
}

describe('logins from logind over D-Bus', () => {
  const dirs: string[] = [];
  const tmp = () => {
    const d = mkdtempSync(path.join(os.tmpdir(), 'vigil-logind-'));
    dirs.push(d);
    return d;
  };
  let bus: { address: string; daemon: ChildProcess };
  let logind: FakeLogind;
  const terms: Terminal[] = [];
  const closers: Array<() => unknown> = [];

  before(async () => {
    bus = await startBus(tmp());
    logind = await FakeLogind.start(bus.address);
  });
  after(async () => {
    for (const c of closers.reverse()) await c();
    for (const term of terms) term.kill();
    logind?.bus.disconnect();
    bus?.daemon.kill();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('lists user sessions, follows SessionNew and SessionRemoved, and leaves other classes out', async () => {
    const ssh = await Terminal.open(['bash', '--norc', '--noprofile', '-i'], { SSH_CLIENT: '198.51.100.4 51022 22' });
    const greeter = await Terminal.open(['sleep', '60']);
    terms.push(ssh, greeter);
    logind.add('1', { uid: 0, name: 'root', leader: ssh.pid, tty: 'pts/7', remoteHost: '198.51.100.4' }, false);
    logind.add('2', { uid: 0, name: 'root', leader: greeter.pid, class: 'greeter' }, false);
    const source = await LogindLoginSource.connect(bus.address);
    closers.push(() => source.close());
    const changes: number[] = [];
    source.watch(() => changes.push(Date.now()));

    const [first, ...others] = source.scan();
    assert.equal(others.length, 0, 'the greeter is not a login');
    assert.equal(first!.leaderPid, ssh.pid);
    assert.equal(first!.sid, ssh.pid);
    assert.equal(first!.user, 'root');
    assert.equal(first!.uid, 0);
    assert.equal(first!.tty, 'pts/7');
    assert.equal(first!.remoteAddress, '198.51.100.4');
    assert.equal(first!.remotePort, 51022, 'the port from SSH_CLIENT in the leader\'s environment');
    assert.match(first!.key, /:logind:1$/);
    assert.ok(Math.abs(first!.startedAt - Date.now()) < 60_000);
    assert.equal(source.probe(ssh.pid)?.key, first!.key);
    assert.equal(source.probe(greeter.pid), null);

    const desk = await Terminal.open(['sleep', '60']);
    terms.push(desk);
    logind.add('3', { uid: 0, name: 'root', leader: desk.pid, display: ':5' });
    await waitFor('SessionNew', () => changes.length >= 1 && source.scan().length === 2);
    const d = source.scan().find((l) => l.leaderPid === desk.pid)!;
    assert.equal(d.display, ':5');
    assert.equal(d.tty, null);
    assert.equal(d.remoteAddress, null);
    logind.remove('1');
    await waitFor('SessionRemoved', () => changes.length >= 2 && source.scan().length === 1);
    assert.equal(source.scan()[0]!.leaderPid, desk.pid);
    logind.remove('3');
    await waitFor('the last SessionRemoved', () => source.scan().length === 0);
  });

  it('says clearly when there is no logind on the bus, and when there is no bus', async () => {
    const empty = await startBus(tmp());
    try {
      await assert.rejects(LogindLoginSource.connect(empty.address), /login1|ServiceUnknown|not provided/i);
    } finally {
      empty.daemon.kill();
    }
    await assert.rejects(LogindLoginSource.connect(`unix:path=${path.join(tmp(), 'none')}`), /D-Bus at unix:path=.*ENOENT/);
  });

  describe('the agent with logind as its login source', () => {
    let t: TestServer;
    let admin: Api;
    before(async () => {
      t = await startTestServer();
      admin = await Api.login(t.base, 'admin', ADMIN_PASSWORD);
      closers.push(() => t.stop());
    });

    it('opens a host session for a logind login (record-all on), attributes its processes, and ends it on SessionRemoved', async () => {
      const cur = (await admin.get('/api/v1/settings/session-recording')).body;
      assert.equal((await admin.put('/api/v1/settings/session-recording', { ...cur, recordAllSessions: true })).status, 200);
      const tok = await admin.post('/api/v1/agents/enrollment-tokens', { expiresInMinutes: 5 });
      const cred = await AgentClient.enroll(t.base, { token: tok.body.token, hostName: os.hostname(), version: 'test', addresses: [] });
      const stateDir = tmp();
      const users = new UserNames();
      const source = await LogindLoginSource.connect(bus.address);
      const agent = new HostAgent({
        client: new AgentClient(t.base, cred.credential, 3000),
        logger: createLogger({ level: process.env.VIGIL_TEST_LOG_LEVEL ?? 'silent' }),
        hostName: os.hostname(), version: 'test', stateDir, shellSocket: path.join(stateDir, 'shell.sock'),
        logins: source,
        captures: [new ProcConnectorCapture(users, () => buildProcConnector(tmp()))],
        heartbeatMs: 1000, loginScanMs: 300,
      });
      await agent.start();
      closers.push(() => agent.stop());
      assert.equal(agent.status.logins, 'logind');

      const term = await Terminal.open(['bash', '--norc', '--noprofile', '-i'], { SSH_CLIENT: '203.0.113.9 40999 22' });
      terms.push(term);
      logind.add('9', { uid: 0, name: 'root', leader: term.pid, tty: 'pts/9', remoteHost: '203.0.113.9' });
      const login = await waitFor('the login on the server', async () => {
        const rows = await t.server.store.db.selectFrom('agent_logins').selectAll().execute();
        return rows.find((r) => r.login_key.endsWith(':logind:9') && r.session_id);
      });
      assert.equal(login.user_name, 'root');
      assert.equal(login.tty, 'pts/9');
      assert.equal(login.remote_address, '203.0.113.9');
      const s = (await admin.get(`/api/v1/sessions/${login.session_id}`)).body;
      assert.equal(s.kind, 'host');
      assert.equal(s.status, 'active');

      const marker = `logind-${process.pid}`;
      term.write(`/bin/echo ${marker}-$((6*7))\n`);
      await term.expect(new RegExp(`${marker}-42`));
      await waitFor('the echo as a process of that session', async () => {
        await agent.flush();
        const rows = await t.server.store.db.selectFrom('activity_events').selectAll().where('session_id', '=', login.session_id!).where('type', '=', 'process-start').execute();
        return rows.find((r) => r.text.includes(`${marker}-42`));
      });

      logind.remove('9');
      await waitFor('the session ended', async () => {
        await agent.flush();
        const st = (await admin.get(`/api/v1/sessions/${login.session_id}`)).body.status;
        return st === 'ended' ? st : undefined;
      }, 20_000);
    });
  });
});
