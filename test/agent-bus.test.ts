import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { RabbitMqBus } from '../src/adapters/bus/rabbitmq/rabbitmq-bus.ts';
import { createLogger } from '../src/adapters/log/logger.ts';
import { AgentClient } from '../src/agent/agent-client.ts';
import { BusDelivery } from '../src/agent/bus-delivery.ts';
import { SessionLink } from '../src/agent/session-link.ts';
import { SessionSpool, SpoolBudget } from '../src/agent/spool.ts';
import { AGENT_INGEST_QUEUE } from '../src/core/recording/bus-ingest.ts';
import { ADMIN_PASSWORD, Api, startTestServer, type TestServer } from './helpers/server.ts';
import { tempDir, TEST_BUS_URL } from './helpers/stores.ts';
import { until } from './helpers/xvfb.ts';

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '..');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The agent's Bus transport against real RabbitMQ and a real server: session data published by
 * the agent's session link is stored by the server's consumer, once, in order, and a close only
 * takes effect once everything it counts is stored.
 */
describe('host agent over the Bus (RabbitMQ)', () => {
  let t: TestServer;
  let admin: Api;
  let agent: AgentClient;
  let delivery: BusDelivery;
  const dirs: Array<{ dir: string; remove(): void }> = [];
  const tmp = () => {
    const d = tempDir('vigil-agent-bus-');
    dirs.push(d);
    return d.dir;
  };

  before(async () => {
    t = await startTestServer({ VIGIL_BUS_URL: TEST_BUS_URL }, { agentBusRetry: { maxAttempts: 40, retryDelayMs: 150 } });
    admin = await Api.login(t.base, 'admin', ADMIN_PASSWORD);
    const cur = (await admin.get('/api/v1/settings/session-recording')).body;
    assert.equal((await admin.put('/api/v1/settings/session-recording', { ...cur, recordAllSessions: true })).status, 200);
    const tok = await admin.post('/api/v1/agents/enrollment-tokens', { expiresInMinutes: 5 });
    const { credential } = await AgentClient.enroll(t.base, { token: tok.body.token, hostName: 'bus-host', version: 'test', addresses: [] });
    agent = new AgentClient(t.base, credential);
    delivery = await BusDelivery.open(TEST_BUS_URL);
  });
  after(async () => {
    await delivery?.stop();
    await t?.stop();
    for (const d of dirs) d.remove();
  });

  let loginNo = 0;
  const heldSession = async () => {
    loginNo += 1;
    const ans = await agent.login({ key: `bus:${process.pid}:${loginNo}:${Date.now()}`, user: 'bususer', tty: 'pts/9', display: null, remoteAddress: null, remotePort: null, startedAt: Date.now(), leaderPid: 4000 + loginNo });
    assert.ok(ans.session?.held, JSON.stringify(ans));
    return ans.session!;
  };
  const row = (id: string) => t.server.store.db.selectFrom('sessions').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  const storedEvents = (id: string) => t.server.store.db.selectFrom('activity_events').selectAll().where('session_id', '=', id).where('source', '=', 'agent').orderBy('seq').execute();

  it('delivers events and cast chunks through RabbitMQ, then closes the session once all is stored', async () => {
    const s = await heldSession();
    const spool = SessionSpool.create(tmp(), { sessionId: s.id, uploadToken: s.uploadToken, startedAt: s.startedAt, held: true, media: s.media, recordKeystrokes: s.recordKeystrokes, loginKey: 'k', eventsAcked: 0, chunksAcked: 0, close: null }, new SpoolBudget(1 << 20));
    let delivered = 0;
    const link = new SessionLink(spool, agent, createLogger({ level: 'silent' }), { onDelivered: (n) => (delivered += n), onEnded: () => undefined, onMessage: () => undefined, onTerminate: () => undefined }, delivery);
    const hostile = '<img src=x onerror=alert(1)> "quotes" \\ \u2028 tab\t';
    for (let i = 0; i < 250; i++) link.event(s.startedAt + i * 10, 'process-start', i === 7 ? hostile : `/usr/bin/cmd-${i}`, { pid: 1000 + i });
    const header = JSON.stringify({ version: 2, width: 80, height: 24, timestamp: Math.floor(s.startedAt / 1000) }) + '\n';
    spool.addChunk(Buffer.from(header + '[0.1,"o","hello over the bus\\r\\n"]\n'));
    spool.addChunk(Buffer.from('[0.2,"o","second chunk\\r\\n"]\n'));
    spool.markClose({ status: 'ended', reason: 'logout' });
    await until('the link to finish', async () => {
      await link.pump();
      return link.done;
    }, 20_000);
    assert.equal(delivered, 250);
    const ended = await until('the session to end', async () => {
      const r = await row(s.id);
      return r.status !== 'active' ? r : undefined;
    }, 20_000);
    assert.equal(ended.status, 'ended');
    assert.equal(ended.end_reason, 'logout');
    // Everything was stored before the close took effect.
    const ev = await storedEvents(s.id);
    assert.deepEqual(ev.map((e) => Number(e.seq)), Array.from({ length: 250 }, (_, i) => i));
    assert.equal(ev[7]!.text, hostile);
    assert.equal(Number(ended.chunk_count), 2);
    const cast = await admin.get(`/api/v1/sessions/${s.id}/recording?format=cast`);
    assert.equal(cast.status, 200);
    assert.match(String(cast.body), /hello over the bus[\s\S]*second chunk/);
  });

  it('holds a close that overtook its data until the data is stored; replays are stored once', async () => {
    const s = await heldSession();
    const events = Array.from({ length: 20 }, (_, i) => ({ seq: i, at: i * 5, type: 'command' as const, text: `cmd ${i}` }));
    // The close first, as a second server node might see it: it must wait.
    await delivery.close(s.id, s.uploadToken, { status: 'ended', reason: 'logout' }, { events: 20, chunks: 0 });
    await sleep(1000);
    assert.equal((await row(s.id)).status, 'active', 'the close waits for the data it counts');
    // The second half before the first (a gap, redelivered until the first half is in), and a replay.
    await delivery.events(s.id, s.uploadToken, events.slice(10));
    await delivery.events(s.id, s.uploadToken, events.slice(0, 10));
    await delivery.events(s.id, s.uploadToken, events.slice(0, 10));
    const ended = await until('the session to end', async () => {
      const r = await row(s.id);
      return r.status !== 'active' ? r : undefined;
    }, 20_000);
    assert.equal(ended.status, 'ended');
    const ev = await storedEvents(s.id);
    assert.deepEqual(ev.map((e) => e.text), events.map((e) => e.text));
  });

  it('never stores a message with a wrong credential: it ends in the dead letters', async () => {
    const s = await heldSession();
    const other = await heldSession();
    // A credential of another session does not open this one.
    await delivery.events(s.id, other.uploadToken, [{ seq: 0, at: 0, type: 'command', text: 'forged' }]);
    const bus = await RabbitMqBus.open({ url: TEST_BUS_URL });
    try {
      const dead = await until('the dead letter', async () => {
        const got = await bus.takeDeadLetters(AGENT_INGEST_QUEUE, 50);
        return got.find((d) => JSON.stringify(d).includes(s.id));
      }, 30_000);
      assert.ok(dead);
    } finally {
      await bus.close();
    }
    assert.deepEqual(await storedEvents(s.id), []);
    assert.equal((await row(s.id)).status, 'active');
  });

  it('vigil agent run refuses a Bus URL it cannot use, without printing its password', async () => {
    const stateDir = tmp();
    const tok = await admin.post('/api/v1/agents/enrollment-tokens', { expiresInMinutes: 5 });
    const tokenFile = path.join(stateDir, 'token');
    writeFileSync(tokenFile, tok.body.token);
    await run(process.execPath, [path.join(ROOT, 'bin/vigil.js'), 'agent', 'enroll', '--server', t.base, '--token-file', tokenFile, '--state-dir', stateDir]);
    const urlFile = path.join(stateDir, 'bus-url');
    writeFileSync(urlFile, 'amqp://vigil:S3cret-bus-pw@127.0.0.1:1\n');
    const res = await run(process.execPath, [path.join(ROOT, 'bin/vigil.js'), 'agent', 'run', '--state-dir', stateDir, '--capture', 'proc-polling', '--bus-url-file', urlFile], { timeout: 60_000 }).then(
      () => ({ code: 0, stderr: '' }),
      (e: { code: number; stderr: string }) => ({ code: e.code, stderr: e.stderr }),
    );
    assert.notEqual(res.code, 0);
    assert.match(res.stderr, /cannot reach the Bus/);
    assert.ok(!res.stderr.includes('S3cret-bus-pw'), res.stderr);
    writeFileSync(urlFile, 'http://example.test/\n');
    const bad = await run(process.execPath, [path.join(ROOT, 'bin/vigil.js'), 'agent', 'run', '--state-dir', stateDir, '--bus-url-file', urlFile]).then(() => ({ code: 0, stderr: '' }), (e: { code: number; stderr: string }) => ({ code: e.code, stderr: e.stderr }));
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /amqp:\/\//);
  });
});
