import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { ClusterNodes } from '../src/core/cluster/cluster-nodes.ts';
import { checkMasterKey } from '../src/core/secrets/master-key-check.ts';
import { SessionsService } from '../src/core/sessions/sessions.service.ts';
import { DEFAULT_SESSION_RECORDING_SETTINGS } from '../src/protocol/settings.ts';
import { storeFixtures } from './helpers/stores.ts';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { syncClusterHostKey } from '../src/core/cluster/shared-host-key.ts';
import { loadOrCreateHostKey } from '../src/ssh-proxy/host-key.ts';
import { tempDir } from './helpers/stores.ts';

for (const fx of storeFixtures()) {
  describe(`cluster membership and node-held sessions on ${fx.name}`, () => {
    after(() => fx.cleanup());
    let now = 1_000_000;
    const clock = { now: () => now };
    const opts = { beatIntervalMs: 5_000, silentAfterMs: 15_000 };

    it('interrupts only the sessions of a silent or stopped node, once, whichever node sweeps', async () => {
      const store = await fx.open();
      try {
        const nodes = new ClusterNodes(store, clock, opts);
        await nodes.register({ id: 'node-a', roles: ['ssh'], version: 't' });
        await nodes.register({ id: 'node-b', roles: ['ssh'], version: 't' });
        await nodes.register({ id: 'node-c', roles: ['api'], version: 't' });
        const sessions = new SessionsService(store, clock, { get: async () => DEFAULT_SESSION_RECORDING_SETTINGS }, { heartbeatTimeoutMs: 3_600_000, nodeSilentAfterMs: opts.silentAfterMs });
        const open = (nodeId: string | null) => sessions.open({ kind: 'ssh', component: nodeId ? 'ssh-proxy' : 'launcher', user: { id: null, name: 'u' }, secret: null, target: { host: 'h', user: 'root' }, clientAddress: null, nodeId, media: 'cast' });
        const onA = await open('node-a');
        const onB = await open('node-b');
        const launched = await open(null);
        const onC = await open('node-c');

        now += 10_000;
        await nodes.beat('node-b');
        await nodes.beat('node-c');
        assert.deepEqual(await sessions.sweepInterrupted(), [], 'nobody silent for 15 s yet');
        now += 10_000; // A last beat 20 s ago, B and C 10 s ago
        await nodes.beat('node-b');
        await nodes.markStopped('node-c');
        const swept = await sessions.sweepInterrupted();
        assert.deepEqual(swept.sort(), [onA.id, onC.id].sort());
        assert.deepEqual(await sessions.sweepInterrupted(), [], 'a second sweep (another node) changes nothing');
        const a = await sessions.row(onA.id);
        assert.equal(a.status, 'interrupted');
        assert.match(String(a.end_reason), /node-a\) stopped answering/);
        assert.equal(Number(a.ended_at), 1_000_000, 'ended when the node was last seen');
        assert.equal((await sessions.row(onB.id)).status, 'active');
        assert.equal((await sessions.row(launched.id)).status, 'active', 'a launcher-held session does not depend on a node');
        assert.equal((await sessions.sweepInterrupted({ byNode: false, byHeartbeat: true })).length, 0);
        const views = await nodes.list();
        assert.deepEqual(Object.fromEntries(views.map((v) => [v.id, v.status])), { 'node-a': 'silent', 'node-b': 'up', 'node-c': 'stopped' });
      } finally {
        await store.close();
      }
    });

    it('is steady only after beating without a break, and not after a failed beat', async () => {
      const store = await fx.open();
      const nodes = new ClusterNodes(store, clock, opts);
      await nodes.register({ id: 'n', roles: [], version: 't' });
      assert.equal(nodes.steadyFor(15_000), false, 'just started');
      now += 16_000;
      await nodes.beat('n');
      assert.equal(nodes.steadyFor(15_000), true);
      await store.close();
      await assert.rejects(nodes.beat('n'));
      assert.equal(nodes.steadyFor(0), false, 'a failed beat: not in contact with the database');
    });

    it("gives every node the first node's SSH host key, kept encrypted in the database", async () => {
      const store = await fx.open();
      const [d1, d2] = [tempDir(), tempDir()];
      try {
        const key = randomBytes(32);
        const own2 = loadOrCreateHostKey(d2.dir).fingerprint;
        const logs: string[] = [];
        const k1 = await syncClusterHostKey(store, key, d1.dir, clock, (m) => logs.push(m));
        assert.equal(logs.length, 0, 'the first node keeps its key');
        const k2 = await syncClusterHostKey(store, key, d2.dir, clock, (m) => logs.push(m));
        assert.notEqual(own2, k1.fingerprint);
        assert.equal(k2.fingerprint, k1.fingerprint);
        assert.equal(loadOrCreateHostKey(d2.dir).fingerprint, k1.fingerprint, 'the adopted key is what the proxy reads');
        assert.equal(fs.statSync(path.join(d2.dir, 'ssh_host_ed25519_key')).mode & 0o777, 0o600);
        assert.match(logs[0]!, /adopted the cluster's SSH host key/);
        const stored = (await store.db.selectFrom('system_meta').select('value').where('name', '=', 'ssh-host-key').executeTakeFirstOrThrow()).value;
        assert.equal(stored.includes('PRIVATE KEY'), false, 'not stored in clear');
        await assert.rejects(syncClusterHostKey(store, randomBytes(32), d2.dir, clock, () => {}), /cannot be decrypted/);
      } finally {
        d1.remove();
        d2.remove();
        await store.close();
      }
    });

    it('refuses a master key other than the one the database was first used with', async () => {
      const store = await fx.open();
      try {
        const key = randomBytes(32);
        await checkMasterKey(store, key, clock);
        await checkMasterKey(store, Buffer.from(key), clock);
        await assert.rejects(checkMasterKey(store, randomBytes(32), clock), /not the key this database's secrets are encrypted with/);
      } finally {
        await store.close();
      }
    });
  });
}
