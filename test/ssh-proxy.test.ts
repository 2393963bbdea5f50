import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import ssh2 from 'ssh2';
import { AgentClient } from '../src/agent/agent-client.ts';
import { parsePublicKey } from '../src/adapters/ssh/public-key.ts';
import { systemClock } from '../src/core/clock.ts';
import { AuthService } from '../src/core/identity/auth.service.ts';
import { SshKeysService } from '../src/core/identity/ssh-keys.service.ts';
import { UsersService } from '../src/core/identity/users.service.ts';
import { loadOrCreateHostKey } from '../src/ssh-proxy/host-key.ts';
import { controlTopic, liveTopic } from '../src/core/sessions/session-control.ts';
import { SshProxy } from '../src/ssh-proxy/ssh-proxy.ts';
import { ADMIN_PASSWORD, Api, startTestServer, type TestServer } from './helpers/server.ts';
import { clientOptions, freePort, runClient, startSshd, type TestSshd } from './helpers/sshd.ts';
import { tempDir } from './helpers/stores.ts';

type Row = Record<string, unknown>;
type CastEvent = [number, string, string];

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 15_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

/** Prints a cast's output events read from stdin through asciinema's loader (run by Debian's python, which has the package); fails on anything it rejects. */
const ASCIINEMA_CAT = [
  'import sys',
  'from asciinema import asciicast',
  "with asciicast.open_from_url('-') as a:",
  "    assert type(a).__module__ == 'asciinema.asciicast.v2', 'not read as asciicast v2'",
  '    for _, _type, text in a.stdout_events(): sys.stdout.write(text)',
].join('\n');

describe('recording SSH proxy (real OpenSSH client and sshd)', () => {
  let t: TestServer;
  let sshd: TestSshd;
  let proxy: SshProxy;
  let port: number;
  let admin: Api;
  let tmp: { dir: string; remove(): void };
  let aliceKey: string;
  const ids: Record<string, string> = {};

  const ssh = (login: string, command: string[], opts: { password?: string; extra?: string[]; timeoutMs?: number } = {}) =>
    runClient('ssh', [...clientOptions(port, '-p'), ...(opts.password !== undefined ? ['-o', 'PreferredAuthentications=password', '-o', 'PubkeyAuthentication=no', '-o', 'NumberOfPasswordPrompts=1'] : ['-o', 'BatchMode=yes', '-i', aliceKey]), ...(opts.extra ?? []), '-l', login, '127.0.0.1', ...command], { password: opts.password, timeoutMs: opts.timeoutMs });

  const db = () => t.server.store.db;

  /** A proxy on the test server's services; `overrides` replace some of its dependencies. */
  const makeProxy = (dataDir: string, overrides: Partial<ConstructorParameters<typeof SshProxy>[0]> = {}) => {
    const { store } = t.server;
    const { audit, secrets, sessions, ingest } = t.server.services;
    const users = new UsersService(store, systemClock);
    return new SshProxy({
      auth: new AuthService(store, users, audit, systemClock), users, sshKeys: new SshKeysService(store, systemClock, parsePublicKey),
      secrets, sessions, ingest, audit, bus: t.server.bus, logger: t.server.logger, clock: systemClock, nodeId: 'test-node', dataDir,
      ...overrides,
    });
  };

  /** The newest session of a secret, once it is no longer active. */
  const endedSession = (secret: string): Promise<Row> =>
    waitFor(`the ${secret} session to end`, async () => {
      const row = await db().selectFrom('sessions').selectAll().where('secret_name', '=', secret).orderBy('started_at', 'desc').executeTakeFirst();
      return row && row.status !== 'active' ? (row as Row) : undefined;
    });
  const eventsOf = async (sessionId: string) => db().selectFrom('activity_events').selectAll().where('session_id', '=', sessionId).orderBy('seq').execute();
  const castOf = async (sessionId: string): Promise<{ header: Row; events: CastEvent[] }> => {
    const res = await admin.get(`/api/v1/sessions/${sessionId}/recording?format=cast`);
    assert.equal(res.status, 200, `recording of ${sessionId}`);
    // A cast of only its header line is one JSON object, which the client has parsed already.
    const text = (typeof res.body === 'string' ? res.body : JSON.stringify(res.body)).trim();
    const lines = text.split('\n').map((l) => JSON.parse(l) as unknown);
    const header = lines[0] as Row;
    const events = lines.slice(1) as CastEvent[];
    for (const e of events) assert.ok(Array.isArray(e) && typeof e[0] === 'number' && ['o', 'i', 'r', 'm'].includes(e[1]) && typeof e[2] === 'string', `cast event ${JSON.stringify(e)}`);
    for (let i = 1; i < events.length; i += 1) assert.ok(events[i]![0] >= events[i - 1]![0], 'cast times never go back');
    // asciinema's own loader (Debian's asciinema 2.2, the code path of `asciinema cat` and `play`
    // without their /dev/tty handling) accepts the recording and yields what the user saw.
    const played = spawnSync('/usr/bin/python3', ['-c', ASCIINEMA_CAT], { input: `${text}\n`, encoding: 'utf8', maxBuffer: 256 << 20, env: { ...process.env, PYTHONIOENCODING: 'utf-8' } });
    assert.equal(played.status, 0, `asciinema: ${played.error?.message ?? played.signal ?? ''} ${played.stderr}`);
    assert.equal(played.stdout, events.filter((e) => e[1] === 'o').map((e) => e[2]).join(''), 'asciinema plays the output events');
    return { header, events };
  };
  const auditOf = async (action: string) => (await admin.get(`/api/v1/audit?action=${action}&limit=100`)).body.items as Array<{ outcome: string; actor: { name: string }; details: Row | null }>;

  before(async () => {
    tmp = tempDir('vigil-ssh-proxy-test-');
    sshd = await startSshd();
    t = await startTestServer();
    proxy = makeProxy(tmp.dir, { recorder: { echoWindowMs: 700 } });
    port = await proxy.listen(0, '127.0.0.1');

    admin = await Api.login(t.base, 'admin', ADMIN_PASSWORD);
    const roles = Object.fromEntries((await admin.get('/api/v1/roles')).body.items.map((r: { name: string; id: string }) => [r.name, r.id]));
    for (const name of ['alice', 'bob']) {
      const u = await admin.post('/api/v1/users', { username: name, password: `${name}-password`, roles: [roles.User] });
      assert.equal(u.status, 201);
      ids[name] = u.body.id;
    }
    aliceKey = path.join(tmp.dir, 'alice_ed25519');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'alice@test', '-f', aliceKey]);
    const key = await admin.post(`/api/v1/users/${ids.alice}/ssh-keys`, { publicKey: fs.readFileSync(`${aliceKey}.pub`, 'utf8') });
    assert.equal(key.status, 201, JSON.stringify(key.body));

    const targetKey = path.join(tmp.dir, 'target_ed25519');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'vigil-secret', '-f', targetKey]);
    sshd.authorize(fs.readFileSync(`${targetKey}.pub`, 'utf8'));
    const otherHostKey = path.join(tmp.dir, 'other_host');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', otherHostKey]);
    const target = { kind: 'ssh', host: '127.0.0.1', port: sshd.port, username: sshd.user };
    const grant = { access: { users: [ids.alice], roles: [] } };
    const create = async (name: string, body: Row) => {
      const res = await admin.post('/api/v1/secrets', { name, ...target, ...grant, ...body });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      ids[name] = res.body.id;
    };
    await create('web', { password: sshd.password, recording: { video: true, keystrokes: true } });
    await create('web-key', { privateKey: fs.readFileSync(targetKey, 'utf8'), recording: { video: true, keystrokes: false } });
    await create('web-norec', { password: sshd.password, recording: { video: false, keystrokes: false } });
    await create('other', { password: sshd.password, access: { users: [], roles: [] } });
    await create('bad-cred', { password: 'not-the-password' });
    await create('down', { password: sshd.password, port: await freePort() });
    await create('moved', { password: sshd.password });
    const patched = await admin.patch(`/api/v1/secrets/${ids.moved}`, { hostKey: fs.readFileSync(`${otherHostKey}.pub`, 'utf8') });
    assert.equal(patched.status, 200, JSON.stringify(patched.body));
  });

  after(async () => {
    await proxy?.close();
    await t?.stop();
    await sshd?.stop();
    tmp?.remove();
  });

  it('creates its host key once, mode 0600, and keeps it across restarts', async () => {
    const file = path.join(tmp.dir, 'ssh_host_ed25519_key');
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    assert.match(proxy.hostKeyFingerprint, /^SHA256:[A-Za-z0-9+/]{43}$/);
    assert.equal(loadOrCreateHostKey(tmp.dir).fingerprint, proxy.hostKeyFingerprint, 'the same key on the next start');
    const scan = await runClient('ssh', [...clientOptions(port, '-p'), '-o', 'BatchMode=yes', '-o', 'PreferredAuthentications=none', '-v', '-l', 'nobody:none', '127.0.0.1', 'true']);
    assert.ok(scan.stderr.includes(proxy.hostKeyFingerprint), 'ssh shows the fingerprint the proxy exposes');
  });

  it('runs a command: output, exit status 0 and 3, recorded and the target host key pinned on first use', async () => {
    const hello = await ssh('alice:web', ['echo hello'], { password: 'alice-password' });
    assert.equal(hello.stdout.toString(), 'hello\n', hello.stderr);
    assert.equal(hello.code, 0);
    const s1 = await endedSession('web');
    assert.equal(s1.status, 'ended');
    assert.equal(s1.component, 'ssh-proxy');
    assert.equal(s1.username, 'alice');
    assert.equal(s1.client_address, '127.0.0.1');
    const cast = await castOf(String(s1.id));
    assert.equal(cast.header.version, 2);
    assert.equal(cast.events.filter((e) => e[1] === 'o').map((e) => e[2]).join(''), 'hello\n');
    const events = await eventsOf(String(s1.id));
    assert.ok(events.some((e) => e.type === 'command' && e.text === 'echo hello'));

    const three = await ssh('alice:web', ['exit 3'], { password: 'alice-password' });
    assert.equal(three.code, 3);
    const secret = await admin.get(`/api/v1/secrets/${ids.web}`);
    const pinnedFp = `SHA256:${createHash('sha256').update(Buffer.from(sshd.hostKey.split(' ')[1]!, 'base64')).digest('base64').replace(/=+$/, '')}`;
    assert.equal(secret.body.hostKeyFingerprint, pinnedFp);

    const signal = await ssh('alice:web', ['kill -TERM $$'], { password: 'alice-password', extra: ['-v'] });
    assert.equal(signal.code, 255, 'a command killed by a signal: ssh reports 255');
    assert.match(signal.stderr, /rtype exit-signal/, 'the exit-signal is relayed');
  });

  it('keeps the local end of its target connection, so a host agent joins each login to its own proxied session', async () => {
    // Two sessions at once to the same target user: only the client port the target's sshd sees
    // (SSH_CLIENT) tells their logins apart.
    const runs = [0, 1].map(() => ssh('alice:web', ['echo "client=$SSH_CLIENT"; sleep 5']));
    const live = await waitFor('two active sessions', async () => {
      const rows = await db().selectFrom('sessions').selectAll().where('secret_name', '=', 'web').where('status', '=', 'active').orderBy('started_at').execute();
      return rows.length === 2 ? rows : undefined;
    });
    for (const r of live) {
      assert.equal(r.target_source_address, '127.0.0.1');
      assert.ok(Number(r.target_source_port) > 0, JSON.stringify(r));
    }
    const tok = await admin.post('/api/v1/agents/enrollment-tokens', { expiresInMinutes: 5 });
    assert.equal(tok.status, 201, JSON.stringify(tok.body));
    const { credential } = await AgentClient.enroll(t.base, { token: tok.body.token, hostName: 'target-host', version: 'test', addresses: ['127.0.0.1'] });
    const agent = new AgentClient(t.base, credential);
    const report = (n: number, port: number | null, address = '127.0.0.1') =>
      agent.login({ key: `boot:${1000 + n}:${Date.now()}`, user: sshd.user, tty: null, display: null, remoteAddress: address, remotePort: port, startedAt: Date.now(), leaderPid: 1000 + n });
    // The newer session's login first: matched by port, not by age.
    const second = await report(1, Number(live[1]!.target_source_port));
    assert.equal(second.session?.id, live[1]!.id);
    assert.equal(second.session?.held, false);
    // A login from the proxy's address on a port no session used is another connection: it
    // does not take the remaining session.
    const stranger = await report(2, 1);
    assert.notEqual(stranger.session?.id, live[0]!.id);
    if (stranger.session) assert.equal(stranger.session.held, true, 'at most a host session of its own (record all)');
    const first = await report(3, Number(live[0]!.target_source_port), '::ffff:127.0.0.1');
    assert.equal(first.session?.id, live[0]!.id);

    const outputs = await Promise.all(runs);
    for (const o of outputs) assert.equal(o.code, 0, o.stderr);
    // What the target's sshd saw as the client is the address and port kept with each session.
    for (const r of live) {
      const cast = await waitFor('the cast', async () => {
        const ended = await db().selectFrom('sessions').select('status').where('id', '=', r.id).executeTakeFirst();
        return ended?.status !== 'active' ? castOf(r.id) : undefined;
      });
      const printed = cast.events.filter((e) => e[1] === 'o').map((e) => e[2]).join('');
      assert.match(printed, new RegExp(`client=127\\.0\\.0\\.1 ${r.target_source_port} ${sshd.port}\\b`));
    }
  });

  it('logs in with a registered key, with keyboard-interactive, and to the target with a private-key secret', async () => {
    // The test sshd accepts VIGIL_* too: that it arrives empty shows the proxy's allow-list at work.
    const byKey = await ssh('alice:web-key', ['id -un; echo "LANG=$LANG VIGIL_X=$VIGIL_X"'], { extra: ['-o', 'SetEnv=LANG=C.UTF-8 VIGIL_X=leaked'] });
    assert.equal(byKey.code, 0, byKey.stderr);
    assert.equal(byKey.stdout.toString(), `${sshd.user}\nLANG=C.UTF-8 VIGIL_X=\n`);
    const kbd = await runClient('ssh', [...clientOptions(port, '-p'), '-o', 'PreferredAuthentications=keyboard-interactive', '-o', 'PubkeyAuthentication=no', '-l', 'alice:web', '127.0.0.1', 'echo kbd'], { password: 'alice-password' });
    assert.equal(kbd.stdout.toString(), 'kbd\n', kbd.stderr);
    const logins = await auditOf('auth.login');
    assert.ok(logins.some((e) => e.outcome === 'success' && e.details?.channel === 'ssh' && e.details?.method === 'publickey'));
    assert.ok(logins.some((e) => e.outcome === 'success' && e.details?.method === 'keyboard-interactive'));
  });

  it('refuses a wrong password, an unknown secret and a secret not granted the same way, audited and counted', async () => {
    const wrong = await ssh('bob:web', ['true'], { password: 'not-bobs-password' });
    const unknown = await ssh('bob:no-such-secret', ['true'], { password: 'bob-password' });
    const denied = await ssh('alice:other', ['true'], { password: 'alice-password' });
    const nobody = await ssh('nobody:web', ['true'], { password: 'whatever' });
    for (const r of [wrong, unknown, denied, nobody]) {
      assert.equal(r.code, 255);
      assert.equal(r.stdout.length, 0);
    }
    // ssh prefixes the message with the login it used; the rest must not differ.
    const answer = (r: { stderr: string }) => r.stderr.replace(/^\S+@127\.0\.0\.1: /, '');
    assert.equal(answer(wrong), 'Permission denied (publickey,keyboard-interactive,password).\r\n');
    for (const r of [unknown, denied, nobody]) assert.equal(answer(r), answer(wrong));
    const failures = (await auditOf('auth.login')).filter((e) => e.outcome === 'failure' && e.details?.channel === 'ssh');
    const reasons = failures.map((e) => `${e.actor.name}:${String(e.details?.reason)}`);
    for (const r of ['bob:bad-password', 'bob:unknown-secret', 'alice:secret-not-granted', 'nobody:unknown-user']) assert.ok(reasons.includes(r), `${r} in ${reasons.join(', ')}`);
    const counted = await db().selectFrom('login_failures').select('username').where('username', 'in', ['alice', 'nobody']).execute();
    assert.deepEqual(counted.map((r) => r.username).sort(), ['alice', 'nobody'], 'SSH failures count toward the lockout');
  });

  it('refuses a changed target host key, a target that is down and refused credentials with one clear line', async () => {
    const moved = await ssh('alice:moved', ['echo should-not-run'], { password: 'alice-password' });
    assert.equal(moved.code, 255);
    assert.equal(moved.stdout.length, 0);
    assert.match(moved.stderr, /^vigil: the host key of moved \(127\.0\.0\.1:\d+\) has changed: .*\n$/);
    const mismatch = await auditOf('ssh.host-key-mismatch');
    assert.equal(mismatch.length, 1);
    assert.equal(mismatch[0]!.details?.secret, 'moved');

    const down = await ssh('alice:down', ['true'], { password: 'alice-password' });
    assert.equal(down.code, 255);
    assert.match(down.stderr, /^vigil: cannot connect to down \(127\.0\.0\.1:\d+\): connection refused\n$/);
    const bad = await ssh('alice:bad-cred', ['true'], { password: 'alice-password' });
    assert.equal(bad.code, 255);
    assert.match(bad.stderr, /^vigil: bad-cred \(127\.0\.0\.1:\d+\) refused the stored credentials for vigiltarget; ask an administrator to update the secret\n$/);
    assert.equal(bad.stderr.includes('not-the-password'), false);
    const failed = await auditOf('ssh.target-failed');
    assert.deepEqual(failed.map((e) => e.details?.failure).sort(), ['credentials-refused', 'unreachable']);
  });

  it('records an interactive shell: cast, keystrokes, commands from the emulator, and keeps no-echo input out', async () => {
    const child = spawn('ssh', [...clientOptions(port, '-p'), '-tt', '-o', 'BatchMode=yes', '-i', aliceKey, '-l', 'alice:web', '127.0.0.1'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let seen = '';
    child.stdout.on('data', (d: Buffer) => (seen += d.toString()));
    const exited = new Promise<number | null>((r) => child.on('close', r));
    const waitOutput = (re: RegExp, from: number) => waitFor(`output ${re}`, async () => re.test(seen.slice(from)), 10_000);
    const type = async (text: string, expect: RegExp) => {
      const from = seen.length;
      child.stdin.write(text);
      await waitOutput(expect, from);
      await sleep(150);
    };
    await waitOutput(/\$ $/, 0);
    await type('echo vigil-one\n', /vigil-one\r\n.*\$ $/s);
    await type('echo abcX\x7f-fixed\n', /abc-fixed\r\n.*\$ $/s);
    await type('\x1b[A\n', /abc-fixed\r\n.*\$ $/s); // history recall runs it again
    await type('ech\tvigil-tab\n', /vigil-tab\r\n.*\$ $/s);
    await type(`read -s -p 'Secret: ' S; echo "got-\${#S}"\n`, /Secret: $/);
    await type('Zq9-xK7v\n', /got-8\r\n.*\$ $/s);
    child.stdin.write('exit\n');
    assert.equal(await exited, 0);
    assert.equal(seen.includes('Zq9-xK7v'), false, 'the target did not echo it');

    const s = await endedSession('web');
    const events = await eventsOf(String(s.id));
    const commands = events.filter((e) => e.type === 'command').map((e) => e.text);
    assert.deepEqual(commands, ['echo vigil-one', 'echo abc-fixed', 'echo abc-fixed', 'echo vigil-tab', `read -s -p 'Secret: ' S; echo "got-\${#S}"`, 'exit']);
    const keystrokes = events.filter((e) => e.type === 'keystrokes').map((e) => e.text);
    assert.ok(keystrokes.includes('echo vigil-one'), keystrokes.join(' | '));
    assert.ok(keystrokes.includes('echo abcX[BS]-fixed'), keystrokes.join(' | '));
    assert.ok(keystrokes.includes('[UP]'), keystrokes.join(' | '));
    assert.ok(keystrokes.includes('ech[TAB]vigil-tab'), keystrokes.join(' | '));
    for (const e of events) assert.equal(e.text.includes('Zq9'), false, `no-echo input in a ${e.type} event`);
    assert.ok(events.some((e) => e.type === 'output' && e.text.includes('vigil-one')));

    const cast = await castOf(String(s.id));
    const output = cast.events.filter((e) => e[1] === 'o').map((e) => e[2]).join('');
    assert.equal(output, seen, 'the cast output is exactly what the client saw');
    const input = cast.events.filter((e) => e[1] === 'i').map((e) => e[2]).join('');
    assert.ok(input.includes('echo vigil-one\n'));
    assert.equal(input.includes('Zq9'), false);
    assert.ok(cast.events.some((e) => e[1] === 'm' && e[2] === 'echo vigil-one'), 'a marker per command');
    assert.equal(JSON.stringify(cast).includes('Zq9'), false);
  });

  it('forwards the pty (term, size), window changes as r events, and signals (ssh2 as the client)', async () => {
    const client = new ssh2.Client();
    await new Promise<void>((resolve, reject) => {
      client.once('ready', resolve).once('error', reject);
      client.connect({ host: '127.0.0.1', port, username: 'alice:web', privateKey: fs.readFileSync(aliceKey) });
    });
    const shell = await new Promise<ssh2.ClientChannel>((resolve, reject) =>
      client.shell({ rows: 30, cols: 100, term: 'xterm-256color' }, (err, ch) => (err ? reject(err) : resolve(ch))),
    );
    let seen = '';
    shell.on('data', (d: Buffer) => (seen += d.toString()));
    const waitSeen = (re: RegExp) => waitFor(`shell output ${re}`, async () => re.test(seen), 10_000);
    await waitSeen(/\$ $/);
    shell.write('echo "size=$(stty size) term=$TERM"\r');
    await waitSeen(/size=30 100 term=xterm-256color/);
    shell.setWindow(40, 120, 0, 0);
    await sleep(200);
    shell.write('echo "size=$(stty size)"\r');
    await waitSeen(/size=40 120/);
    shell.end('exit\r');
    await new Promise((r) => shell.once('close', r));

    const sleeper = await new Promise<ssh2.ClientChannel>((resolve, reject) => client.exec('sleep 30', (err, ch) => (err ? reject(err) : resolve(ch))));
    sleeper.resume();
    const exit = new Promise<unknown[]>((r) => sleeper.once('exit', (...args: unknown[]) => r(args)));
    await sleep(300);
    sleeper.signal('TERM');
    assert.deepEqual((await exit).slice(0, 2), [null, 'SIGTERM'], 'the signal reaches the command and its exit-signal comes back');
    client.end();

    const s = await endedSession('web');
    const cast = await castOf(String(s.id));
    assert.deepEqual([cast.header.width, cast.header.height], [100, 30]);
    assert.deepEqual((cast.header.env as Row).TERM, 'xterm-256color');
    assert.ok(cast.events.some((e) => e[1] === 'r' && e[2] === '120x40'), 'the resize is in the cast');
    assert.ok(cast.events.some((e) => e[1] === 'm' && e[2] === '$ sleep 30'), 'the exec is marked');
  });

  it('passes scp (legacy protocol) through both ways byte-identical, with file-transfer events', async () => {
    const local = path.join(tmp.dir, 'scp-up.bin');
    const data = randomBytes(3 * 1024 * 1024 + 17);
    fs.writeFileSync(local, data);
    const remote = path.join(sshd.home, 'scp-up.bin');
    const common = [...clientOptions(port, '-P'), '-O', '-o', 'BatchMode=yes', '-i', aliceKey, '-o', 'User=alice:web'];
    const up = await runClient('scp', [...common, local, `127.0.0.1:${remote}`]);
    assert.equal(up.code, 0, up.stderr);
    assert.equal(sha256(fs.readFileSync(remote)), sha256(data));
    const back = path.join(tmp.dir, 'scp-down.bin');
    const down = await runClient('scp', [...common, `127.0.0.1:${remote}`, back]);
    assert.equal(down.code, 0, down.stderr);
    assert.equal(sha256(fs.readFileSync(back)), sha256(data));

    await waitFor('the scp sessions to end', async () => !(await db().selectFrom('sessions').select('id').where('secret_name', '=', 'web').where('status', '=', 'active').executeTakeFirst()));
    const rows = await db().selectFrom('activity_events').innerJoin('sessions', 'sessions.id', 'activity_events.session_id').select(['activity_events.text', 'activity_events.details']).where('type', '=', 'file-transfer').where('sessions.secret_name', '=', 'web').execute();
    const transfers = rows.map((r) => JSON.parse(r.details!) as Row);
    assert.ok(transfers.some((d) => d.protocol === 'scp' && d.direction === 'upload' && d.path === remote && d.bytes === data.length && d.size === data.length && d.complete === true), JSON.stringify(transfers));
    assert.ok(transfers.some((d) => d.protocol === 'scp' && d.direction === 'download' && d.path === remote && d.bytes === data.length), JSON.stringify(transfers));
  });

  it('passes sftp through: put and get byte-identical, with file-transfer events', async () => {
    const local = path.join(tmp.dir, 'sftp-up.bin');
    const data = randomBytes(2 * 1024 * 1024 + 5);
    fs.writeFileSync(local, data);
    const remote = path.join(sshd.home, 'sftp-up.bin');
    const back = path.join(tmp.dir, 'sftp-down.bin');
    const batch = path.join(tmp.dir, 'batch');
    fs.writeFileSync(batch, `put ${local} ${remote}\nget ${remote} ${back}\nrename ${remote} ${remote}.old\n`);
    const r = await runClient('sftp', [...clientOptions(port, '-P'), '-o', 'BatchMode=yes', '-i', aliceKey, '-o', 'User=alice:web-key', '-b', batch, '127.0.0.1']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(sha256(fs.readFileSync(`${remote}.old`)), sha256(data));
    assert.equal(sha256(fs.readFileSync(back)), sha256(data));
    const s = await endedSession('web-key');
    const transfers = (await eventsOf(String(s.id))).filter((e) => e.type === 'file-transfer').map((e): Row => ({ text: e.text, ...(JSON.parse(e.details!) as Row) }));
    assert.ok(transfers.some((d) => d.protocol === 'sftp' && d.direction === 'upload' && d.path === remote && d.bytes === data.length && d.text === `upload ${remote}`), JSON.stringify(transfers));
    assert.ok(transfers.some((d) => d.direction === 'download' && d.path === remote && d.bytes === data.length), JSON.stringify(transfers));
    assert.ok(transfers.some((d) => d.operation === 'rename' && d.path === remote && d.to === `${remote}.old`), JSON.stringify(transfers));
  });

  it('refuses local and remote port forwarding, audited', async () => {
    const local = await ssh('alice:web', [], { extra: ['-W', `127.0.0.1:${sshd.port}`] });
    assert.equal(local.code, 255);
    assert.match(local.stderr, /stdio forwarding failed|administratively prohibited/);
    const remote = await ssh('alice:web', ['echo forwarded'], { extra: ['-o', 'ExitOnForwardFailure=yes', '-R', '0:127.0.0.1:9'] });
    assert.notEqual(remote.code, 0);
    assert.match(remote.stderr, /forwarding failed/i);
    const refused = await auditOf('ssh.forwarding-refused');
    assert.ok(refused.some((e) => e.details?.request === 'direct-tcpip'));
    assert.ok(refused.some((e) => e.details?.request === 'tcpip-forward'));
  });

  it('relays local port forwarding (real ssh -L) through the target when the setting allows it, recorded as events', async () => {
    // A TCP service reachable from the target host; it answers each connection with a digest.
    const seen: string[] = [];
    const service = net.createServer((sock) => {
      seen.push(sock.remoteAddress ?? '');
      const hash = createHash('sha256');
      let n = 0;
      sock.on('data', (d: Buffer) => {
        hash.update(d);
        n += d.length;
        if (n >= 1_000_000) sock.end(`got ${n} ${hash.digest('hex')}\n`);
      });
    });
    await new Promise<void>((r) => service.listen(0, '127.0.0.1', r));
    const servicePort = (service.address() as net.AddressInfo).port;
    const saved = (await admin.get('/api/v1/settings/session-recording')).body;
    assert.equal(saved.allowLocalForwarding, false, 'off by default');
    const put = await admin.put('/api/v1/settings/session-recording', { ...saved, allowLocalForwarding: true });
    assert.equal(put.status, 200, JSON.stringify(put.body));
    const dir = tempDir('vigil-ssh-proxy-forward-');
    const other = makeProxy(dir.dir, { settings: t.server.services.settings });
    const otherPort = await other.listen(0, '127.0.0.1');
    const localPort = await freePort();
    const child = spawn('ssh', [...clientOptions(otherPort, '-p'), '-N', '-o', 'ExitOnForwardFailure=yes', '-o', 'BatchMode=yes', '-i', aliceKey, '-L', `${localPort}:127.0.0.1:${servicePort}`, '-l', 'alice:web', '127.0.0.1'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    try {
      const payload = randomBytes(1_000_000);
      const reply = await waitFor('the forwarded port', async () => {
        const got = await new Promise<string | undefined>((resolve) => {
          const sock = net.connect(localPort, '127.0.0.1');
          let text = '';
          sock.on('connect', () => sock.end(payload));
          sock.on('data', (d: Buffer) => (text += d.toString()));
          sock.on('close', () => resolve(text || undefined));
          sock.on('error', () => resolve(undefined));
        });
        return got;
      });
      assert.equal(reply, `got ${payload.length} ${sha256(payload)}\n`, stderr);
      assert.ok(seen.length >= 1 && seen.every((a) => a === '127.0.0.1'));
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('close', r));
      await other.close();
      dir.remove();
      assert.equal((await admin.put('/api/v1/settings/session-recording', saved)).status, 200);
    }
    // The session that carried the forward (found by its event: other tests' sessions of `web` may end around the same time).
    const forwardText = `local forward to 127.0.0.1:${servicePort}`;
    const sessionOf = (text: string) =>
      waitFor(`the session with "${text}"`, async () => {
        const e = await db().selectFrom('activity_events').select('session_id').where('type', '=', 'port-forward').where('text', '=', text).executeTakeFirst();
        if (!e) return undefined;
        const row = await db().selectFrom('sessions').selectAll().where('id', '=', e.session_id).executeTakeFirst();
        return row && row.status !== 'active' ? (row as Row) : undefined;
      });
    const session = await sessionOf(forwardText);
    const grid = await admin.get(`/api/v1/sessions/${session.id}/activity?type=port-forward`);
    assert.equal(grid.status, 200);
    const events = (await eventsOf(String(session.id))).filter((e) => e.type === 'port-forward');
    const details = events.map((e) => JSON.parse(String(e.details)) as Row);
    assert.ok(details.some((d) => d.closed === true && d.allowed === true && d.bytesToDestination === 1_000_000 && d.destination === `127.0.0.1:${servicePort}`), JSON.stringify(details));
    assert.ok(grid.body.items.length >= 1, JSON.stringify(grid.body));
    const found = await admin.get(`/api/v1/sessions?q=${encodeURIComponent(forwardText)}`);
    assert.ok(found.body.items.some((i: { id: string }) => i.id === session.id), 'the forward is searchable');
    service.close();

    // With the setting off (the default proxy here has none): refused, and recorded as refused.
    const refused = await ssh('alice:web', [], { extra: ['-W', `127.0.0.1:${servicePort}`] });
    assert.equal(refused.code, 255);
    const off = await sessionOf(`refused local forward to 127.0.0.1:${servicePort}`);
    const offEvents = (await eventsOf(String(off.id))).filter((e) => e.type === 'port-forward');
    assert.deepEqual(offEvents.map((e) => [e.text, (JSON.parse(String(e.details)) as Row).allowed]), [[`refused local forward to 127.0.0.1:${servicePort}`, false]]);
  });

  it('streams a 200 MB cat with the exact byte count and flat proxy memory', async () => {
    const size = 200 * 1024 * 1024;
    const before = process.memoryUsage().rss;
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 50);
    const child = spawn('ssh', [...clientOptions(port, '-p'), '-o', 'BatchMode=yes', '-i', aliceKey, '-l', 'alice:web', '127.0.0.1', `head -c ${size} /dev/zero`], { stdio: ['ignore', 'pipe', 'pipe'] });
    let bytes = 0;
    child.stdout.on('data', (d: Buffer) => (bytes += d.length));
    const code = await new Promise((r) => child.on('close', r));
    clearInterval(sampler);
    assert.equal(code, 0);
    assert.equal(bytes, size);
    const growth = (peak - before) / 1024 / 1024;
    assert.ok(growth < 150, `proxy RSS grew ${growth.toFixed(0)} MB`);
  });

  it('message and terminate through the API reach the user via the bus; live viewers get snapshot and output', async () => {
    const child = spawn('ssh', [...clientOptions(port, '-p'), '-tt', '-o', 'BatchMode=yes', '-i', aliceKey, '-l', 'alice:web', '127.0.0.1'], { stdio: ['pipe', 'pipe', 'pipe'] });
    // The tail of what the user saw: ~100 MB of output follow, and this process also runs the proxy.
    let seen = '';
    child.stdout.on('data', (d: Buffer) => (seen = (seen + d.toString('latin1')).slice(-16_384)));
    const exited = new Promise<number | null>((r) => child.on('close', r));
    await waitFor('prompt', async () => /\$ $/.test(seen));
    const session = await waitFor('the active session', async () => db().selectFrom('sessions').selectAll().where('secret_name', '=', 'web').where('status', '=', 'active').orderBy('started_at', 'desc').executeTakeFirst());
    const live: Array<{ type: string; data?: string; cols?: number }> = [];
    const sub = await t.server.bus.subscribe(liveTopic(session.id), (m) => void live.push(m as never));
    await t.server.bus.publish(controlTopic(session.id), { type: 'snapshot-request' });
    const snapshot = await waitFor('a snapshot', async () => live.find((m) => m.type === 'snapshot'));
    assert.equal(snapshot.cols, 80);
    assert.match(String(snapshot.data), /\$ /, 'the current screen shows the prompt');

    const sent = await admin.post(`/api/v1/sessions/${session.id}/message`, { text: 'Please wrap up' });
    assert.equal(sent.status, 202, JSON.stringify(sent.body));
    await waitFor('the message', async () => seen.includes('[Vigil] Please wrap up'));
    child.stdin.write('yes | head -c 100000000 | tr y z\n');
    await waitFor('bulk output', async () => seen.length > 10_000);
    const asked = Date.now();
    const terminated = await admin.post(`/api/v1/sessions/${session.id}/terminate`, { message: 'policy violation' });
    assert.equal(terminated.status, 202, JSON.stringify(terminated.body));
    const code = await exited;
    assert.ok(Date.now() - asked < 1000, `the user was out after ${Date.now() - asked} ms`);
    assert.notEqual(code, 0);
    assert.ok(seen.includes('terminated by an administrator: policy violation'));
    const row = await endedSession('web');
    assert.equal(row.id, session.id);
    assert.deepEqual([row.status, row.end_reason, row.ended_by], ['terminated', 'policy violation', 'admin']);
    await waitFor('the proxy to finish the recording', async () => (await castOf(session.id)).events.some((e) => e[1] === 'm' && e[2] === 'terminated: policy violation'));
    const cast = await castOf(session.id);
    assert.ok(cast.events.some((e) => e[1] === 'o' && e[2].includes('[Vigil] Please wrap up')), 'the cast shows the message as the user saw it');
    await sub.unsubscribe();
    const outputs = live.filter((m) => m.type === 'output').map((m) => Buffer.from(m.data!, 'base64').toString()).join('');
    assert.ok(outputs.includes('Please wrap up'), 'live viewers get the output stream');
    assert.ok(live.some((m) => m.type === 'end'));
  });

  it('fails closed: no session starts unrecorded, and one whose recording breaks ends with a message', async () => {
    const { ingest } = t.server.services;
    let broken = true;
    const flaky = {
      // Group commit: a batch with a chunk fails as a whole, as a full disk would fail its commit.
      batch: (items: Parameters<typeof ingest.batch>[0]) => (broken && items.some((i) => i.chunks.length > 0) ? Promise.reject(new Error('disk full')) : ingest.batch(items)),
    };
    const dir = tempDir('vigil-ssh-proxy-failclosed-');
    const other = makeProxy(dir.dir, { ingest: flaky, recorder: { flushIntervalMs: 200 } });
    const otherPort = await other.listen(0, '127.0.0.1');
    try {
      const marker = path.join(sshd.home, 'fail-closed-ran');
      const refused = await runClient('ssh', [...clientOptions(otherPort, '-p'), '-o', 'BatchMode=yes', '-i', aliceKey, '-l', 'alice:web', '127.0.0.1', `touch ${marker}`]);
      assert.equal(refused.code, 255);
      assert.match(refused.stderr, /^vigil: this session is recorded and the recording cannot be stored right now; the session cannot start\n$/);
      assert.equal(fs.existsSync(marker), false, 'the command never ran on the target');
      const first = await endedSession('web');
      assert.deepEqual([first.status, first.end_reason], ['terminated', 'the recording could not be stored']);

      broken = false;
      const child = spawn('ssh', [...clientOptions(otherPort, '-p'), '-tt', '-o', 'BatchMode=yes', '-i', aliceKey, '-l', 'alice:web', '127.0.0.1'], { stdio: ['pipe', 'pipe', 'pipe'] });
      let seen = '';
      child.stdout.on('data', (d: Buffer) => (seen += d.toString()));
      const exited = new Promise((r) => child.on('close', r));
      await waitFor('prompt', async () => /\$ $/.test(seen));
      broken = true;
      child.stdin.write('echo now-unrecorded\n');
      await exited;
      assert.ok(seen.includes('the recording cannot be stored; the session ends now'), seen.slice(-300));
      const second = await endedSession('web');
      assert.notEqual(second.id, first.id);
      assert.deepEqual([second.status, second.end_reason], ['terminated', 'the recording could not be stored']);
    } finally {
      await other.close();
      dir.remove();
    }
  });

  it('warns, then ends a session idle too long and one that reaches the maximum length (settings, in short minutes)', async () => {
    const dir = tempDir('vigil-ssh-proxy-limits-');
    const limits = { inactivityTimeoutMinutes: 2, maxSessionMinutes: 0 };
    const other = makeProxy(dir.dir, { settings: { get: async () => ({ ...limits }) }, minuteMs: 1000 });
    const otherPort = await other.listen(0, '127.0.0.1');
    const shell = () => {
      const child = spawn('ssh', [...clientOptions(otherPort, '-p'), '-tt', '-o', 'BatchMode=yes', '-i', aliceKey, '-l', 'alice:web', '127.0.0.1'], { stdio: ['pipe', 'pipe', 'pipe'] });
      const out = { seen: '', exited: new Promise((r) => child.on('close', r)), child };
      child.stdout.on('data', (d: Buffer) => (out.seen += d.toString()));
      return out;
    };
    try {
      const idle = shell();
      await waitFor('prompt', async () => /\$ $/.test(idle.seen));
      const started = Date.now();
      for (let i = 0; i < 3; i += 1) {
        await sleep(700); // typing keeps it alive past the 2 s limit
        idle.child.stdin.write(' ');
      }
      await idle.exited;
      assert.ok(Date.now() - started >= 3500, 'input counted as activity');
      assert.ok(idle.seen.includes('it ends in about'), 'warned first');
      assert.ok(idle.seen.includes('idle for 2 minutes and ends now'));
      const s1 = await endedSession('web');
      assert.deepEqual([s1.status, s1.end_reason, s1.ended_by], ['terminated', 'inactivity timeout (2 minutes without input)', 'vigil']);
      const e1 = await eventsOf(String(s1.id));
      assert.ok(e1.some((e) => e.type === 'message' && e.text.includes('idle')));
      assert.ok(e1.some((e) => e.type === 'terminate' && e.text.startsWith('inactivity timeout')));

      Object.assign(limits, { inactivityTimeoutMinutes: 0, maxSessionMinutes: 1 });
      const long = shell();
      await long.exited;
      assert.ok(long.seen.includes('reaches its maximum length of 1 minute in about'));
      assert.ok(long.seen.includes('reached its maximum length of 1 minute and ends now'));
      const s2 = await endedSession('web');
      assert.deepEqual([s2.status, s2.end_reason], ['terminated', 'maximum session length reached (1 minute)']);
    } finally {
      await other.close();
      dir.remove();
    }
  });

  it('with recording off keeps no cast and no keystrokes, only metadata', async () => {
    const r = await ssh('alice:web-norec', ['echo quiet'], { password: 'alice-password' });
    assert.equal(r.stdout.toString(), 'quiet\n');
    const s = await endedSession('web-norec');
    assert.equal(s.record_video, 0);
    assert.equal(Number(s.chunk_count), 0);
    assert.deepEqual((await eventsOf(String(s.id))).map((e) => e.type), []);
  });

  it('ends every session cleanly at close', async () => {
    const child = spawn('ssh', [...clientOptions(port, '-p'), '-tt', '-o', 'BatchMode=yes', '-i', aliceKey, '-l', 'alice:web', '127.0.0.1'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let seen = '';
    child.stdout.on('data', (d: Buffer) => (seen += d.toString()));
    const exited = new Promise((r) => child.on('close', r));
    await waitFor('prompt', async () => /\$ $/.test(seen));
    await proxy.close();
    await exited;
    assert.ok(seen.includes('the SSH proxy is shutting down'));
    const s = await endedSession('web');
    assert.equal(s.status, 'ended');
    assert.equal(s.recording_state, 'complete');
  });
});
