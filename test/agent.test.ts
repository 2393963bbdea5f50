import assert from 'node:assert/strict';
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, existsSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { createLogger } from '../src/adapters/log/logger.ts';
import { AgentClient } from '../src/agent/agent-client.ts';
import { HostAgent } from '../src/agent/agent.ts';
import { ProcLoginSource } from '../src/agent/logins/proc-logins.ts';
import { readStat, UserNames, type ProcStat } from '../src/agent/proc.ts';
import { ForkstatCapture } from '../src/agent/processes/forkstat-capture.ts';
import { buildProcConnector, ProcConnectorCapture } from '../src/agent/processes/proc-connector-capture.ts';
import { ProcPollCapture } from '../src/agent/processes/proc-poll-capture.ts';
import { X11WindowWatcher } from '../src/agent/window/x11-window.ts';
import { ADMIN_PASSWORD, Api, startTestServer, uniqueName, type TestServer } from './helpers/server.ts';
import { Terminal, waitFor } from './helpers/pty-login.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const VIGIL = path.join(ROOT, 'bin', 'vigil.js');
const run = promisify(execFile);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));




/** Only logins started under this test process count, so other logins on a shared machine do not interfere. */
function underThisTest(s: ProcStat): boolean {
  let p = s.ppid;
  for (let i = 0; p > 1 && i < 64; i++) {
    if (p === process.pid) return true;
    p = readStat(p)?.ppid ?? 0;
  }
  return false;
}

/** A TCP relay between agent and server that can cut the connection (a server outage as the agent sees it). */
class Outage {
  server: net.Server;
  port = 0;
  down = false;
  sockets = new Set<net.Socket>();
  constructor(target: URL) {
    this.server = net.createServer((c) => {
      if (this.down) return c.destroy();
      const u = net.connect(Number(target.port), target.hostname);
      this.sockets.add(c).add(u);
      c.pipe(u).pipe(c);
      const end = () => { c.destroy(); u.destroy(); this.sockets.delete(c); this.sockets.delete(u); };
      c.on('error', end).on('close', end);
      u.on('error', end).on('close', end);
    });
  }
  async listen(): Promise<string> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', () => r()));
    this.port = (this.server.address() as net.AddressInfo).port;
    return `http://127.0.0.1:${this.port}`;
  }
  cut(): void {
    this.down = true;
    for (const s of this.sockets) s.destroy();
  }
  restore(): void {
    this.down = false;
  }
}

describe('host agent', () => {
  let t: TestServer;
  let admin: Api;
  const dirs: string[] = [];
  const tmp = () => {
    const d = mkdtempSync(path.join(os.tmpdir(), 'vigil-agent-'));
    dirs.push(d);
    return d;
  };
  const agents: HostAgent[] = [];
  const terms: Terminal[] = [];
  const relays: Outage[] = [];

  before(async () => {
    t = await startTestServer();
    admin = await Api.login(t.base, 'admin', ADMIN_PASSWORD);
  });
  after(async () => {
    for (const term of terms) term.kill();
    for (const r of relays) {
      r.cut();
      r.server.close();
    }
    for (const a of agents) await a.stop();
    await t?.stop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  async function setSettings(patch: Record<string, unknown>): Promise<void> {
    const cur = (await admin.get('/api/v1/settings/session-recording')).body;
    const res = await admin.put('/api/v1/settings/session-recording', { ...cur, ...patch });
    assert.equal(res.status, 200, JSON.stringify(res.body));
  }

  async function enroll(server = t.base): Promise<{ agentId: string; credential: string }> {
    const tok = await admin.post('/api/v1/agents/enrollment-tokens', { expiresInMinutes: 5 });
    assert.equal(tok.status, 201);
    return AgentClient.enroll(server, { token: tok.body.token, hostName: os.hostname(), version: 'test', addresses: [] });
  }

  let helperDir = '';
  async function startAgent(opts: { server?: string; stateDir?: string; credential?: string; capture?: 'connector' | 'forkstat' | 'poll'; display?: string } = {}): Promise<{ agent: HostAgent; stateDir: string; socket: string }> {
    // One agent at a time: every running agent would see the same test logins.
    for (const a of agents.splice(0)) await a.stop();
    helperDir ||= tmp();
    const cred = opts.credential ?? (await enroll()).credential;
    const stateDir = opts.stateDir ?? tmp();
    const socket = path.join(stateDir, 'shell.sock');
    const users = new UserNames();
    const agent = new HostAgent({
      client: new AgentClient(opts.server ?? t.base, cred, 3000),
      logger: createLogger({ level: process.env.VIGIL_TEST_LOG_LEVEL ?? 'silent' }),
      hostName: os.hostname(), version: 'test', stateDir, shellSocket: socket,
      logins: new ProcLoginSource(users, new Set([process.pid]), underThisTest),
      captures: opts.capture === 'poll' ? [new ProcPollCapture(users)] : opts.capture === 'forkstat' ? [new ForkstatCapture(users)] : [new ProcConnectorCapture(users, () => buildProcConnector(helperDir))],
      heartbeatMs: 1000, loginScanMs: 300,
      ...(opts.display ? { window: new X11WindowWatcher(opts.display) } : {}),
    });
    await agent.start();
    agents.push(agent);
    return { agent, stateDir, socket };
  }

  const sessionOfLogin = async (pid: number) => {
    const row = await waitFor(`the login of pid ${pid}`, async () => {
      const rows = await t.server.store.db.selectFrom('agent_logins').selectAll().execute();
      return rows.find((r) => r.login_key.split(':')[1] === String(pid));
    });
    return row;
  };
  const events = (sessionId: string, type: string) =>
    t.server.store.db.selectFrom('activity_events').selectAll().where('session_id', '=', sessionId).where('source', '=', 'agent').where('type', '=', type).execute();

  it('enrolls with a one-time token through the CLI, heartbeats, and stops and forgets its credential when deactivated', async () => {
    const stateDir = tmp();
    const tok = await admin.post('/api/v1/agents/enrollment-tokens', {});
    assert.equal(tok.status, 201);
    assert.match(tok.body.token, /^vge_/);
    const tokenFile = path.join(stateDir, 'token');
    writeFileSync(tokenFile, tok.body.token);
    const env = { ...process.env, VIGIL_LOG_LEVEL: 'silent', VIGIL_AGENT_HEARTBEAT_MS: '500' };
    const enrolled = await run(process.execPath, [VIGIL, 'agent', 'enroll', '--server', t.base, '--token-file', tokenFile, '--state-dir', stateDir], { env });
    assert.match(enrolled.stdout, /enrolled as agent/);
    const st = statSync(path.join(stateDir, 'agent.json'));
    assert.equal(st.mode & 0o777, 0o600);
    assert.equal(statSync(stateDir).mode & 0o777, 0o700);
    // The token works once.
    const again = await run(process.execPath, [VIGIL, 'agent', 'enroll', '--server', t.base, '--token-file', tokenFile, '--state-dir', tmp()], { env }).catch((e: { code: number; stderr: string }) => e);
    assert.equal((again as { code: number }).code, 1);
    assert.match((again as { stderr: string }).stderr, /unknown, expired or already used/);

    const agentProc = spawn(process.execPath, [VIGIL, 'agent', 'run', '--state-dir', stateDir, '--socket', path.join(stateDir, 's.sock')], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise<number | null>((r) => agentProc.on('exit', (c) => r(c)));
    try {
      const agent = await waitFor('the agent online', async () => {
        const list = await admin.get('/api/v1/agents');
        return (list.body.items as Array<{ hostName: string; online: boolean; status: { processCapture: string } | null; id: string; version: string }>).find((a) => a.online && a.status && a.hostName === os.hostname() && a.id === JSON.parse(readJson(path.join(stateDir, 'agent.json'))).agentId);
      });
      assert.equal(agent.status!.processCapture, 'proc-connector');
      assert.equal(agent.version, '0.1.0');
      const deact = await admin.post(`/api/v1/agents/${agent.id}/deactivate`);
      assert.equal(deact.status, 200);
      assert.equal(deact.body.state, 'deactivated');
      assert.equal(await Promise.race([exited, sleep(15_000).then(() => 'still running')]), 3);
      assert.equal(existsSync(path.join(stateDir, 'agent.json')), false);
      const audit = await admin.get('/api/v1/audit?action=agent.*');
      const actions = (audit.body.items as Array<{ action: string }>).map((e) => e.action);
      for (const a of ['agent.enrollment-token.create', 'agent.enroll', 'agent.deactivate']) assert.ok(actions.includes(a), a);
    } finally {
      agentProc.kill('SIGKILL');
    }
  });

  it('detects a terminal login through /proc (user, tty, remote address) and, with record-all on, opens a host session', async () => {
    await setSettings({ recordAllSessions: true });
    const { agent } = await startAgent();
    const term = await Terminal.open(['bash', '--norc', '--noprofile', '-i'], { SSH_CLIENT: '203.0.113.7 40123 22' });
    terms.push(term);
    const login = await sessionOfLogin(term.pid);
    assert.equal(login.user_name, 'root');
    assert.match(login.tty ?? '', /^pts\/\d+$/);
    assert.equal(login.remote_address, '203.0.113.7');
    assert.equal(login.held, 1);
    const s = (await admin.get(`/api/v1/sessions/${login.session_id}`)).body;
    assert.equal(s.kind, 'host');
    assert.equal(s.component, 'agent');
    assert.equal(s.clientAddress, '203.0.113.7');
    assert.equal(s.target.host, os.hostname());
    const ev = await waitFor('the login event', async () => (await events(login.session_id!, 'login'))[0]);
    assert.equal(JSON.parse(ev.details!).remotePort, 40123);

    // Processes: 1,000 short-lived /bin/true, and full path, cwd and user of longer ones.
    const cwd = tmp();
    term.write(`cd ${cwd} && for i in $(seq 1000); do /bin/true; done; /bin/sleep 0.3; setpriv --reuid=nobody --regid=nogroup --clear-groups /bin/sleep 0.3; echo LOOP-$((6*7))-DONE\n`);
    await term.expect(/LOOP-42-DONE\r?\n/, 60_000); // the output, not the echoed command line
    const starts = await waitFor('1,000 process starts', async () => {
      const rows = (await events(login.session_id!, 'process-start')).map((e) => JSON.parse(e.details!) as { path: string; cwd: string | null; user: string; name: string; args: string[]; pid: number });
      return rows.filter((r) => r.name === 'true' || r.name === '?').length >= 1000 && rows.some((r) => r.name === 'sleep' && r.user === 'nobody') ? rows : undefined;
    }, 30_000).catch(async () => (await events(login.session_id!, 'process-start')).map((e) => JSON.parse(e.details!) as { path: string; cwd: string | null; user: string; name: string; args: string[]; pid: number }));
    // '?' = reaped before /proc could be read: captured, without details (see docs/AGENT.md).
    const trues = starts.filter((r) => r.name === 'true' || r.name === '?');
    assert.equal(new Set(trues.map((r) => r.pid)).size, trues.length, 'no process reported twice');
    assert.equal(trues.length, 1000, `captured ${trues.length} of 1000 /bin/true on the proc-connector path; names ${JSON.stringify(starts.reduce<Record<string, number>>((m, r) => ({ ...m, [r.name]: (m[r.name] ?? 0) + 1 }), {}))}; status ${JSON.stringify(agent.status)}`);
    const sleepRoot = starts.find((r) => r.name === 'sleep' && r.user === 'root');
    assert.ok(sleepRoot, 'sleep as root');
    assert.equal(sleepRoot.path, '/usr/bin/sleep');
    assert.equal(sleepRoot.cwd, cwd);
    assert.deepEqual(sleepRoot.args, ['/bin/sleep', '0.3']);
    const sleepNobody = starts.find((r) => r.name === 'sleep' && r.user === 'nobody');
    assert.ok(sleepNobody, 'sleep as nobody');
    assert.equal(sleepNobody.cwd, cwd);
    const stops = await waitFor('process stops', async () => {
      const r = await events(login.session_id!, 'process-stop');
      return r.length >= 1000 ? r : undefined;
    });
    assert.ok(stops.some((e) => JSON.parse(e.details!).name === 'sleep'));
    // Searchable as applications.
    const found = await admin.get(`/api/v1/sessions?q=${encodeURIComponent('/bin/sleep 0.3')}&in=applications`);
    assert.ok((found.body.items as Array<{ id: string }>).some((i) => i.id === login.session_id));

    // Terminate from the console ends the login.
    const term2 = await admin.post(`/api/v1/sessions/${login.session_id}/terminate`, { message: 'policy' });
    assert.equal(term2.status, 202);
    assert.notEqual(await Promise.race([term.exited, sleep(15_000).then(() => 'alive')]), 'alive');
    await term.expect(/terminated by admin: policy/);
    assert.equal((await admin.get(`/api/v1/sessions/${login.session_id}`)).body.status, 'terminated');
  });

  it('joins a session launched for this host and user, and ignores unmatched logins when record-all is off', async () => {
    await setSettings({ recordAllSessions: false });
    await startAgent();
    const me = (await admin.get('/api/v1/auth/me')).body;
    const secret = await admin.post('/api/v1/secrets', { name: uniqueName('host'), kind: 'ssh', host: os.hostname(), username: 'root', password: 'x', recording: { video: true, keystrokes: true }, access: { users: [me.id], roles: [] } });
    assert.equal(secret.status, 201, JSON.stringify(secret.body));
    const launched = await admin.post(`/api/v1/secrets/${secret.body.id}/launch`);
    assert.equal(launched.status, 201);
    const sessionId = launched.body.session.id as string;
    const term = await Terminal.open(['bash', '--norc', '--noprofile', '-i']);
    terms.push(term);
    const login = await sessionOfLogin(term.pid);
    assert.equal(login.session_id, sessionId);
    assert.equal(login.held, 0);
    term.write('/bin/echo MATCHED-MARKER\n');
    await term.expect(/MATCHED-MARKER\r?\n/);
    await waitFor('the process in the launched session', async () => (await events(sessionId, 'process-start')).some((e) => e.text.includes('MATCHED-MARKER')));

    // A second login: nothing launched is left to match and record-all is off → ignored.
    const other = await Terminal.open(['bash', '--norc', '--noprofile', '-i']);
    terms.push(other);
    const ignored = await sessionOfLogin(other.pid);
    assert.equal(ignored.session_id, null);
    term.kill();
    other.kill();
  });

  it('records a session-shell: keystrokes searchable as agent-keystrokes, a no-echo password absent, asciicast stored', async () => {
    await setSettings({ recordAllSessions: true, recordKeystrokes: true });
    const { socket } = await startAgent();
    const marker = `hello-agent-${Date.now()}`;
    const term = await Terminal.open([process.execPath, VIGIL, 'session-shell'], { VIGIL_AGENT_SOCKET: socket, VIGIL_REAL_SHELL: '/bin/bash', HOME: tmp(), PS1: '$ ' });
    terms.push(term);
    const login = await sessionOfLogin(term.pid);
    assert.equal(login.held, 1);
    await term.expect(/[#$] $/);
    term.write(`echo ${marker}\n`);
    await term.expect(new RegExp(`${marker}\\r?\\n`));
    term.write('read -s PW; echo got-${#PW}\n');
    await sleep(700);
    term.write('topsecret-pw-9\n');
    await term.expect(/got-14/);
    term.write('exit\n');
    await term.exited;
    const sid = login.session_id!;
    await waitFor('the session closed', async () => (await admin.get(`/api/v1/sessions/${sid}`)).body.status === 'ended');
    const hit = await admin.get(`/api/v1/sessions?q=${encodeURIComponent(marker)}&in=agent-keystrokes`);
    assert.ok((hit.body.items as Array<{ id: string }>).some((i) => i.id === sid), 'keystrokes searchable');
    const miss = await admin.get(`/api/v1/sessions?q=topsecret-pw-9`);
    assert.equal((miss.body.items as Array<{ id: string }>).some((i) => i.id === sid), false, 'the password is not searchable');
    const cast = await admin.req('GET', `/api/v1/sessions/${sid}/recording?format=cast`);
    assert.equal(cast.status, 200);
    const text = typeof cast.body === 'string' ? cast.body : JSON.stringify(cast.body);
    assert.match(text.split('\n')[0]!, /"version":2/);
    assert.ok(text.includes(marker));
    assert.equal(text.includes('topsecret-pw-9'), false, 'the password is not in the recording');
  });

  it('spools events through a server outage and across an agent restart, and delivers each once', async () => {
    await setSettings({ recordAllSessions: true });
    const relay = new Outage(new URL(t.base));
    const via = await relay.listen();
    relays.push(relay);
    const { credential } = await enroll();
    const first = await startAgent({ server: via, credential });
    const term = await Terminal.open(['bash', '--norc', '--noprofile', '-i']);
    terms.push(term);
    const login = await sessionOfLogin(term.pid);
    const sid = login.session_id!;
    await waitFor('the login event delivered', async () => (await events(sid, 'login')).length === 1);
    relay.cut();
    term.write('for i in $(seq 10 59); do /bin/sleep 0.0$i; done; echo OUT-$((6*7))-DONE\n');
    await term.expect(/OUT-42-DONE\r?\n/); // the output, not the echoed command line
    await waitFor('events in the spool', () => first.agent.status.spool.events >= 50);
    assert.equal((await events(sid, 'process-start')).filter((e) => e.text.startsWith('/bin/sleep 0.0')).length, 0, 'nothing reached the server during the outage');
    // The agent restarts during the outage; the new run resumes the spool from disk.
    const second = await startAgent({ server: via, credential, stateDir: first.stateDir });
    term.write('/bin/sleep 0.061\n');
    await sleep(1500);
    relay.restore();
    const rows = await waitFor('the spooled events delivered', async () => {
      const r = (await events(sid, 'process-start')).filter((e) => e.text.startsWith('/bin/sleep 0.0'));
      return r.length >= 51 ? r : undefined;
    }, 30_000).catch(async (err: unknown) => {
      throw new Error(`${String(err)}; agent status ${JSON.stringify(second.agent.status)}; texts ${JSON.stringify((await events(sid, 'process-start')).map((e) => e.text))}`);
    });
    await sleep(1500);
    const final = (await events(sid, 'process-start')).filter((e) => e.text.startsWith('/bin/sleep 0.0'));
    assert.equal(final.length, 51, `each delivered once (got ${rows.length} then ${final.length})`);
    assert.equal(new Set(final.map((e) => e.text)).size, 51);
    const seqs = (await t.server.store.db.selectFrom('activity_events').select('seq').where('session_id', '=', sid).where('source', '=', 'agent').orderBy('seq').execute()).map((r) => Number(r.seq));
    assert.deepEqual(seqs, seqs.map((_, i) => i), 'sequence numbers without gaps or doubles');
    assert.equal(second.agent.status.spool.dropped, 0);
    term.kill();
  });

  it('shows console messages on the terminal and ends an idle host session after a warning', async () => {
    process.env.VIGIL_AGENT_MINUTE_MS = '1000'; // the limits' minute, shortened so the test runs in seconds
    try {
      await setSettings({ recordAllSessions: true, inactivityTimeoutMinutes: 3 });
      await startAgent();
      const term = await Terminal.open(['bash', '--norc', '--noprofile', '-i']);
      terms.push(term);
      const login = await sessionOfLogin(term.pid);
      const sid = login.session_id!;
      await sleep(1500); // the control socket connects
      const msg = await admin.post(`/api/v1/sessions/${sid}/message`, { text: 'please wrap up' });
      assert.equal(msg.status, 202);
      await term.expect(/message from admin: please wrap up/);
      await term.expect(/idle and will end soon/, 15_000);
      assert.notEqual(await Promise.race([term.exited, sleep(15_000).then(() => 'alive')]), 'alive');
      await term.expect(/no activity for 3 min; this session ends now/);
      const s = await waitFor('the session ended', async () => {
        const v = (await admin.get(`/api/v1/sessions/${sid}`)).body;
        return v.status !== 'active' ? v : undefined;
      });
      assert.equal(s.status, 'terminated');
      assert.equal(s.endReason, 'inactivity timeout');
    } finally {
      delete process.env.VIGIL_AGENT_MINUTE_MS;
      await setSettings({ inactivityTimeoutMinutes: 0 });
    }
  });

  it('reports the active X11 window of a login on that display (Xvfb with an EWMH window manager)', async () => {
    await setSettings({ recordAllSessions: true });
    const display = `:${90 + Math.floor(Math.random() * 9)}`;
    const xvfb = spawn('Xvfb', [display, '-noreset', '-nolisten', 'tcp', '-screen', '0', '640x480x24'], { stdio: 'ignore' });
    const title = `VIGIL-WIN-${Date.now()}`;
    const xenv = { ...process.env, DISPLAY: display };
    let wm: ChildProcess | undefined;
    let xlogo: ChildProcess | undefined;
    try {
      await waitFor('Xvfb', async () => (await run('xdpyinfo', ['-display', display]).then(() => true, () => false)));
      // A real window manager keeps _NET_ACTIVE_WINDOW on the root, as on a workstation (xprop
      // -set cannot create that property: it has no type to give it).
      wm = spawn('openbox', ['--sm-disable'], { env: xenv, stdio: 'ignore' });
      await waitFor('the window manager', async () => (await run('xprop', ['-display', display, '-root', '_NET_SUPPORTING_WM_CHECK']).then((r) => r.stdout.includes('window id'), () => false)));
      const { agent } = await startAgent({ display });
      assert.equal(agent.status.window, 'x11');
      const term = await Terminal.open(['bash', '--norc', '--noprofile', '-i'], { DISPLAY: display });
      terms.push(term);
      const login = await sessionOfLogin(term.pid);
      xlogo = spawn('xlogo', ['-display', display, '-title', title], { stdio: 'ignore' });
      const id = await waitFor('the window', async () => (await run('xdotool', ['search', '--name', title], { env: xenv }).then((r) => r.stdout.trim().split('\n')[0], () => undefined)));
      await run('xdotool', ['windowactivate', '--sync', id], { env: xenv });
      const ev = await waitFor('the window event', async () => (await events(login.session_id!, 'window')).find((e) => e.text === title));
      const d = JSON.parse(ev.details!) as { app: string | null; title: string; pid: number | null };
      assert.equal(d.title, title);
      assert.equal(d.app, 'XLogo');
      term.kill();
    } finally {
      xlogo?.kill();
      wm?.kill();
      xvfb.kill();
    }
  });

  it('falls back to /proc polling and reports it in its status', async () => {
    const { agent } = await startAgent({ capture: 'poll' });
    assert.equal(agent.status.processCapture, 'proc-polling');
    const id = await waitFor('the heartbeat status', async () => {
      const list = (await admin.get('/api/v1/agents')).body.items as Array<{ status: { processCapture: string } | null }>;
      return list.some((a) => a.status?.processCapture === 'proc-polling');
    });
    assert.ok(id);
  });
});


function readJson(p: string): string {
  return readFileSync(p, 'utf8');
}
