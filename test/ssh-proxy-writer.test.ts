import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { DatabaseBlobStore } from '../src/adapters/blobs/database-blob-store.ts';
import { chainOver, chunkDigest } from '../src/core/recording/hash-chain.ts';
import { chunkKey } from '../src/core/recording/ingest.service.ts';
import { RecordingWriter } from '../src/ssh-proxy/recording/recording-writer.ts';
import { STACKS, type TestServer } from './helpers/server.ts';

// The proxy's group commit: many sessions' chunks, events and heartbeats in one transaction
// (IngestService.batch through RecordingWriter) must store exactly what chunk()/events() store.
for (const stack of STACKS) {
  describe(`recording group commit on ${stack.name}`, () => {
    let t: TestServer;
    before(async () => {
      t = await stack.start();
    });
    after(async () => {
      await t?.stop();
    });

    const open = (keystrokes: boolean, video = true) =>
      t.server.services.sessions.open({ kind: 'ssh', component: 'ssh-proxy', user: { id: null, name: 'carol' }, secret: { id: 'x', name: 'x', recording: { video, keystrokes } }, target: { host: 'h', user: 'root' }, clientAddress: null, nodeId: null, media: 'cast' });
    const db = () => t.server.store.db;
    /** The session's search text rollup: class, segment and the folded texts in it. */
    const rollup = async (id: string) =>
      (await db().selectFrom('session_text').select(['cls', 'seg', 'text']).where('session_id', '=', id).orderBy('cls').orderBy('seg').execute()).map((r) => [r.cls, Number(r.seg), r.text.split('\u0001').sort()]);

    it('stores many sessions in one commit: chunks with the hash chain, events with cursors, heartbeats', async () => {
      const { ingest } = t.server.services;
      let calls = 0;
      const counting = { batch: (items: Parameters<typeof ingest.batch>[0]) => (calls += 1, ingest.batch(items)) };
      const writer = new RecordingWriter(counting);
      const sessions = await Promise.all(Array.from({ length: 30 }, (_, i) => open(i % 2 === 0)));
      const before = await db().selectFrom('sessions').select(['id', 'last_heartbeat_at']).where('id', 'in', sessions.map((s) => s.id)).execute();
      await new Promise((r) => setTimeout(r, 5));
      const data = (i: number, seq: number) => Buffer.from(`[${seq / 10}, "o", "session ${i} chunk ${seq}\\r\\n"]\n`);
      // Two rounds, each written in one turn as the shared tick does.
      for (const round of [0, 1]) {
        const writes: Promise<void>[] = [];
        sessions.forEach((s, i) => {
          writes.push(writer.chunk(s.id, round * 2, data(i, round * 2)), writer.chunk(s.id, round * 2 + 1, data(i, round * 2 + 1)));
          writes.push(writer.events(s.id, [
            { seq: round * 2, at: 1000 * (round + 1), type: 'keystrokes', text: `ls -la ${i}` },
            { seq: round * 2 + 1, at: 1000 * (round + 1) + 5, type: 'command', text: `ls -la ${i}` },
          ]));
          writes.push(writer.heartbeat(s.id));
        });
        await Promise.all(writes);
      }
      assert.equal(calls, 2, 'one batch per turn');
      for (const [i, s] of sessions.entries()) {
        const row = await db().selectFrom('sessions').select(['chunk_count', 'bytes', 'chain_head', 'last_activity_at', 'last_heartbeat_at', 'started_at']).where('id', '=', s.id).executeTakeFirstOrThrow();
        const chunks = [0, 1, 2, 3].map((seq) => data(i, seq));
        assert.equal(Number(row.chunk_count), 4);
        assert.equal(Number(row.bytes), chunks.reduce((n, c) => n + c.length, 0));
        assert.equal(row.chain_head, chainOver(s.id, chunks.map(chunkDigest)));
        assert.equal(Number(row.last_activity_at), Number(row.started_at) + 2005);
        assert.ok(Number(row.last_heartbeat_at) > Number(before.find((b) => b.id === s.id)!.last_heartbeat_at), 'heartbeat stored');
        const stored = await db().selectFrom('recording_chunks').select(['seq', 'sha256', 'chain', 'blob_key']).where('session_id', '=', s.id).orderBy('seq').execute();
        assert.deepEqual(stored.map((c) => [Number(c.seq), c.sha256, c.blob_key]), chunks.map((c, seq) => [seq, chunkDigest(c), chunkKey(s.id, seq)]));
        assert.equal(stored[3]!.chain, row.chain_head);
        const blob = await new DatabaseBlobStore(t.server.store).get(chunkKey(s.id, 2));
        assert.deepEqual(blob, chunks[2]);
        const events = await db().selectFrom('activity_events').select(['seq', 'type', 'text', 'details']).where('session_id', '=', s.id).orderBy('seq').execute();
        const keys = i % 2 === 0;
        assert.deepEqual(events.map((e) => [Number(e.seq), e.type, e.text]), [0, 1, 2, 3].map((seq) => [seq, seq % 2 === 0 ? 'keystrokes' : 'command', seq % 2 === 0 && !keys ? '' : `ls -la ${i}`]));
        // The search rollup has every stored text once (keystrokes only where they are recorded).
        assert.deepEqual(await rollup(s.id), [['pk', 0, Array(keys ? 4 : 2).fill(`ls -la ${i}`)]]);
        const cursor = await db().selectFrom('event_cursors').select(['received', 'max_seq']).where('session_id', '=', s.id).where('source', '=', 'proxy').executeTakeFirstOrThrow();
        assert.deepEqual([Number(cursor.received), Number(cursor.max_seq)], [4, 3]);
      }
      // The stored recordings play back through the ordinary ingest path's checks: a replay of a
      // stored chunk is a duplicate, a different one a conflict.
      const replay = await ingest.chunk(sessions[0]!.id, 1, data(0, 1));
      assert.deepEqual([replay.accepted, replay.duplicates, replay.next, replay.head], [0, 1, 4, chainOver(sessions[0]!.id, [0, 1, 2, 3].map((seq) => chunkDigest(data(0, seq))))]);
      await assert.rejects(ingest.chunk(sessions[0]!.id, 1, Buffer.from('tampered')), /already received with different content/);
    });

    it('commits a large tick in parts, letting the event loop turn between them', async () => {
      const { ingest } = t.server.services;
      const log: string[] = [];
      const sizes: number[] = [];
      const counting = {
        batch: (items: Parameters<typeof ingest.batch>[0]) => {
          log.push('batch');
          sizes.push(items.length);
          return ingest.batch(items);
        },
      };
      const writer = new RecordingWriter(counting, { sessionsPerCommit: 8 });
      const sessions = await Promise.all(Array.from({ length: 20 }, () => open(true)));
      const writes = sessions.map((s, i) => writer.chunk(s.id, 0, Buffer.from(`[0.1, "o", "part ${i}"]\n`)));
      // What a socket read would be: an I/O-phase callback queued in the same turn as the writes.
      setImmediate(() => log.push('io'));
      await Promise.all(writes);
      assert.deepEqual(sizes, [8, 8, 4], 'three transactions of at most 8 sessions');
      assert.ok(log.indexOf('io') > 0 && log.indexOf('io') < log.lastIndexOf('batch'), `the loop turned between parts: ${log.join(',')}`);
      const rows = await db().selectFrom('sessions').select(['id', 'chunk_count']).where('id', 'in', sessions.map((s) => s.id)).execute();
      assert.deepEqual(rows.map((r) => Number(r.chunk_count)), sessions.map(() => 1), 'every part stored');
    });

    it('takes replays and gaps through the checked path, and fails only the session that is wrong', async () => {
      const { ingest } = t.server.services;
      const writer = new RecordingWriter(ingest);
      const [a, b, c] = await Promise.all([open(true), open(true), open(true, false)]);
      await Promise.all([writer.chunk(a!.id, 0, Buffer.from('a0\n')), writer.events(a!.id, [{ seq: 0, at: 1, type: 'output', text: 'x' }])]);
      // A replay of what is stored (after an unclear failure), a fresh session, and a session
      // without media (its chunk is refused) all in one turn.
      const results = await Promise.allSettled([
        writer.chunk(a!.id, 0, Buffer.from('a0\n')),
        writer.events(a!.id, [{ seq: 0, at: 1, type: 'output', text: 'x' }, { seq: 1, at: 2, type: 'output', text: 'y' }]),
        writer.chunk(b!.id, 0, Buffer.from('b0\n')),
        writer.chunk(c!.id, 0, Buffer.from('c0\n')),
      ]);
      assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'fulfilled', 'fulfilled', 'rejected']);
      assert.match(String((results[3] as PromiseRejectedResult).reason), /records no media/);
      const events = await db().selectFrom('activity_events').select(['seq', 'text']).where('session_id', '=', a!.id).orderBy('seq').execute();
      assert.deepEqual(events.map((e) => [Number(e.seq), e.text]), [[0, 'x'], [1, 'y']]);
      assert.deepEqual(await rollup(a!.id), [['out', 0, ['x', 'y']]], 'a replayed event is not rolled up twice');
      const rows = await db().selectFrom('sessions').select(['id', 'chunk_count']).where('id', 'in', [a!.id, b!.id, c!.id]).execute();
      assert.deepEqual(Object.fromEntries(rows.map((r) => [r.id, Number(r.chunk_count)])), { [a!.id]: 1, [b!.id]: 1, [c!.id]: 0 });
      // A gap (chunk 2 before 1) is stored unchained, as ingest.chunk does, then linked.
      await writer.chunk(b!.id, 2, Buffer.from('b2\n'));
      assert.equal(Number((await db().selectFrom('sessions').select('chunk_count').where('id', '=', b!.id).executeTakeFirstOrThrow()).chunk_count), 1);
      await writer.chunk(b!.id, 1, Buffer.from('b1\n'));
      const head = await db().selectFrom('sessions').select(['chunk_count', 'chain_head']).where('id', '=', b!.id).executeTakeFirstOrThrow();
      assert.deepEqual([Number(head.chunk_count), head.chain_head], [3, chainOver(b!.id, ['b0\n', 'b1\n', 'b2\n'].map((x) => chunkDigest(Buffer.from(x))))]);
    });

    it('keeps large text chunks deflated in the database and reads back the bytes as written; video-like bytes stay as given', async () => {
      const { ingest } = t.server.services;
      const blobs = new DatabaseBlobStore(t.server.store);
      const s = await open(true);
      // A second of bulk terminal output (what `cat` of a log puts in the cast), and bytes that do not compress.
      const text = Buffer.from(Array.from({ length: 4000 }, (_, i) => `[${(i / 1000).toFixed(3)}, "o", "Dec  3 08:${String(i % 60).padStart(2, '0')} host sshd[${1000 + (i % 97)}]: Accepted publickey for root\\r\\n"]\n`).join(''));
      const noise = randomBytes(64 * 1024);
      assert.deepEqual(await ingest.batch([{ sessionId: s.id, source: 'proxy', chunks: [{ seq: 0, data: text }, { seq: 1, data: noise }], events: [] }]), [undefined]);
      const third = Buffer.concat([text.subarray(0, 20_000), Buffer.from('tail\n')]);
      await ingest.chunk(s.id, 2, third); // the one-by-one path (launcher uploads, replays)
      const rows = await db().selectFrom('blobs').select(['key', 'data', 'encoding']).where('key', 'in', [0, 1, 2].map((seq) => chunkKey(s.id, seq))).execute();
      const row = (seq: number) => rows.find((r) => r.key === chunkKey(s.id, seq))!;
      assert.equal(row(0).encoding, 'deflate');
      assert.ok(row(0).data.length * 5 < text.length, `text stored in ${row(0).data.length} of ${text.length} bytes`);
      assert.equal(row(1).encoding, null);
      assert.equal(Buffer.compare(Buffer.from(row(1).data), noise), 0);
      assert.equal(row(2).encoding, 'deflate');
      // Reads, whole and ranged, give the original bytes; size and digest are the original's.
      assert.equal(Buffer.compare(await blobs.get(chunkKey(s.id, 0)), text), 0);
      assert.equal(Buffer.compare(await blobs.get(chunkKey(s.id, 2)), third), 0);
      assert.equal(Buffer.compare(await blobs.getRange(chunkKey(s.id, 0), 1234, 99_999), text.subarray(1234, 100_000)), 0);
      assert.equal(Buffer.compare(await blobs.getRange(chunkKey(s.id, 1), 10, 20), noise.subarray(10, 21)), 0);
      const chunks = await db().selectFrom('recording_chunks').select(['seq', 'size', 'sha256']).where('session_id', '=', s.id).orderBy('seq').execute();
      assert.deepEqual(chunks.map((c) => [Number(c.size), c.sha256]), [text, noise, third].map((d) => [d.length, chunkDigest(d)]));
      // A replay of the deflated chunk is still recognised as the same bytes.
      assert.equal((await ingest.chunk(s.id, 0, text)).duplicates, 1);
      // Stored bytes that no longer decode are reported as corrupt, not returned.
      await db().updateTable('blobs').set({ data: Buffer.from('not deflate data') }).where('key', '=', chunkKey(s.id, 2)).execute();
      await assert.rejects(blobs.get(chunkKey(s.id, 2)), /is corrupt/);
    });
  });
}
