import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { SettingsBlobStores } from '../src/adapters/blobs/blob-stores.ts';
import { MemoryBus } from '../src/adapters/bus/memory/memory-bus.ts';
import { createLogger } from '../src/adapters/log/logger.ts';
import { resolveFfmpeg, type FfmpegBinaries } from '../src/adapters/media/ffmpeg-locator.ts';
import { FfmpegTranscoder } from '../src/adapters/media/ffmpeg-transcoder.ts';
import type { Store } from '../src/adapters/store/store.ts';
import { AuditService } from '../src/core/audit/audit.service.ts';
import { systemClock } from '../src/core/clock.ts';
import { AuthService } from '../src/core/identity/auth.service.ts';
import { RolesService } from '../src/core/identity/roles.service.ts';
import { UsersService } from '../src/core/identity/users.service.ts';
import { newId } from '../src/core/ids.ts';
import type { BlobLocation } from '../src/core/recording/blob-store.ts';
import type { Transcoder, ToMp4Options } from '../src/core/recording/transcoder.ts';
import { VIDEO_CONVERT_QUEUE, VideoProcessing } from '../src/core/recording/video-processing.ts';
import { buildApp } from '../src/server/http/app.ts';
import { registerProcessingRoutes } from '../src/server/http/sessions/processing.routes.ts';
import { storeFixtures, tempDir } from './helpers/stores.ts';

const run = promisify(execFile);
const SOURCE_SECONDS = 20;
const CHUNKS = 7;

let bins: FfmpegBinaries;
let ffprobe: string;
/** A 20 s VP8 WebM written to a pipe, as the launcher streams it: no Cues, no duration. */
let source: Buffer;
const tmp = tempDir('vigil-video-test-');

before(async () => {
  bins = await resolveFfmpeg(undefined);
  assert.ok(bins.ffprobe, 'these tests need ffprobe (apt-get install ffmpeg)');
  ffprobe = bins.ffprobe;
  const { stdout } = await run(bins.ffmpeg, [
    '-hide_banner', '-nostdin', '-loglevel', 'error',
    '-f', 'lavfi', '-i', `testsrc2=size=640x360:rate=1:duration=${SOURCE_SECONDS}`,
    '-c:v', 'libvpx', '-deadline', 'realtime', '-cpu-used', '8', '-b:v', '400k', '-g', '5', '-dash', '1',
    '-f', 'webm', 'pipe:1',
  ], { encoding: 'buffer', maxBuffer: 64 << 20 });
  source = stdout;
  assert.equal(ebml(source).cues, 0, 'the piped source has no Cues');
});
after(() => tmp.remove());

describe('ffmpeg adapter', () => {
  it('finds the system ffmpeg and its major version', () => {
    assert.equal(bins.source, 'system');
    assert.ok(bins.major >= 4, bins.version);
  });

  it('names VIGIL_FFMPEG when the configured binary does not run', async () => {
    await assert.rejects(resolveFfmpeg('/nonexistent/ffmpeg'), /VIGIL_FFMPEG/);
  });

  it('falls back to the packaged ffmpeg (4.x, no ffprobe) when none is on PATH', async () => {
    const packaged = await resolveFfmpeg(undefined, { PATH: '' });
    assert.equal(packaged.source, 'packaged');
    assert.equal(packaged.ffprobe, null);
    assert.equal(packaged.major, 4);
  });

  it('the packaged 4.x binary converts with -vsync passthrough and probes without ffprobe', async () => {
    const packaged = await resolveFfmpeg(undefined, { PATH: '' });
    const t = new FfmpegTranscoder(packaged);
    const input = path.join(tmp.dir, 'packaged-in.webm');
    await fs.writeFile(input, source);
    const piped = await t.probe(input);
    assert.equal(piped.codec, 'vp8');
    assert.deepEqual([piped.width, piped.height], [640, 360]);
    assert.ok(Math.abs(piped.durationMs - SOURCE_SECONDS * 1000) <= 1000, `scanned duration ${piped.durationMs}`);
    const seekable = path.join(tmp.dir, 'packaged.webm');
    await t.remuxWebm(input, seekable);
    const out = path.join(tmp.dir, 'packaged.mp4');
    const { durationMs } = await t.toMp4(seekable, out, { onProgress: () => {} });
    assert.equal((await probe(out)).codec, 'h264');
    assert.ok(Math.abs(durationMs - SOURCE_SECONDS * 1000) <= 1000, `mp4 duration ${durationMs}`);
    await t.close();
  });

  it('an abort kills the conversion, and close() kills whatever still runs', async () => {
    const input = path.join(tmp.dir, 'abort-in.webm');
    await fs.writeFile(input, source);
    // veryslow keeps ffmpeg busy long enough to be stopped halfway.
    const t = new FfmpegTranscoder(bins, { preset: 'veryslow' });
    const abort = new AbortController();
    const started = Date.now();
    const converting = t.toMp4(input, path.join(tmp.dir, 'aborted.mp4'), { onProgress: () => {}, signal: abort.signal });
    setTimeout(() => abort.abort(), 150);
    await assert.rejects(converting, { name: 'AbortError' });
    assert.ok(Date.now() - started < 1500, 'stopped promptly');

    const running = t.toMp4(input, path.join(tmp.dir, 'closed.mp4'), { onProgress: () => {} });
    await new Promise((r) => setTimeout(r, 150));
    await t.close();
    await assert.rejects(running, /shut/);
    await assert.rejects(t.probe(input), /shutting down/);
  });
});

for (const fx of storeFixtures()) {
  describe(`video processing: ${fx.name}`, () => {
    let store: Store;
    let bus: MemoryBus;
    let transcoder: ObservedTranscoder;
    let ffmpeg: FfmpegTranscoder;
    const settings = { onDemandProcessing: true, processingConcurrency: 2 };
    let processing: VideoProcessing;
    let worker: { unsubscribe(): Promise<void> };
    const share = tempDir('vigil-video-share-');
    const blobsOf = (s: Store) => new SettingsBlobStores(s, async () => ({ storagePath: share.dir, archivePath: null }));

    before(async () => {
      store = await fx.open();
      bus = new MemoryBus();
      ffmpeg = new FfmpegTranscoder(bins);
      transcoder = new ObservedTranscoder(ffmpeg);
      processing = new VideoProcessing({
        store, blobs: blobsOf(store), bus, transcoder, clock: systemClock, tmpDir: path.join(tmp.dir, fx.name),
        settings: { get: async () => ({ ...settings }) }, maxAttempts: 3, retryDelayMs: 20,
      });
      worker = await processing.startWorker();
    });
    after(async () => {
      await worker?.unsubscribe();
      await bus?.close();
      await ffmpeg?.close();
      await store?.close();
      await fx.cleanup();
      share.remove();
    });

    it('finalize joins the chunks into a seekable WebM with Cues and records the duration', async () => {
      const id = await recordedSession(store, blobsOf(store), source);
      await processing.finalize(id);
      const file = await storedFile(store, blobsOf(store), id, 'webm');
      const webm = await fs.readFile(file);
      const layout = ebml(webm);
      assert.ok(layout.cues >= 3, `Cues with a point per keyframe cluster, got ${layout.cues}`);
      assert.ok(layout.duration, 'the header carries the duration');
      const info = await probe(file);
      assert.equal(info.codec, 'vp8');
      assert.ok(Math.abs(info.durationMs - SOURCE_SECONDS * 1000) <= 1000, `duration ${info.durationMs}`);
      // Seeking to 12 s lands on the keyframe before it (ffprobe seeks, then reads one packet).
      const { stdout } = await run(ffprobe, ['-v', 'error', '-read_intervals', '12%+#1', '-select_streams', 'v:0', '-show_entries', 'packet=pts_time', '-of', 'csv=p=0', file]);
      const at = Number(stdout.trim().split('\n')[0]);
      assert.equal(at, 10, `a seek to 12 s landed at ${at} s`);
      const s = await session(store, id);
      assert.ok(Math.abs(Number(s.duration_ms) - SOURCE_SECONDS * 1000) <= 1000);
      assert.equal(s.processing_state, null, 'on-demand: nothing converted yet');
    });

    it('a requested conversion runs on the worker: H.264 MP4, same duration, faststart, progress to 1', async () => {
      const id = await recordedSession(store, blobsOf(store), source, { storage: 'share' });
      const before = transcoder.mp4Calls;
      // Not finalised yet: the job finalises first.
      assert.deepEqual(await processing.request(id), { state: 'queued', progress: 0, error: null });
      const s = await until(store, id, (r) => r.processing_state === 'done' || r.processing_state === 'failed');
      assert.equal(s.processing_state, 'done', String(s.processing_error));
      assert.equal(Number(s.processing_progress), 1);
      assert.equal(s.processing_error, null);
      assert.equal(transcoder.mp4Calls, before + 1);
      const progress = transcoder.lastProgress;
      assert.equal(progress.at(-1), 1, 'progress reaches 1');
      assert.ok(progress.every((p, i) => i === 0 || p >= progress[i - 1]!), 'progress never goes back');

      const files = await store.db.selectFrom('recording_files').select(['format', 'location']).where('session_id', '=', id).orderBy('format').execute();
      assert.deepEqual(files, [{ format: 'mp4', location: 'share' }, { format: 'webm', location: 'share' }]);
      const mp4 = await storedFile(store, blobsOf(store), id, 'mp4');
      const webm = await storedFile(store, blobsOf(store), id, 'webm');
      const [m, w] = [await probe(mp4), await probe(webm)];
      assert.equal(m.codec, 'h264');
      assert.deepEqual([m.width, m.height], [640, 360]);
      assert.ok(Math.abs(m.durationMs - w.durationMs) <= 1000, `mp4 ${m.durationMs} ms vs webm ${w.durationMs} ms`);
      const boxes = topLevelBoxes(await fs.readFile(mp4));
      assert.ok(boxes.indexOf('moov') >= 0 && boxes.indexOf('moov') < boxes.indexOf('mdat'), `faststart: ${boxes.join(',')}`);

      // Asking again changes nothing.
      assert.equal((await processing.request(id)).state, 'done');
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(transcoder.mp4Calls, before + 1);
    });

    it('a corrupt recording ends as failed with a reason after the retries, without crashing the worker', async () => {
      const garbage = Buffer.concat([randomBytes(4096), source.subarray(200_000)]);
      const id = await recordedSession(store, blobsOf(store), garbage);
      await assert.rejects(processing.finalize(id));
      assert.equal((await session(store, id)).processing_state, 'failed');

      await processing.request(id);
      const s = await until(store, id, (r) => r.processing_state === 'failed' && (r.processing_error ?? '').length > 0 && !r.processing_error!.startsWith('finalising'));
      assert.match(s.processing_error!, /\S/);
      assert.doesNotMatch(s.processing_error!, /\n/);
      const dead = await waitFor(async () => (await bus.takeDeadLetters(VIDEO_CONVERT_QUEUE)).find((d) => (d.job as { sessionId: string }).sessionId === id));
      assert.equal(dead.attempts, 3);

      // The worker still converts the next recording.
      const ok = await recordedSession(store, blobsOf(store), source);
      await processing.request(ok);
      assert.equal((await until(store, ok, (r) => r.processing_state === 'done' || r.processing_state === 'failed')).processing_state, 'done');
    });

    it('with on-demand processing off, finalize queues the conversion automatically', async () => {
      settings.onDemandProcessing = false;
      try {
        const id = await recordedSession(store, blobsOf(store), source);
        await processing.finalize(id);
        const s = await until(store, id, (r) => r.processing_state === 'done' || r.processing_state === 'failed');
        assert.equal(s.processing_state, 'done');
        assert.equal((await probe(await storedFile(store, blobsOf(store), id, 'mp4'))).codec, 'h264');
      } finally {
        settings.onDemandProcessing = true;
      }
    });

    it('stopping the worker kills a running conversion and leaves it queued for the next start', async () => {
      const slowBus = new MemoryBus();
      const slow = new FfmpegTranscoder(bins, { preset: 'veryslow' });
      const node = new VideoProcessing({
        store, blobs: blobsOf(store), bus: slowBus, transcoder: slow, clock: systemClock, tmpDir: path.join(tmp.dir, `${fx.name}-slow`),
        settings: { get: async () => ({ ...settings }) },
      });
      const id = await recordedSession(store, blobsOf(store), source);
      const sub = await node.startWorker();
      await node.request(id);
      await until(store, id, (r) => r.processing_state === 'running' && r.processing_progress !== null);
      await new Promise((r) => setTimeout(r, 100));
      const t0 = Date.now();
      await sub.unsubscribe();
      assert.ok(Date.now() - t0 < 2000, 'the conversion was stopped, not awaited');
      const s = await session(store, id);
      assert.equal(s.processing_state, 'queued');
      assert.equal(s.processing_error, null);
      await slowBus.close();
      await slow.close();
      // A fresh process on the memory bus picks it up again (its jobs did not survive).
      const again = await processing.startWorker();
      assert.equal((await until(store, id, (r) => r.processing_state === 'done' || r.processing_state === 'failed')).processing_state, 'done');
      await again.unsubscribe();
    });

    it('refuses sessions without video and sessions still recording', async () => {
      const cast = await insertSession(store, { media: 'cast' });
      await assert.rejects(processing.request(cast), { status: 409 });
      const active = await insertSession(store, { status: 'active' });
      await assert.rejects(processing.request(active), { status: 409 });
      await assert.rejects(processing.request(newId()), { status: 404 });
      await processing.finalize(cast); // nothing to do, no error
    });

    if (fx.name === 'sqlite') {
      it('POST /sessions/{id}/processing: 202 with the state, 404/409/403 as due, audited', async () => {
        const audit = new AuditService(store, systemClock);
        const users = new UsersService(store, systemClock);
        const roles = new RolesService(store, systemClock);
        const auth = new AuthService(store, users, audit, systemClock);
        await roles.ensureBuiltins();
        await auth.bootstrapAdmin('admin-password-1', (await roles.byName('Administrator'))!.id);
        await users.create({ username: 'plain', password: 'plain-password-1', roles: [(await roles.byName('User'))!.id] });
        const { app } = await buildApp({
          logger: createLogger({ level: 'silent' }), auth, secureCookies: false, trustProxy: false,
          routes: [(a) => registerProcessingRoutes(a, { store, processing, audit })],
        });
        try {
          const admin = (await auth.login('admin', 'admin-password-1', '127.0.0.1')).token;
          const plain = (await auth.login('plain', 'plain-password-1', '127.0.0.1')).token;
          const post = (id: string, token?: string) =>
            app.inject({ method: 'POST', url: `/api/v1/sessions/${id}/processing`, headers: token ? { authorization: `Bearer ${token}` } : {} });

          const id = await recordedSession(store, blobsOf(store), source);
          assert.equal((await post(id)).statusCode, 401);
          assert.equal((await post(id, plain)).statusCode, 403);
          assert.equal((await post(newId(), admin)).statusCode, 404);
          assert.equal((await post(await insertSession(store, { media: 'cast' }), admin)).statusCode, 409);
          const res = await post(id, admin);
          assert.equal(res.statusCode, 202, res.body);
          assert.deepEqual(res.json(), { state: 'queued', progress: 0 });
          const entry = await store.db.selectFrom('audit_log').selectAll().where('action', '=', 'recording.processing-request').where('target_id', '=', id).executeTakeFirst();
          assert.ok(entry, 'audited');
          await until(store, id, (r) => r.processing_state === 'done' || r.processing_state === 'failed');
        } finally {
          await app.close();
        }
      });
    }
  });
}

/** The real transcoder, counting conversions and keeping the progress each one reported. */
class ObservedTranscoder implements Transcoder {
  mp4Calls = 0;
  /** Fractions reported by the latest conversion. */
  lastProgress: number[] = [];

  constructor(private readonly inner: Transcoder) {}

  remuxWebm(input: string, output: string) {
    return this.inner.remuxWebm(input, output);
  }

  toMp4(input: string, output: string, opts: ToMp4Options) {
    this.mp4Calls++;
    const seen: number[] = [];
    this.lastProgress = seen;
    return this.inner.toMp4(input, output, { ...opts, onProgress: (f) => { seen.push(f); opts.onProgress(f); } });
  }

  probe(file: string) {
    return this.inner.probe(file);
  }
}

async function insertSession(store: Store, over: { media?: 'cast' | 'webm'; storage?: 'database' | 'share'; status?: 'active' | 'ended' } = {}): Promise<string> {
  const id = newId();
  const now = Date.now();
  await store.db.insertInto('sessions').values({
    id, kind: over.media === 'cast' ? 'ssh' : 'desktop', status: over.status ?? 'ended', user_id: null, username: 'alice', secret_id: null, secret_name: 'desk',
    target_host: 'desk.example', target_user: 'alice', client_address: '10.0.0.9', component: 'launcher', node_id: null,
    started_at: now - 60_000, ended_at: over.status === 'active' ? null : now, last_activity_at: now, last_heartbeat_at: now, end_reason: null, ended_by: null,
    record_video: 1, record_keystrokes: 0, media: over.media ?? 'webm', recording_state: 'complete', storage: over.storage ?? 'database',
    chunk_count: 0, bytes: 0, chain_head: null, duration_ms: null, processing_state: null, processing_progress: null, processing_error: null, archived_at: null, deleted_at: null,
  }).execute();
  return id;
}

/** An ended desktop session whose WebM arrived as CHUNKS byte chunks, stored like ingestion does. */
async function recordedSession(store: Store, blobs: SettingsBlobStores, webm: Buffer, over: { storage?: 'database' | 'share' } = {}): Promise<string> {
  const id = await insertSession(store, over);
  const location: BlobLocation = over.storage ?? 'database';
  const size = Math.ceil(webm.length / CHUNKS);
  for (let seq = 0; seq * size < webm.length; seq++) {
    const part = webm.subarray(seq * size, (seq + 1) * size);
    const key = `sessions/${id}/chunks/${String(seq).padStart(8, '0')}`;
    await (await blobs.at(location)).put(key, part);
    await store.db.insertInto('recording_chunks').values({ session_id: id, seq, size: part.length, sha256: 'x', chain: null, location, blob_key: key, created_at: Date.now() }).execute();
  }
  return id;
}

async function session(store: Store, id: string) {
  return store.db.selectFrom('sessions').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
}

async function storedFile(store: Store, blobs: SettingsBlobStores, id: string, format: 'webm' | 'mp4'): Promise<string> {
  const row = await store.db.selectFrom('recording_files').selectAll().where('session_id', '=', id).where('format', '=', format).executeTakeFirstOrThrow();
  const file = path.join(tmp.dir, `${id}.${format}`);
  await fs.writeFile(file, await (await blobs.at(row.location)).get(row.blob_key));
  assert.equal((await fs.stat(file)).size, Number(row.size));
  return file;
}

async function until(store: Store, id: string, done: (r: Awaited<ReturnType<typeof session>>) => boolean) {
  return waitFor(async () => {
    const r = await session(store, id);
    return done(r) ? r : undefined;
  });
}

async function waitFor<T>(fn: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function probe(file: string): Promise<{ codec: string; width: number; height: number; durationMs: number }> {
  const { stdout } = await run(ffprobe, ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=codec_name,width,height:format=duration', '-of', 'json', file]);
  const j = JSON.parse(stdout) as { streams: Array<{ codec_name: string; width: number; height: number }>; format: { duration?: string } };
  return { codec: j.streams[0]!.codec_name, width: j.streams[0]!.width, height: j.streams[0]!.height, durationMs: Math.round(Number(j.format.duration) * 1000) };
}

/** Walks the Matroska Segment: how many CuePoints its Cues hold, and whether Info has a Duration. */
function ebml(buf: Buffer): { cues: number; duration: boolean } {
  const vint = (pos: number, keepMarker: boolean): { value: number; len: number; unknown: boolean } => {
    const first = buf[pos]!;
    let len = 1;
    while (len <= 8 && !(first & (0x80 >> (len - 1)))) len++;
    let value = keepMarker ? first : first & (0xff >> len);
    let allOnes = value === (0xff >> len);
    for (let i = 1; i < len; i++) {
      value = value * 256 + buf[pos + i]!;
      allOnes &&= buf[pos + i] === 0xff;
    }
    return { value, len, unknown: !keepMarker && allOnes };
  };
  const children = (start: number, end: number, visit: (id: number, data: number, size: number, unknown: boolean) => boolean): void => {
    let pos = start;
    while (pos < end) {
      const id = vint(pos, true);
      const size = vint(pos + id.len, false);
      const data = pos + id.len + size.len;
      if (!visit(id.value, data, size.value, size.unknown) || size.unknown) return;
      pos = data + size.value;
    }
  };
  let cues = 0;
  let duration = false;
  children(0, buf.length, (id, data, size, unknown) => {
    if (id !== 0x18538067) return true; // Segment
    children(data, unknown ? buf.length : data + size, (child, cdata, csize) => {
      if (child === 0x1549a966) children(cdata, cdata + csize, (f) => ((duration ||= f === 0x4489), true)); // Info/Duration
      if (child === 0x1c53bb6b) children(cdata, cdata + csize, (p) => ((cues += p === 0xbb ? 1 : 0), true)); // Cues/CuePoint
      return true;
    });
    return false;
  });
  return { cues, duration };
}

/** The top-level MP4 boxes in file order. */
function topLevelBoxes(buf: Buffer): string[] {
  const boxes: string[] = [];
  for (let pos = 0; pos + 8 <= buf.length;) {
    let size = buf.readUInt32BE(pos);
    const type = buf.toString('latin1', pos + 4, pos + 8);
    if (size === 1) size = Number(buf.readBigUInt64BE(pos + 8));
    if (size < 8) break;
    boxes.push(type);
    pos += size;
  }
  return boxes;
}
