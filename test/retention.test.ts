import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { SettingsBlobStores } from '../src/adapters/blobs/blob-stores.ts';
import type { Store } from '../src/adapters/store/store.ts';
import { AuditService } from '../src/core/audit/audit.service.ts';
import type { BlobStores } from '../src/core/recording/blob-store.ts';
import { verifyRecording } from '../src/core/recording/integrity.ts';
import { RetentionService } from '../src/core/recording/retention.ts';
import { DEFAULT_SESSION_RECORDING_SETTINGS, type SessionRecordingSettings } from '../src/protocol/settings.ts';
import { chunkKey, DAY, fileKey, sampleChunks, seedRecording, wrapBlobStores } from './helpers/recordings.ts';
import { storeFixtures, tempDir } from './helpers/stores.ts';

const T0 = Date.UTC(2025, 0, 1);

for (const fx of storeFixtures()) {
  describe(`retention: ${fx.name}`, () => {
    let store: Store;
    let blobs: BlobStores;
    let share: string;
    let archive: string;
    let t: number;
    const clock = { now: () => t };
    const dirs = tempDir('vigil-retention-');

    before(async () => {
      store = await fx.open();
    });
    after(async () => {
      await store?.close();
      await fx.cleanup();
      dirs.remove();
    });
    beforeEach(async () => {
      // Every test starts from an empty recording state and fresh directories.
      await store.db.deleteFrom('sessions').execute();
      await store.db.deleteFrom('blobs').execute();
      await store.db.deleteFrom('leases').execute();
      await store.db.deleteFrom('audit_log').execute();
      const n = fs.readdirSync(dirs.dir).length;
      share = path.join(dirs.dir, `share-${n}`);
      archive = path.join(dirs.dir, `archive-${n}`);
      fs.mkdirSync(share);
      fs.mkdirSync(archive);
      blobs = new SettingsBlobStores(store, async () => ({ storagePath: share, archivePath: archive }));
      t = T0;
    });

    const settingsOf = (over: Partial<SessionRecordingSettings>) => ({
      get: async (): Promise<SessionRecordingSettings> => ({ ...DEFAULT_SESSION_RECORDING_SETTINGS, archivePath: archive, storagePath: share, ...over }),
    });
    const lifecycle = { archiveEnabled: true, archiveAfterDays: 30, deleteEnabled: true, deleteAfterDays: 90 };
    const service = (over: Partial<SessionRecordingSettings> = lifecycle, opts: { blobs?: BlobStores; nodeId?: string; leaseTtlMs?: number } = {}) =>
      new RetentionService({ store, blobs: opts.blobs ?? blobs, settings: settingsOf(over), clock, audit: new AuditService(store, clock), nodeId: opts.nodeId ?? 'node-a', leaseTtlMs: opts.leaseTtlMs });

    const session = (id: string) => store.db.selectFrom('sessions').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    const locations = async (id: string) => (await store.db.selectFrom('recording_chunks').select('location').where('session_id', '=', id).execute()).map((r) => r.location);
    const inDb = async (key: string) => !!(await store.db.selectFrom('blobs').select('key').where('key', '=', key).executeTakeFirst());
    const file = (root: string, key: string) => path.join(root, ...key.split('/'));
    const audits = async (action: string) => store.db.selectFrom('audit_log').selectAll().where('action', '=', action).execute();

    it('does nothing before the thresholds', async () => {
      await seedRecording(store, blobs, { id: 's-young', endedAt: T0, chunks: sampleChunks('s-young', 3) });
      t = T0 + 29 * DAY;
      const r = await service().runOnce();
      assert.deepEqual(r, { archived: [], deleted: [], errors: [] });
      assert.equal((await session('s-young')).storage, 'database');
      assert.deepEqual(await locations('s-young'), ['database', 'database', 'database']);
    });

    it('does nothing when moving and deleting are disabled, however old the recording', async () => {
      await seedRecording(store, blobs, { id: 's-old', endedAt: T0, chunks: sampleChunks('s-old', 2) });
      t = T0 + 5000 * DAY;
      const r = await service({ archiveEnabled: false, deleteEnabled: false }).runOnce();
      assert.deepEqual(r, { archived: [], deleted: [], errors: [] });
      assert.equal((await session('s-old')).storage, 'database');
    });

    it('archives after N days: database and share media move into the archive directory', async () => {
      const db = await seedRecording(store, blobs, { id: 's-db', endedAt: T0, chunks: sampleChunks('s-db', 4), files: [{ format: 'webm', data: Buffer.from('webm bytes') }] });
      const sh = await seedRecording(store, blobs, { id: 's-share', endedAt: T0, location: 'share', chunks: sampleChunks('s-share', 3) });
      assert.ok(fs.existsSync(file(share, sh.keys[0]!)), 'seeded on the share');
      t = T0 + 31 * DAY;
      const r = await service().runOnce();
      assert.deepEqual(r.errors, []);
      assert.deepEqual([...r.archived].sort(), ['s-db', 's-share']);
      assert.deepEqual(r.deleted, []);

      for (const [id, keys] of [['s-db', db.keys], ['s-share', sh.keys]] as const) {
        const s = await session(id);
        assert.equal(s.storage, 'archive');
        assert.equal(Number(s.archived_at), t);
        assert.ok((await locations(id)).every((l) => l === 'archive'));
        for (const k of keys) {
          assert.ok(fs.existsSync(file(archive, k)), `${k} is in the archive`);
          assert.equal(await inDb(k), false, `${k} left the database`);
          assert.equal(fs.existsSync(file(share, k)), false, `${k} left the share`);
        }
        const v = await verifyRecording(store, blobs, id);
        assert.equal(v.valid, true, JSON.stringify(v.problems));
      }
      assert.ok(fs.existsSync(file(archive, fileKey('s-db', 'webm'))));
      assert.equal(await inDb(fileKey('s-db', 'webm')), false);
      const f = await store.db.selectFrom('recording_files').select('location').where('session_id', '=', 's-db').executeTakeFirstOrThrow();
      assert.equal(f.location, 'archive');

      const a = await audits('recording.archive');
      assert.equal(a.length, 2);
      assert.ok(a.every((e) => e.actor_name === 'system' && e.actor_id === null && e.target_type === 'session'));

      // A second run finds nothing left to do.
      assert.deepEqual(await service().runOnce(), { archived: [], deleted: [], errors: [] });
    });

    it('deletes after M days: media removed, session marked deleted, session and events kept', async () => {
      const db = await seedRecording(store, blobs, { id: 's-del', endedAt: T0, chunks: sampleChunks('s-del', 3), files: [{ format: 'mp4', data: Buffer.from('mp4') }], events: 4 });
      const sh = await seedRecording(store, blobs, { id: 's-del-share', endedAt: T0, location: 'share', chunks: sampleChunks('s-del-share', 2) });
      t = T0 + 31 * DAY;
      assert.deepEqual((await service().runOnce()).archived.sort(), ['s-del', 's-del-share']);
      t = T0 + 91 * DAY;
      const r = await service().runOnce();
      assert.deepEqual(r.errors, []);
      assert.deepEqual([...r.deleted].sort(), ['s-del', 's-del-share']);
      for (const [id, keys] of [['s-del', db.keys], ['s-del-share', sh.keys]] as const) {
        const s = await session(id);
        assert.equal(s.storage, 'deleted');
        assert.equal(Number(s.deleted_at), t);
        assert.equal(s.username, 'alice', 'session metadata kept');
        for (const k of keys) {
          assert.equal(fs.existsSync(file(archive, k)), false);
          assert.equal(fs.existsSync(file(share, k)), false);
          assert.equal(await inDb(k), false);
        }
        const v = await verifyRecording(store, blobs, id);
        assert.equal(v.deleted, true);
        assert.equal(v.valid, false);
        assert.equal(v.chunks, keys.length, 'chunk digests are kept');
      }
      assert.equal(fs.existsSync(file(archive, fileKey('s-del', 'mp4'))), false);
      assert.equal((await store.db.selectFrom('recording_files').selectAll().where('session_id', '=', 's-del').execute()).length, 0);
      assert.equal((await store.db.selectFrom('activity_events').selectAll().where('session_id', '=', 's-del').execute()).length, 4, 'events kept');
      assert.equal((await audits('recording.archive')).length, 2, 'earlier audit kept');
      const d = await audits('recording.delete');
      assert.equal(d.length, 2);
      assert.ok(d.every((e) => e.actor_name === 'system'));
      assert.deepEqual(await service().runOnce(), { archived: [], deleted: [], errors: [] });
    });

    it('deletes straight from the database when deleting is due before moving ever ran', async () => {
      const db = await seedRecording(store, blobs, { id: 's-direct', endedAt: T0, chunks: sampleChunks('s-direct', 2) });
      t = T0 + 200 * DAY;
      const r = await service().runOnce();
      assert.deepEqual(r, { archived: [], deleted: ['s-direct'], errors: [] });
      for (const k of db.keys) assert.equal(await inDb(k), false);
      assert.equal(fs.readdirSync(archive).length, 0, 'nothing was archived first');
    });

    it('never touches active sessions', async () => {
      const a = await seedRecording(store, blobs, { id: 's-active', status: 'active', startedAt: T0, endedAt: null, chunks: sampleChunks('s-active', 3) });
      t = T0 + 1000 * DAY;
      const r = await service().runOnce();
      assert.deepEqual(r, { archived: [], deleted: [], errors: [] });
      const s = await session('s-active');
      assert.equal(s.storage, 'database');
      assert.equal(s.deleted_at, null);
      for (const k of a.keys) assert.ok(await inDb(k));
      assert.equal((await verifyRecording(store, blobs, 's-active')).valid, true);
    });

    it('recovers from a crash between updating the rows and deleting the sources', async () => {
      const db = await seedRecording(store, blobs, { id: 's-crash', endedAt: T0, chunks: sampleChunks('s-crash', 4) });
      const crashing = wrapBlobStores(blobs, (location) =>
        location === 'database'
          ? {
              delete: async () => {
                throw new Error('simulated crash');
              },
            }
          : {},
      );
      t = T0 + 31 * DAY;
      const r1 = await service(lifecycle, { blobs: crashing }).runOnce();
      assert.deepEqual(r1.archived, []);
      assert.equal(r1.errors.length, 1);
      assert.equal(r1.errors[0]!.sessionId, 's-crash');
      // The crash left both copies; the rows already point at the verified archive copy.
      assert.equal((await session('s-crash')).storage, 'database');
      assert.ok((await locations('s-crash')).every((l) => l === 'archive'));
      for (const k of db.keys) {
        assert.ok(await inDb(k));
        assert.ok(fs.existsSync(file(archive, k)));
      }
      assert.equal((await verifyRecording(store, blobs, 's-crash')).valid, true, 'nothing lost mid-crash');

      const r2 = await service().runOnce();
      assert.deepEqual(r2, { archived: ['s-crash'], deleted: [], errors: [] });
      assert.equal((await session('s-crash')).storage, 'archive');
      for (const k of db.keys) {
        assert.equal(await inDb(k), false, 'the rerun removed the source');
        assert.ok(fs.existsSync(file(archive, k)));
      }
      assert.equal((await verifyRecording(store, blobs, 's-crash')).valid, true);
    });

    it('recovers from a crash between copying and updating the rows (and from a torn copy)', async () => {
      const sh = await seedRecording(store, blobs, { id: 's-copied', endedAt: T0, location: 'share', chunks: sampleChunks('s-copied', 3) });
      // Chunks 0 and 1 were copied before the crash, chunk 1's copy is garbage; chunk 2 never was.
      fs.mkdirSync(path.dirname(file(archive, sh.keys[0]!)), { recursive: true });
      fs.copyFileSync(file(share, sh.keys[0]!), file(archive, sh.keys[0]!));
      fs.writeFileSync(file(archive, sh.keys[1]!), 'torn');
      t = T0 + 31 * DAY;
      const r = await service().runOnce();
      assert.deepEqual(r, { archived: ['s-copied'], deleted: [], errors: [] });
      for (const k of sh.keys) {
        assert.equal(fs.existsSync(file(share, k)), false);
        assert.ok(fs.existsSync(file(archive, k)));
      }
      const v = await verifyRecording(store, blobs, 's-copied');
      assert.equal(v.valid, true, JSON.stringify(v.problems));
    });

    it('aborts a session’s move on a digest mismatch at the destination and leaves the source intact', async () => {
      const bad = await seedRecording(store, blobs, { id: 's-bad', endedAt: T0, chunks: sampleChunks('s-bad', 3) });
      const good = await seedRecording(store, blobs, { id: 's-good', endedAt: T0, chunks: sampleChunks('s-good', 2) });
      // The archive silently corrupts what it stores for s-bad's chunk 1.
      const corrupting = wrapBlobStores(blobs, (location, s) =>
        location === 'archive'
          ? {
              put: (k, d) => {
                if (k !== chunkKey('s-bad', 1)) return s.put(k, d);
                const copy = Buffer.from(d);
                copy[0] = copy[0]! ^ 0xff;
                return s.put(k, copy);
              },
            }
          : {},
      );
      t = T0 + 31 * DAY;
      const r = await service(lifecycle, { blobs: corrupting }).runOnce();
      assert.deepEqual(r.archived, ['s-good'], 'other sessions still move');
      assert.equal(r.errors.length, 1);
      assert.equal(r.errors[0]!.sessionId, 's-bad');
      assert.match(r.errors[0]!.message, /chunk 1: .*does not match the recorded SHA-256/);
      assert.equal((await session('s-bad')).storage, 'database');
      assert.deepEqual(await locations('s-bad'), ['database', 'database', 'database']);
      for (const k of bad.keys) assert.ok(await inDb(k), 'source intact');
      assert.equal(fs.existsSync(file(archive, chunkKey('s-bad', 1))), false, 'the bad copy is not left behind');
      assert.equal((await verifyRecording(store, blobs, 's-bad')).valid, true);
      for (const k of good.keys) assert.equal(await inDb(k), false);
      assert.equal((await audits('recording.archive')).length, 1);

      // With a healthy archive the next run finishes it.
      assert.deepEqual(await service().runOnce(), { archived: ['s-bad'], deleted: [], errors: [] });
    });

    it('runs on one node at a time: racing instances, a held lease, an expired lease', async () => {
      await seedRecording(store, blobs, { id: 's-race', endedAt: T0, chunks: sampleChunks('s-race', 3) });
      await seedRecording(store, blobs, { id: 's-race-2', endedAt: T0, chunks: sampleChunks('s-race-2', 1) });
      t = T0 + 31 * DAY;
      // Two instances started together: whether or not their runs overlap, each session moves exactly once.
      const raced = await Promise.all([service(lifecycle, { nodeId: 'node-a' }).runOnce(), service(lifecycle, { nodeId: 'node-b' }).runOnce()]);
      assert.deepEqual(raced.flatMap((r) => r.archived).sort(), ['s-race', 's-race-2'], JSON.stringify(raced));
      for (const r of raced) if (r.skipped) assert.match(r.skipped, /^lease held by node-[ab]$/);
      assert.equal((await audits('recording.archive')).length, 2, 'each session archived exactly once');
      assert.equal((await store.db.selectFrom('leases').selectAll().execute()).length, 0, 'the lease is released after the run');

      // A run held mid-session (its first chunk read waits) keeps the lease: a second node skips meanwhile.
      await seedRecording(store, blobs, { id: 's-held', endedAt: T0, chunks: sampleChunks('s-held', 2) });
      let reading!: () => void;
      const inRun = new Promise<void>((r) => (reading = r));
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      const holding = wrapBlobStores(blobs, (location, s) => (location === 'database' ? { get: async (k) => (reading(), await gate, s.get(k)) } : {}));
      const first = service(lifecycle, { nodeId: 'node-a', blobs: holding }).runOnce();
      await inRun;
      const second = await service(lifecycle, { nodeId: 'node-b' }).runOnce();
      assert.deepEqual(second, { archived: [], deleted: [], errors: [], skipped: 'lease held by node-a' });
      release();
      assert.deepEqual(await first, { archived: ['s-held'], deleted: [], errors: [] });
      assert.equal((await store.db.selectFrom('leases').selectAll().execute()).length, 0, 'the lease is released after the run');

      // A live lease held elsewhere blocks; once it has expired, the run takes it over.
      await store.db.insertInto('leases').values({ name: 'retention', holder: 'node-z', expires_at: t + 60_000 }).execute();
      assert.deepEqual(await service().runOnce(), { archived: [], deleted: [], errors: [], skipped: 'lease held by node-z' });
      t += 60_001;
      const r = await service().runOnce();
      assert.equal(r.skipped, undefined);
    });

    it('stops without losing anything when its lease is taken over mid-session', async () => {
      const db = await seedRecording(store, blobs, { id: 's-stall', endedAt: T0, chunks: sampleChunks('s-stall', 3) });
      await seedRecording(store, blobs, { id: 's-stall-2', endedAt: T0, chunks: sampleChunks('s-stall-2', 1) });
      // Reading chunk 1 stalls past the TTL, and node-z takes the expired lease meanwhile.
      const stalling = wrapBlobStores(blobs, (location, s) =>
        location === 'database'
          ? {
              get: async (k) => {
                if (k === chunkKey('s-stall', 1)) {
                  t += 5_000;
                  await store.db.updateTable('leases').set({ holder: 'node-z', expires_at: t + 60_000 }).where('name', '=', 'retention').execute();
                }
                return s.get(k);
              },
            }
          : {},
      );
      t = T0 + 31 * DAY;
      const r = await service(lifecycle, { blobs: stalling, leaseTtlMs: 3_000 }).runOnce();
      assert.equal(r.skipped, 'lease lost during the run');
      assert.deepEqual(r.archived, []);
      assert.match(r.errors[0]?.message ?? '', /took over the retention lease/);
      assert.equal((await session('s-stall')).storage, 'database');
      assert.equal((await session('s-stall-2')).storage, 'database', 'no further session was touched');
      for (const k of db.keys) assert.ok(await inDb(k));
      assert.equal((await store.db.selectFrom('leases').select('holder').executeTakeFirstOrThrow()).holder, 'node-z', 'the new holder keeps its lease');
    });

    it('start() runs periodically and stop() waits for the run', async () => {
      await seedRecording(store, blobs, { id: 's-timer', endedAt: T0, chunks: sampleChunks('s-timer', 1) });
      t = T0 + 31 * DAY;
      const worker = service().start(10);
      for (let i = 0; i < 200 && (await session('s-timer')).storage !== 'archive'; i++) await new Promise((r) => setTimeout(r, 10));
      await worker.stop();
      assert.equal((await session('s-timer')).storage, 'archive');
    });
  });
}
