import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AgentClient } from '../src/agent/agent-client.ts';
import type { AgentStatus } from '../src/protocol/agents.ts';
import { ADMIN_PASSWORD, Api, startTestServer, uniqueName, type TestServer } from './helpers/server.ts';

/**
 * A host agent is the host it enrolled as: an agent on one (compromised) host that reports
 * another host's name or addresses in its heartbeats must not join that host's launched sessions.
 */
describe('host agent identity', () => {
  let t: TestServer;
  let admin: Api;

  before(async () => {
    t = await startTestServer();
    admin = await Api.login(t.base, 'admin', ADMIN_PASSWORD);
    const cur = (await admin.get('/api/v1/settings/session-recording')).body;
    assert.equal((await admin.put('/api/v1/settings/session-recording', { ...cur, enabled: true, recordAllSessions: false })).status, 200);
  });
  after(async () => {
    await t?.stop();
  });

  const enroll = async (hostName: string, addresses: string[]) => {
    const tok = await admin.post('/api/v1/agents/enrollment-tokens', { expiresInMinutes: 5 });
    const { agentId, credential } = await AgentClient.enroll(t.base, { token: tok.body.token, hostName, version: 'test', addresses });
    return { agentId, client: new AgentClient(t.base, credential) };
  };
  const launchFor = async (host: string) => {
    const me = (await admin.get('/api/v1/auth/me')).body;
    const secret = await admin.post('/api/v1/secrets', { name: uniqueName('victim'), kind: 'desktop', host, username: 'root', password: 'victim-password', launcher: { type: 'rdp' }, recording: { video: true, keystrokes: true }, access: { users: [me.id], roles: [] } });
    assert.equal(secret.status, 201, JSON.stringify(secret.body));
    const launched = await admin.post(`/api/v1/secrets/${secret.body.id}/launch`);
    assert.equal(launched.status, 201, JSON.stringify(launched.body));
    return launched.body.session.id as string;
  };
  let n = 0;
  const login = (agent: AgentClient) => agent.login({ key: `identity:${process.pid}:${(n += 1)}`, user: 'root', tty: 'pts/3', display: null, remoteAddress: null, remotePort: null, startedAt: Date.now(), leaderPid: 7000 + n });

  it('a heartbeat cannot change the host name or addresses a login is matched by, and claiming them is audited', async () => {
    const rogue = await enroll('rogue-host', ['192.0.2.66']);
    const victimSession = await launchFor('victim-host');
    const hb: AgentStatus = { processCapture: 'proc-polling', processCaptureTool: null, processEventsLost: 0, processCaptureError: null, logins: 'proc', window: 'off', transport: 'http', activeLogins: 0, heldSessions: 0, spool: { events: 0, bytes: 0, dropped: 0 }, counters: { processStarts: 0, processStops: 0, delivered: 0 } };
    await rogue.client.heartbeat({ hostName: 'victim-host', version: 'test', addresses: ['198.51.100.7'], status: hb }).catch((err: unknown) => assert.fail(`heartbeat refused: ${String(err)}`));

    const view = (await admin.get(`/api/v1/agents/${rogue.agentId}`)).body;
    assert.equal(view.hostName, 'rogue-host');
    assert.deepEqual(view.addresses, ['192.0.2.66']);
    const answer = await login(rogue.client);
    assert.equal(answer.session, null, `the rogue agent joined ${JSON.stringify(answer.session)}`);
    assert.equal((await admin.get(`/api/v1/sessions/${victimSession}`)).body.status, 'active');

    const audit = (await admin.get(`/api/v1/audit?action=agent.identity-mismatch&targetId=${rogue.agentId}`)).body.items;
    assert.equal(audit.length, 1);
    assert.equal(audit[0].details.reportedHostName, 'victim-host');
    await rogue.client.heartbeat({ hostName: 'victim-host', version: 'test', addresses: ['198.51.100.7'], status: hb });
    assert.equal((await admin.get(`/api/v1/audit?action=agent.identity-mismatch&targetId=${rogue.agentId}`)).body.items.length, 1, 'audited once, not at every heartbeat');

    // The host it enrolled as still joins its own launched session.
    const own = await launchFor('rogue-host');
    const joined = await login(rogue.client);
    assert.equal(joined.session?.id, own);
  });
});
