import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { SettingsBlobStores } from '../src/adapters/blobs/blob-stores.ts';
import { openSqliteStore } from '../src/adapters/store/sqlite/sqlite-store.ts';
import type { Store } from '../src/adapters/store/store.ts';
import { runAdminCommand } from '../src/cli/admin.command.ts';
import { NotFoundError } from '../src/core/errors.ts';
import type { BlobStores } from '../src/core/recording/blob-store.ts';
import { chainOver, chunkDigest } from '../src/core/recording/hash-chain.ts';
import { verifyRecording } from '../src/core/recording/integrity.ts';
import { DEFAULT_SESSION_RECORDING_SETTINGS } from '../src/protocol/settings.ts';
import { chunkKey, DAY, fileKey, sampleChunks, seedRecording } from './helpers/recordings.ts';
import { storeFixtures, tempDir } from './helpers/stores.ts';

const T0 = Date.UTC(2025, 0, 1);

for (const fx of storeFixtures()) {
  describe(`verifyRecording: ${fx.name}`, () => {
    let store: Store;
    let blobs: BlobStores;
    let n = 0;
    let id: string;
    let chunks: Buffer[];
    const dirs = tempDir('vigil-integrity-');
    const share = path.join(dirs.dir, 'share');

    before(async () => {
      store = await fx.open();
      blobs = new SettingsBlobStores(store, async () => ({ storagePath: share, archivePath: null }));
    });
    after(async () => {
      await store?.close();
      await fx.cleanup();
      dirs.remove();
    });
    beforeEach(async () => {
      id = `s-int-${++n}`;
      chunks = sampleChunks(id, 5);
      await seedRecording(store, blobs, { id, endedAt: T0, chunks, files: [{ format: 'webm', data: Buffer.from('finalised webm') }] });
    });

    const setBlob = (key: string, data: Buffer) => store.db.updateTable('blobs').set({ data }).where('key', '=', key).execute();
    const kinds = (r: { problems: Array<{ seq: number; kind: string }> }) => r.problems.map((p) => `${p.seq}:${p.kind}`);

    it('reports an intact recording as valid with its head', async () => {
      const r = await verifyRecording(store, blobs, id);
      assert.deepEqual(r.problems, []);
      assert.equal(r.valid, true);
      assert.equal(r.chunks, 5);
      assert.equal(r.head, chainOver(id, chunks.map((c) => chunkDigest(c))));
      assert.deepEqual(r.files, [{ format: 'webm', valid: true, message: null }]);
    });

    it('detects a flipped byte with its sequence number', async () => {
      const flipped = Buffer.from(chunks[2]!);
      flipped[5] = flipped[5]! ^ 0x01;
      await setBlob(chunkKey(id, 2), flipped);
      const r = await verifyRecording(store, blobs, id);
      assert.equal(r.valid, false);
      assert.deepEqual(kinds(r), ['2:modified']);
      assert.match(r.problems[0]!.message, /chunk 2/);
    });

    it('detects a missing blob', async () => {
      await store.db.deleteFrom('blobs').where('key', '=', chunkKey(id, 3)).execute();
      const r = await verifyRecording(store, blobs, id);
      assert.equal(r.valid, false);
      assert.deepEqual(kinds(r), ['3:missing']);
    });

    it('detects a swapped pair of chunks as reordered', async () => {
      await setBlob(chunkKey(id, 1), chunks[2]!);
      await setBlob(chunkKey(id, 2), chunks[1]!);
      const r = await verifyRecording(store, blobs, id);
      assert.equal(r.valid, false);
      assert.deepEqual(kinds(r), ['1:reordered', '2:reordered']);
      assert.match(r.problems[0]!.message, /bytes of chunk 2/);
    });

    it('detects rows swapped in the database (digests and links moved along) through the chain', async () => {
      const rows = await store.db.selectFrom('recording_chunks').selectAll().where('session_id', '=', id).where('seq', 'in', [1, 2]).orderBy('seq').execute();
      await store.db.deleteFrom('recording_chunks').where('session_id', '=', id).where('seq', 'in', [1, 2]).execute();
      await store.db.insertInto('recording_chunks').values([{ ...rows[0]!, seq: 2 }, { ...rows[1]!, seq: 1 }]).execute();
      const r = await verifyRecording(store, blobs, id);
      assert.equal(r.valid, false);
      assert.ok(kinds(r).includes('1:reordered') && kinds(r).includes('2:reordered'), JSON.stringify(r.problems));
    });

    it('reports every chunk of a moved block, by where its link places it', async () => {
      // Rows rotated: chunk 4 moved in front of chunks 1–3.
      const rows = await store.db.selectFrom('recording_chunks').selectAll().where('session_id', '=', id).orderBy('seq').execute();
      await store.db.deleteFrom('recording_chunks').where('session_id', '=', id).execute();
      const order = [0, 4, 1, 2, 3];
      await store.db.insertInto('recording_chunks').values(order.map((from, seq) => ({ ...rows[from]!, seq }))).execute();
      const r = await verifyRecording(store, blobs, id);
      assert.deepEqual(kinds(r), ['1:reordered', '2:reordered', '3:reordered', '4:reordered', '4:head-mismatch']);
      assert.match(r.problems[0]!.message, /places it at seq 4/);
      assert.match(r.problems[1]!.message, /places it at seq 1/);
    });

    it('detects bytes rewritten together with their recorded digest through the chain', async () => {
      const forged = Buffer.from('something else entirely');
      await setBlob(chunkKey(id, 3), forged);
      await store.db.updateTable('recording_chunks').set({ sha256: chunkDigest(forged), size: forged.length }).where('session_id', '=', id).where('seq', '=', 3).execute();
      const r = await verifyRecording(store, blobs, id);
      assert.equal(r.valid, false);
      assert.deepEqual(kinds(r), ['3:modified']);
    });

    it('detects a gap in the sequence', async () => {
      await store.db.deleteFrom('recording_chunks').where('session_id', '=', id).where('seq', '=', 2).execute();
      const r = await verifyRecording(store, blobs, id);
      assert.equal(r.valid, false);
      const gap = r.problems.find((p) => p.kind === 'gap');
      assert.equal(gap?.seq, 2);
      assert.match(gap!.message, /chunk 2 is missing/);
    });

    it('detects a dropped tail by the session head', async () => {
      await store.db.deleteFrom('recording_chunks').where('session_id', '=', id).where('seq', '=', 4).execute();
      await store.db.updateTable('sessions').set({ chunk_count: 4 }).where('id', '=', id).execute();
      const r = await verifyRecording(store, blobs, id);
      assert.deepEqual(kinds(r), ['3:head-mismatch']);
    });

    it('checks finalised files and chunks on the share', async () => {
      await store.db.deleteFrom('blobs').where('key', '=', fileKey(id, 'webm')).execute();
      const onShare = `${id}-share`;
      const shareChunks = sampleChunks(onShare, 3);
      await seedRecording(store, blobs, { id: onShare, endedAt: T0, location: 'share', chunks: shareChunks });
      fs.writeFileSync(path.join(share, ...chunkKey(onShare, 0).split('/')), 'tampered on the share');
      const r1 = await verifyRecording(store, blobs, id);
      assert.equal(r1.valid, false);
      assert.deepEqual(r1.problems, []);
      assert.equal(r1.files[0]!.valid, false);
      const r2 = await verifyRecording(store, blobs, onShare);
      assert.deepEqual(kinds(r2), ['0:modified']);
    });

    it('says a deleted recording has no media, and rejects an unknown session', async () => {
      await store.db.updateTable('sessions').set({ storage: 'deleted', deleted_at: T0 + DAY }).where('id', '=', id).execute();
      const r = await verifyRecording(store, blobs, id);
      assert.equal(r.deleted, true);
      assert.equal(r.valid, false);
      await assert.rejects(verifyRecording(store, blobs, 'no-such-session'), NotFoundError);
    });

    it('accepts a session without media', async () => {
      await seedRecording(store, blobs, { id: `${id}-none`, endedAt: T0, chunks: [] });
      const r = await verifyRecording(store, blobs, `${id}-none`);
      assert.deepEqual(r, { valid: true, chunks: 0, head: null, problems: [], deleted: false, files: [] });
    });
  });
}

describe('vigil admin verify / retention (CLI)', () => {
  const tmp = tempDir('vigil-admin-');
  const saved = { dataDir: process.env.VIGIL_DATA_DIR, dbUrl: process.env.VIGIL_DATABASE_URL };
  const id = 's-cli';
  let chunks: Buffer[];

  const run = async (args: string[]) => {
    let out = '';
    let err = '';
    const code = await runAdminCommand(args, { out: { write: (s: string) => (out += s) }, err: { write: (s: string) => (err += s) } });
    return { code, out, err };
  };
  const withDb = async <T>(fn: (store: Store) => Promise<T>): Promise<T> => {
    const store = await openSqliteStore(path.join(tmp.dir, 'vigil.sqlite'));
    try {
      return await fn(store);
    } finally {
      await store.close();
    }
  };

  before(async () => {
    process.env.VIGIL_DATA_DIR = tmp.dir;
    delete process.env.VIGIL_DATABASE_URL;
    chunks = sampleChunks(id, 3);
    await withDb(async (store) => {
      await seedRecording(store, new SettingsBlobStores(store, async () => ({ storagePath: null, archivePath: null })), { id, endedAt: Date.now() - 400 * DAY, chunks });
    });
  });
  after(() => {
    if (saved.dataDir === undefined) delete process.env.VIGIL_DATA_DIR;
    else process.env.VIGIL_DATA_DIR = saved.dataDir;
    if (saved.dbUrl !== undefined) process.env.VIGIL_DATABASE_URL = saved.dbUrl;
    tmp.remove();
  });

  it('exits 0 and prints the head for a valid recording', async () => {
    const r = await run(['verify', id]);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out, `valid: 3 chunks, head ${chainOver(id, chunks.map((c) => chunkDigest(c)))}\n`);
  });

  it('exits 1 and names the sequence number of a flipped byte', async () => {
    const flipped = Buffer.from(chunks[1]!);
    flipped[0] = flipped[0]! ^ 0x80;
    await withDb((store) => store.db.updateTable('blobs').set({ data: flipped }).where('key', '=', chunkKey(id, 1)).execute());
    const r = await run(['verify', id]);
    assert.equal(r.code, 1);
    assert.match(r.out, /^seq 1: modified: /m);
    assert.match(r.out, /^invalid: 1 problem in 3 chunks/m);
    await withDb((store) => store.db.updateTable('blobs').set({ data: chunks[1]! }).where('key', '=', chunkKey(id, 1)).execute());
  });

  it('exits 2 for an unknown session or bad usage', async () => {
    const r = await run(['verify', 'nope']);
    assert.equal(r.code, 2);
    assert.match(r.err, /session nope not found/);
    assert.equal((await run(['verify'])).code, 2);
    assert.equal((await run(['retention'])).code, 2);
    assert.equal((await run(['frobnicate'])).code, 2);
  });

  it('retention --now archives per the saved settings and prints what it did', async () => {
    const archive = path.join(tmp.dir, 'archive');
    const settings = { ...DEFAULT_SESSION_RECORDING_SETTINGS, archiveEnabled: true, archiveAfterDays: 30, archivePath: archive };
    await withDb((store) => store.db.insertInto('settings').values({ key: 'session-recording', value: JSON.stringify(settings), updated_at: Date.now(), updated_by: null }).execute());
    const r = await run(['retention', '--now']);
    assert.equal(r.code, 0, r.out + r.err);
    assert.equal(r.out, `archived ${id}\nretention: 1 archived, 0 deleted, 0 errors\n`);
    assert.ok(fs.existsSync(path.join(archive, ...chunkKey(id, 0).split('/'))));
    const v = await run(['verify', id]);
    assert.equal(v.code, 0, v.out);
  });
});
