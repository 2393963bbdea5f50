import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { spawnNode, startPrivatePostgres, startPrivateRabbit, type Node, type PrivatePostgres, type PrivateRabbit } from './helpers/cluster.ts';
import { ADMIN_PASSWORD, Api } from './helpers/server.ts';
import { clientOptions, startSshd, type TestSshd } from './helpers/sshd.ts';
import { freshPostgresDatabase, tempDir } from './helpers/stores.ts';
import { Socket } from './helpers/ws.ts';

type Row = Record<string, unknown>;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 15_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

/** An interactive OpenSSH client (`ssh -tt`) through a node's proxy, with what it has seen. */
class Terminal {
  seen = '';
  readonly exited: Promise<number | null>;
  private readonly child: ChildProcessWithoutNullStreams;
  constructor(port: number, key: string, login: string) {
    this.child = spawn('ssh', [...clientOptions(port, '-p'), '-tt', '-o', 'BatchMode=yes', '-i', key, '-l', login, '127.0.0.1'], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stdout.on('data', (d: Buffer) => (this.seen += d.toString()));
    this.exited = new Promise((r) => this.child.on('close', (code) => r(code)));
  }
  type(s: string): void {
    this.child.stdin.write(s);
  }
  waitSeen(re: RegExp, ms = 15_000): Promise<boolean> {
    return waitFor(`terminal output ${re}`, async () => re.test(this.seen), ms);
  }
  kill(): void {
    this.child.kill('SIGKILL');
  }
}

describe('a cluster: several nodes on one PostgreSQL, one RabbitMQ and one share', () => {
  let db: { url: string; drop(): Promise<void> };
  let rabbit: PrivateRabbit;
  let sshd: TestSshd;
  let share: { dir: string; remove(): void };
  let a: Node;
  let b: Node;
  let adminB: Api;
  let adminA: Api;
  let key: string;
  const login = 'alice:web';

  before(async () => {
    [db, rabbit, sshd] = await Promise.all([freshPostgresDatabase(), startPrivateRabbit(), startSshd()]);
    share = tempDir('vigil-share-');
    const env = { VIGIL_DATABASE_URL: db.url, VIGIL_BUS_URL: rabbit.url, VIGIL_ADMIN_PASSWORD: ADMIN_PASSWORD, VIGIL_MASTER_KEY: randomBytes(32).toString('hex') };
    // A first, so the schema is migrated once; then B (no SSH role: it must reach A's sessions over the bus).
    a = await spawnNode('a', env, 'api,ssh');
    b = await spawnNode('b', env, 'api,worker');
    assert.ok(a.sshPort, 'node A runs the SSH proxy');
    assert.equal(b.sshPort, undefined, 'node B does not');
    adminA = await Api.login(a.base, 'admin', ADMIN_PASSWORD);
    adminB = await Api.login(b.base, 'admin', ADMIN_PASSWORD);

    // Everything configured through node B is in force on node A: one database.
    const settings = (await adminB.get('/api/v1/settings/session-recording')).body;
    const put = await adminB.put('/api/v1/settings/session-recording', { ...settings, storage: 'directory', storagePath: share.dir });
    assert.equal(put.status, 200, JSON.stringify(put.body));
    const roles = Object.fromEntries((await adminB.get('/api/v1/roles')).body.items.map((r: { name: string; id: string }) => [r.name, r.id]));
    const alice = await adminB.post('/api/v1/users', { username: 'alice', password: 'alice-password', roles: [roles.User] });
    assert.equal(alice.status, 201);
    const tmp = tempDir('vigil-cluster-keys-');
    key = path.join(tmp.dir, 'alice');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
    assert.equal((await adminB.post(`/api/v1/users/${alice.body.id}/ssh-keys`, { publicKey: fs.readFileSync(`${key}.pub`, 'utf8') })).status, 201);
    const secret = await adminB.post('/api/v1/secrets', { name: 'web', kind: 'ssh', host: '127.0.0.1', port: sshd.port, username: sshd.user, password: sshd.password, recording: { video: true, keystrokes: true }, access: { users: [alice.body.id], roles: [] } });
    assert.equal(secret.status, 201, JSON.stringify(secret.body));
  });

  after(async () => {
    await Promise.allSettled([a?.stop(), b?.stop()]);
    await Promise.allSettled([rabbit?.stop(), sshd?.stop(), db?.drop()]);
    share?.remove();
  });

  const activeSession = (api: Api) =>
    waitFor('an active session', async () => {
      const items = (await api.get('/api/v1/sessions?status=active')).body.items as Row[];
      return items.length === 1 ? items[0]! : undefined;
    });

  it('lists both nodes as up', async () => {
    const nodes = (await adminA.get('/api/v1/cluster/nodes')).body.nodes as Row[];
    const up = nodes.filter((n) => n.status === 'up');
    assert.equal(up.length, 2);
    assert.deepEqual(up.map((n) => (n.roles as string[]).join(',')).sort(), ['api,ssh', 'api,worker']);
    assert.ok(up.some((n) => n.sshPort === a.sshPort && n.httpUrl === a.base));
    const [ka, kb] = await Promise.all([adminA.get('/api/v1/ssh-proxy/host-key'), adminB.get('/api/v1/ssh-proxy/host-key')]);
    assert.equal(ka.status, 200);
    assert.equal(ka.body.fingerprint, kb.body.fingerprint, 'one SSH host key for the whole cluster');
  });

  it('watches, searches, plays, messages and terminates from node B a session held by node A', async () => {
    const term = new Terminal(a.sshPort!, key, login);
    await term.waitSeen(/\$ $/);
    const session = await activeSession(adminB);
    const id = String(session.id);

    const viewer = new Socket(`${b.base.replace('http', 'ws')}/api/v1/sessions/${id}/live`, adminB.token!);
    await viewer.opened;
    assert.equal((await viewer.next('hello')).status, 'active');
    const snapshot = await viewer.next('snapshot', 10_000);
    assert.match(String(snapshot.screen ?? JSON.stringify(snapshot)), /\$/, 'the current screen comes from node A on join');

    term.type('echo cluster-$((6*7))-marker\r');
    await term.waitSeen(/cluster-42-marker/);
    const live = await waitFor('live output on node B', async () => {
      const m = await viewer.next('output', 10_000);
      return Buffer.from(String(m.data), 'base64').toString().includes('cluster-42-marker') ? m : undefined;
    });
    assert.ok(live);

    // Search and playback from node B while the session is still active (written by node A).
    const hit = await waitFor('the keystrokes searchable on node B', async () => {
      const res = await adminB.get(`/api/v1/sessions?q=${encodeURIComponent('cluster-$((6*7))')}&in=proxy-keystrokes`);
      return (res.body.items as Row[]).find((s) => s.id === id);
    });
    assert.ok((hit.hits as Row[]).length >= 1);
    const cast = await waitFor('the growing cast on node B', async () => {
      const res = await fetch(`${b.base}/api/v1/sessions/${id}/recording?format=cast`, { headers: { authorization: `Bearer ${adminB.token}` } });
      const text = await res.text();
      return res.status === 200 && text.includes('cluster-42-marker') ? text : undefined;
    });
    assert.ok(cast.startsWith('{'), 'an asciicast header first');

    assert.equal((await adminB.post(`/api/v1/sessions/${id}/message`, { text: 'Hello from node B <b>' })).status, 202);
    await term.waitSeen(/Hello from node B <b>/);
    assert.equal((await adminB.post(`/api/v1/sessions/${id}/terminate`, { message: 'cluster test over' })).status, 202);
    const code = await Promise.race([term.exited, sleep(15_000).then(() => 'timeout')]);
    assert.notEqual(code, 'timeout', 'the ssh client on node A was disconnected');
    const ended = (await adminA.get(`/api/v1/sessions/${id}`)).body;
    assert.equal(ended.status, 'terminated');
    assert.equal(ended.endedBy, 'admin');
    viewer.ws.close();
  });

  it('relays a launcher-held session across nodes: holder on A, viewer, message and terminate on B', async () => {
    const me = (await adminB.get('/api/v1/auth/me')).body;
    const desk = await adminB.post('/api/v1/secrets', { name: 'desk', kind: 'desktop', host: '10.0.0.7', port: 3389, username: 'Administrator', password: 'Desk-pw-123', recording: { video: true, keystrokes: true }, access: { users: [me.id], roles: [] } });
    assert.equal(desk.status, 201, JSON.stringify(desk.body));
    const launch = await adminB.post(`/api/v1/secrets/${desk.body.id}/launch`);
    const redeemed = await new Api(a.base).post('/api/v1/launch-grants/redeem', { grant: launch.body.grant });
    assert.equal(redeemed.status, 200);
    const id = String(launch.body.session.id);
    const holder = new Socket(`${a.base.replace('http', 'ws')}/api/v1/ingest/sessions/${id}/control`, redeemed.body.uploadToken);
    await holder.opened;
    await sleep(300); // the holder's subscription on node A is in place
    const viewer = new Socket(`${b.base.replace('http', 'ws')}/api/v1/sessions/${id}/live`, adminB.token!);
    await viewer.opened;
    assert.equal((await viewer.next('hello')).status, 'active');
    await holder.next('snapshot-request', 10_000);
    holder.ws.send(JSON.stringify({ type: 'live', message: { type: 'media', seq: 0, data: Buffer.from('webm-bytes').toString('base64') } }));
    const media = await viewer.next('media', 10_000);
    assert.equal(Buffer.from(String(media.data), 'base64').toString(), 'webm-bytes');
    assert.equal((await adminB.post(`/api/v1/sessions/${id}/message`, { text: 'from B' })).status, 202);
    assert.equal((await holder.next('message', 10_000)).text, 'from B');
    assert.equal((await adminB.post(`/api/v1/sessions/${id}/terminate`, { message: 'done here' })).status, 202);
    assert.equal((await holder.next('terminate', 10_000)).reason, 'done here');
    assert.equal((await viewer.next('end', 10_000)).status, 'terminated');
    holder.ws.close();
    viewer.ws.close();
  });

  it('survives a RabbitMQ restart mid-session: every command recorded once, control and live work again', async () => {
    const term = new Terminal(a.sshPort!, key, login);
    await term.waitSeen(/\$ $/);
    const id = String((await activeSession(adminB)).id);
    const viewer = new Socket(`${b.base.replace('http', 'ws')}/api/v1/sessions/${id}/live`, adminB.token!);
    await viewer.opened;
    await viewer.next('hello');

    const total = 30;
    let typed = 0;
    const typing = (async () => {
      for (let i = 1; i <= total; i += 1) {
        term.type(`echo rmq-${String(i).padStart(3, '0')}-done\r`);
        typed = i;
        await sleep(300);
      }
    })();
    await sleep(1500);
    await rabbit.restart(1500);
    await typing;
    assert.equal(typed, total);
    await term.waitSeen(new RegExp(`rmq-${String(total).padStart(3, '0')}-done\\r?\\n`));

    // Bus consumers on both nodes reattached: a message from B reaches A's proxy again ...
    await waitFor('a message delivered after the broker restart', async () => {
      const res = await adminB.post(`/api/v1/sessions/${id}/message`, { text: 'after-restart-ping' });
      if (res.status !== 202) return undefined;
      return waitFor('ping', async () => term.seen.includes('after-restart-ping'), 3_000).catch(() => undefined);
    }, 30_000);
    // ... and live output from A reaches B's viewer (a fresh viewer; the old one may have been cut).
    const viewer2 = new Socket(`${b.base.replace('http', 'ws')}/api/v1/sessions/${id}/live`, adminB.token!);
    await viewer2.opened;
    await viewer2.next('hello');
    term.type('echo post-restart-$((1+1))\r');
    // The snapshot is the screen as of its request: output that reached A's proxy before the
    // request (it crosses the broker) is in it; output after it comes as output.
    await waitFor('the screen after the restart', async () => {
      const m = await viewer2.next(['snapshot', 'output'], 10_000);
      const text = m.type === 'snapshot' ? String(m.data) : Buffer.from(String(m.data), 'base64').toString();
      return text.includes('post-restart-2') ? true : undefined;
    });
    term.type('echo again-$((2+2))\r');
    await waitFor('live output after the restart', async () => {
      const m = await viewer2.next('output', 10_000);
      return Buffer.from(String(m.data), 'base64').toString().includes('again-4') ? true : undefined;
    });
    term.type('exit\r');
    await term.exited;
    viewer.ws.close();
    viewer2.ws.close();

    const commands = await waitFor('the session ended with its activity', async () => {
      const s = (await adminB.get(`/api/v1/sessions/${id}`)).body;
      if (s.status !== 'ended') return undefined;
      return (await adminB.get(`/api/v1/sessions/${id}/activity?type=command&limit=500`)).body;
    });
    const texts = (commands.items as Row[]).map((e) => String(e.text));
    for (let i = 1; i <= total; i += 1) {
      const n = texts.filter((t) => t.includes(`rmq-${String(i).padStart(3, '0')}-done`)).length;
      assert.equal(n, 1, `command ${i} recorded exactly once (got ${n}; ${texts.length} commands)`);
    }
  });

  it('interrupts the sessions of a node killed with SIGKILL within 30 s; the recording stays playable on the survivor', async () => {
    const term = new Terminal(a.sshPort!, key, login);
    await term.waitSeen(/\$ $/);
    const id = String((await activeSession(adminB)).id);
    term.type('echo before-the-crash-$((3*3))\r');
    await term.waitSeen(/before-the-crash-9/);
    // The recorder flushes once a second: let the chunk with that output be acknowledged.
    await waitFor('the output stored', async () => {
      const res = await fetch(`${b.base}/api/v1/sessions/${id}/recording?format=cast`, { headers: { authorization: `Bearer ${adminB.token}` } });
      return (await res.text()).includes('before-the-crash-9');
    });
    const killedAt = Date.now();
    a.child.kill('SIGKILL');
    await a.exited;
    const s = await waitFor('the session interrupted by node B', async () => {
      const v = (await adminB.get(`/api/v1/sessions/${id}`)).body;
      return v.status === 'interrupted' ? v : undefined;
    }, 40_000);
    const took = Date.now() - killedAt;
    assert.ok(took <= 30_000, `interrupted ${took} ms after the kill`);
    assert.match(String(s.endReason), /node .* stopped answering/);
    const res = await fetch(`${b.base}/api/v1/sessions/${id}/recording?format=cast`, { headers: { authorization: `Bearer ${adminB.token}` } });
    assert.equal(res.status, 200);
    assert.ok((await res.text()).includes('before-the-crash-9'), 'playable up to the last acknowledged chunk');
    const nodes = (await adminB.get('/api/v1/cluster/nodes')).body.nodes as Row[];
    assert.equal(nodes.find((n) => n.httpUrl === a.base)?.status, 'silent');
    term.kill();
  });
});

describe('a cluster whose PostgreSQL restarts', () => {
  let pgsrv: PrivatePostgres;
  const nodes: Node[] = [];

  before(async () => {
    pgsrv = await startPrivatePostgres();
    const env = { VIGIL_DATABASE_URL: pgsrv.url, VIGIL_ADMIN_PASSWORD: ADMIN_PASSWORD, VIGIL_MASTER_KEY: randomBytes(32).toString('hex') };
    nodes.push(await spawnNode('p1', env, 'api,worker'));
    nodes.push(await spawnNode('p2', env, 'api'));
  });
  after(async () => {
    await Promise.allSettled(nodes.map((n) => n.stop()));
    await pgsrv?.stop();
  });

  it('answers 503 while the database is away and recovers by itself, without interrupting anything', async () => {
    const apis = await Promise.all(nodes.map((n) => Api.login(n.base, 'admin', ADMIN_PASSWORD)));
    // A launched (desktop) session whose component keeps heartbeating: it must survive the outage.
    const me = (await apis[0]!.get('/api/v1/auth/me')).body;
    const secret = await apis[0]!.post('/api/v1/secrets', { name: 'desk', kind: 'desktop', host: '10.0.0.9', port: 3389, username: 'Administrator', password: 'pw-1234567', recording: { video: true, keystrokes: true }, access: { users: [me.id], roles: [] } });
    assert.equal(secret.status, 201, JSON.stringify(secret.body));
    const launch = await apis[0]!.post(`/api/v1/secrets/${secret.body.id}/launch`);
    assert.equal(launch.status, 201, JSON.stringify(launch.body));
    const redeem = await new Api(nodes[1]!.base).post('/api/v1/launch-grants/redeem', { grant: launch.body.grant });
    assert.equal(redeem.status, 200);
    const component = new Api(nodes[1]!.base, redeem.body.uploadToken);
    const sessionId = String(launch.body.session.id);

    const stopping = pgsrv.restart(8_000);
    await sleep(1_500);
    for (const api of apis) {
      const res = await api.get('/api/v1/sessions');
      assert.equal(res.status, 503, `during the outage: ${res.status} ${JSON.stringify(res.body)}`);
      assert.equal(res.body.error.code, 'unavailable');
    }
    const beat = await component.post(`/api/v1/ingest/sessions/${sessionId}/heartbeat`);
    assert.equal(beat.status, 503, 'a component is told to retry, not that its session is gone');
    await stopping;

    for (const api of apis) {
      const ok = await waitFor('the node answering again', async () => ((await api.get('/api/v1/sessions')).status === 200 ? true : undefined), 30_000);
      assert.ok(ok);
    }
    assert.equal((await component.post(`/api/v1/ingest/sessions/${sessionId}/heartbeat`)).body.status, 'active');
    // Both nodes beat again and are seen up; sessions were not swept as if their holders had died.
    await waitFor('both nodes up', async () => {
      const list = (await apis[1]!.get('/api/v1/cluster/nodes')).body.nodes as Row[];
      return list.filter((n) => n.status === 'up').length === 2 ? true : undefined;
    }, 20_000);
    assert.equal((await apis[1]!.get(`/api/v1/sessions/${sessionId}`)).body.status, 'active');
    assert.equal((await Api.login(nodes[1]!.base, 'admin', ADMIN_PASSWORD)).token !== undefined, true, 'sign-in works again');
  });
});
