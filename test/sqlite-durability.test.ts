import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { sql } from 'kysely';
import { SettingsBlobStores } from '../src/adapters/blobs/blob-stores.ts';
import { DatabaseBlobStore } from '../src/adapters/blobs/database-blob-store.ts';
import { openSqliteStore, type SqliteStore } from '../src/adapters/store/sqlite/sqlite-store.ts';
import type { WalFs } from '../src/adapters/store/sqlite/wal-sync.ts';
import { systemClock } from '../src/core/clock.ts';
import { IngestService } from '../src/core/recording/ingest.service.ts';
import { RecordingWriter } from '../src/ssh-proxy/recording/recording-writer.ts';
import { seedRecording } from './helpers/recordings.ts';
import { tempDir } from './helpers/stores.ts';

// The SQLite store commits with synchronous=NORMAL and flushes the WAL on the thread pool: every
// query's result (the point where an upload is acknowledged) must wait for that flush.

/** node:fs, with WAL flushes that can be held back (and counted) or made to fail. */
function controlledFs() {
  const c = {
    hold: false,
    fail: undefined as NodeJS.ErrnoException | undefined,
    /** fds given to fdatasync, one per flush started. */
    flushes: [] as number[],
    held: [] as Array<() => void>,
    release(): void {
      c.hold = false;
      for (const go of c.held.splice(0)) go();
    },
    fs: {
      fdatasync(fd, cb) {
        c.flushes.push(fd);
        const go = () => (c.fail ? setImmediate(() => cb(c.fail!)) : fs.fdatasync(fd, cb));
        if (c.hold) c.held.push(go);
        else go();
      },
      fsync: (fd, cb) => fs.fsync(fd, cb),
    } satisfies WalFs,
  };
  return c;
}

/** Whether `p` has settled after the event loop ran a while (timers, I/O callbacks). */
async function settled(p: Promise<unknown>, ms = 30): Promise<boolean> {
  let done = false;
  p.then(() => (done = true), () => (done = true));
  await new Promise((r) => setTimeout(r, ms));
  return done;
}

const tmp = tempDir();
after(() => tmp.remove());
let n = 0;
const open = async (io = controlledFs()) => {
  const file = path.join(tmp.dir, `d${n++}`, 'vigil.sqlite');
  return { io, file, store: await openSqliteStore(file, { walFs: io.fs }) };
};
const put = (store: SqliteStore, key: string) => new DatabaseBlobStore(store).put(key, Buffer.from(key));

describe('SQLite durability (WAL flushed off the event loop)', () => {
  it('runs WAL with synchronous=NORMAL', async () => {
    const { store } = await open();
    const mode = await sql<{ journal_mode: string }>`PRAGMA journal_mode`.execute(store.db);
    const sync = await sql<{ synchronous: number }>`PRAGMA synchronous`.execute(store.db);
    assert.deepEqual([mode.rows[0]!.journal_mode, sync.rows[0]!.synchronous], ['wal', 1]);
    await store.close();
  });

  it('answers a write only after the -wal file it was written to has been flushed', async () => {
    const { io, file, store } = await open();
    io.hold = true;
    const before = io.flushes.length;
    const write = put(store, 'a');
    assert.equal(await settled(write), false, 'not acknowledged while the flush is held');
    assert.equal(io.flushes.length, before + 1, 'the commit started one flush');
    assert.equal(fs.fstatSync(io.flushes.at(-1)!).ino, fs.statSync(`${file}-wal`).ino, 'the flushed fd is the WAL file');
    // A read issued meanwhile sees the row only once it is durable, so it waits too.
    const read = new DatabaseBlobStore(store).get('a');
    assert.equal(await settled(read), false, 'a read waits for the pending flush');
    io.release();
    await write;
    assert.deepEqual(await read, Buffer.from('a'));
    // With nothing pending, a read does not wait for anything (the flush is still held).
    io.hold = true;
    assert.equal(await settled(new DatabaseBlobStore(store).exists('a'), 5), true);
    io.release();
    await store.close();
  });

  it('acknowledges an uploaded chunk (IngestService.chunk) and the proxy group commit only after the flush', async () => {
    const { io, store } = await open();
    const ingest = new IngestService(store, new SettingsBlobStores(store, async () => ({ storagePath: null, archivePath: null })), systemClock);
    await seedRecording(store, { at: async () => new DatabaseBlobStore(store) }, { id: 's1', status: 'active', endedAt: null, chunks: [] });
    await seedRecording(store, { at: async () => new DatabaseBlobStore(store) }, { id: 's2', status: 'active', endedAt: null, chunks: [] });
    io.hold = true;
    const upload = ingest.chunk('s1', 0, Buffer.from('chunk 0\n'));
    assert.equal(await settled(upload), false, 'the upload is not acknowledged before its commit is flushed');
    io.release();
    assert.equal((await upload).next, 1);

    let batches = 0;
    const writer = new RecordingWriter({ batch: (items) => (batches += 1, ingest.batch(items)) });
    io.hold = true;
    const flushesBefore = io.flushes.length;
    const writes = Promise.all([writer.chunk('s2', 0, Buffer.from('c0\n')), writer.events('s2', [{ seq: 0, at: 1, type: 'command', text: 'id' }]), writer.heartbeat('s2')]);
    assert.equal(await settled(writes), false, 'the recorder\'s writes settle only after the flush');
    assert.equal(batches, 1, 'one group commit');
    assert.equal(io.flushes.length, flushesBefore + 1, 'one commit, one flush');
    io.release();
    await writes;
    const row = await store.db.selectFrom('sessions').select('chunk_count').where('id', '=', 's2').executeTakeFirstOrThrow();
    assert.equal(Number(row.chunk_count), 1);
    await store.close();
  });

  it('covers the commits made during a flush with one more flush', async () => {
    const { io, store } = await open();
    const before = io.flushes.length;
    io.hold = true;
    const first = put(store, 'k0');
    await new Promise((r) => setImmediate(r));
    const rest = Promise.all(Array.from({ length: 20 }, (_, i) => put(store, `k${i + 1}`)));
    assert.equal(await settled(rest), false);
    assert.equal(io.flushes.length, before + 1, 'no second flush while one runs');
    io.release();
    await Promise.all([first, rest]);
    assert.equal(io.flushes.length, before + 2, 'the 20 commits made meanwhile share one flush');
    assert.equal(store.wal!.idle, true);
    await store.close();
  });

  it('fails the write and every later query when a flush fails (the recorder then fails closed)', async () => {
    const { io, store } = await open();
    io.fail = Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' });
    await assert.rejects(put(store, 'lost'), /write-ahead log could not be flushed to the disk \(EIO\)/);
    io.fail = undefined;
    await assert.rejects(new DatabaseBlobStore(store).exists('lost'), /could not be flushed/, 'the store stays failed');
    const writer = new RecordingWriter({ batch: async () => [await put(store, 'later')] });
    await assert.rejects(writer.chunk('s', 0, Buffer.from('x')), /could not be flushed/);
    await store.close();
  });

  it('keeps flushing the same -wal file across checkpoints, and waits for the last flush at close', { timeout: 10_000 }, async () => {
    const { io, file, store } = await open();
    const inode = store.wal!.inode();
    for (let i = 0; i < 50; i++) await put(store, `row${i}`);
    assert.ok(fs.statSync(`${file}-wal`).size > 0);
    // TRUNCATE: everything copied into the database, the WAL cut to zero bytes (in place).
    await sql`PRAGMA wal_checkpoint(TRUNCATE)`.execute(store.db);
    assert.equal(fs.statSync(`${file}-wal`).size, 0);
    assert.equal(fs.statSync(`${file}-wal`).ino, inode);
    io.hold = true;
    const write = put(store, 'after-checkpoint');
    assert.equal(await settled(write), false);
    assert.ok(fs.statSync(`${file}-wal`).size > 0, 'the new commit went to the same file');
    assert.equal(fs.fstatSync(io.flushes.at(-1)!).ino, fs.statSync(`${file}-wal`).ino);
    const closing = store.close();
    assert.equal(await settled(closing), false, 'close waits for the flush');
    io.release();
    await Promise.all([write, closing]);
    // Reopened: a new -wal file (SQLite removed the old one at close), and the rows are there.
    const again = await openSqliteStore(file);
    assert.notEqual(again.wal!.inode(), undefined);
    assert.equal(again.wal!.inode(), fs.statSync(`${file}-wal`).ino);
    assert.equal(await new DatabaseBlobStore(again).exists('after-checkpoint'), true);
    await again.close();
    // A commit that races the close cannot be confirmed: it is refused, not left waiting forever.
    store.wal!.committed();
    await assert.rejects(store.wal!.durable(), /store is closed/);
  });
});
