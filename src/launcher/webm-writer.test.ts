import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { OBU, parseSequenceHeader, splitObus } from './av1.ts';
import { IvfReader, type IvfFrame, type VideoCodec } from './ivf-reader.ts';
import { WebmWriter } from './webm-writer.ts';

const run = promisify(execFile);

/** Six frames from ffmpeg's test source as IVF, keyframes at 0 and 3 (real libvpx output). */
async function ivf(codec: VideoCodec): Promise<Buffer> {
  const enc = {
    vp8: ['-c:v', 'libvpx', '-deadline', 'realtime', '-cpu-used', '8'],
    vp9: ['-c:v', 'libvpx-vp9', '-deadline', 'realtime', '-cpu-used', '8'],
    av1: ['-c:v', 'libaom-av1', '-usage', 'realtime', '-cpu-used', '8', '-lag-in-frames', '0'],
  }[codec];
  const { stdout } = await run('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=1', '-frames:v', '6', ...enc, '-g', '1000', '-force_key_frames', 'expr:eq(n,0)+eq(n,3)', '-f', 'ivf', 'pipe:1'], { encoding: 'buffer', maxBuffer: 16 << 20 });
  return stdout;
}

async function probe(file: string): Promise<Array<{ t: number; key: boolean }>> {
  const { stdout } = await run('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'packet=pts_time,flags', '-of', 'csv=p=0', file]);
  return stdout.trim().split('\n').map((l) => ({ t: Number(l.split(',')[0]), key: (l.split(',')[1] ?? '').startsWith('K') }));
}

for (const codec of ['vp8', 'vp9', 'av1'] as const) {
  describe(`IVF → live WebM (${codec})`, () => {
    it('parses IVF fed in odd pieces and muxes a WebM that ffmpeg decodes with the given times', async () => {
      const data = await ivf(codec);
      const reader = new IvfReader();
      const frames: IvfFrame[] = [];
      for (let i = 0; i < data.length; i += 777) frames.push(...reader.push(data.subarray(i, i + 777)));
      const { sequenceHeader, ...header } = reader.header!;
      assert.deepEqual(header, { codec, width: 320, height: 240 });
      assert.equal(sequenceHeader !== undefined, codec === 'av1', 'a sequence header is kept for AV1 only');
      assert.deepEqual(frames.map((f) => f.ptsMs), [0, 1000, 2000, 3000, 4000, 5000]);
      assert.deepEqual(frames.map((f) => f.keyframe), [true, false, false, true, false, false]);

      // Times as a still screen makes them: a long gap (400 s, beyond one cluster's 327 s) before
      // the keyframe, another after it before an inter frame (which then opens a cluster of its
      // own), and a join point taken mid-cluster.
      const times = [0, 1000, 2000, 400_000, 401_000, 800_000];
      const w = new WebmWriter(reader.header!);
      const parts = [w.init, ...frames.slice(0, 5).map((f, i) => w.frame(times[i]!, f.keyframe, f.data))];
      const join = w.joinPoint();
      parts.push(w.frame(times[5]!, frames[5]!.keyframe, frames[5]!.data));
      const lateJoin = w.joinPoint();
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-webm-'));
      try {
        const file = path.join(dir, 'all.webm');
        fs.writeFileSync(file, Buffer.concat(parts));
        const { stderr } = await run('ffmpeg', ['-v', 'error', '-i', file, '-f', 'null', '-']);
        assert.equal(stderr.trim(), '');
        const stream = JSON.parse((await run('ffprobe', ['-v', 'error', '-show_streams', '-of', 'json', file])).stdout).streams[0];
        assert.equal(stream.codec_name, codec);
        assert.equal(`${stream.width}x${stream.height}`, '320x240');
        const packets = await probe(file);
        assert.deepEqual(packets.map((p) => p.t), times.map((t) => t / 1000));
        assert.deepEqual(packets.map((p) => p.key), [true, false, false, true, false, false]);
        // A cluster at each keyframe, and one where the inter frame would overflow the keyframe's.
        const clusters = Buffer.concat(parts).toString('latin1').split('\x1f\x43\xb6\x75').length - 1;
        assert.equal(clusters, 3);
        // A viewer joining after frame 5 gets the header and the cluster from frame 4's keyframe,
        // then the live stream; one joining at the end gets both clusters since that keyframe.
        const joined = path.join(dir, 'join.webm');
        fs.writeFileSync(joined, Buffer.concat([join, parts[6]!]));
        assert.deepEqual((await probe(joined)).map((p) => p.t), [400, 401, 800]);
        assert.ok(lateJoin.equals(Buffer.concat([join, parts[6]!])), 'the late join point reaches back to the keyframe across the overflow cluster');
        assert.equal((await run('ffmpeg', ['-v', 'error', '-i', joined, '-f', 'null', '-'])).stderr.trim(), '', 'decodes without errors from the keyframe');
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  });
}

describe('WebmWriter', () => {
  it('keeps times strictly increasing and opens a new cluster when the relative time would overflow', () => {
    const w = new WebmWriter({ codec: 'vp8', width: 16, height: 16 });
    const key = Buffer.from([0x10]);
    const delta = Buffer.from([0x11]);
    const clusterId = Buffer.from([0x1f, 0x43, 0xb6, 0x75]);
    assert.ok(w.frame(0, true, key).subarray(0, 4).equals(clusterId));
    assert.ok(!w.frame(0, false, delta).includes(clusterId), 'same time: moved 10 ms on, same cluster');
    assert.equal(w.timeMs, 10);
    assert.ok(w.frame(400_000, false, delta).subarray(0, 4).equals(clusterId), 'beyond 327 s: a new cluster');
  });
});

describe('AV1 in WebM', () => {
  it('drops temporal delimiters, flags key frames by their frame header, and puts av1C with the sequence header in CodecPrivate', async () => {
    const data = await ivf('av1');
    // ffmpeg's IVF muxer starts every temporal unit with a temporal delimiter OBU (0x12 0x00).
    assert.ok(data.subarray(32 + 12, 32 + 14).equals(Buffer.from([0x12, 0x00])), 'the IVF input carries temporal delimiters');
    const frames = new IvfReader().push(data);
    for (const f of frames) {
      const types = splitObus(f.data).map((o) => o.type);
      assert.ok(!types.includes(OBU.temporalDelimiter), `no temporal delimiter left in a block: ${types.join(',')}`);
      assert.equal(types.includes(OBU.sequenceHeader), f.keyframe, 'key frames (and only they, from libaom) carry the sequence header');
    }
    const reader = new IvfReader();
    reader.push(data);
    const seq = reader.header!.sequenceHeader!;
    const s = parseSequenceHeader(splitObus(seq)[0]!.payload);
    assert.deepEqual({ profile: s.profile, bitDepth: s.bitDepth, monochrome: s.monochrome, sx: s.subsamplingX, sy: s.subsamplingY }, { profile: 0, bitDepth: 8, monochrome: false, sx: 1, sy: 1 });

    const init = new WebmWriter(reader.header!).init;
    const at = init.indexOf(Buffer.from([0x63, 0xa2]));
    assert.ok(at > 0, 'a CodecPrivate element');
    assert.ok(init.includes(Buffer.from('V_AV1')));
    const size = init[at + 2]! & 0x7f; // one-byte EBML size: the record is short
    const av1c = init.subarray(at + 3, at + 3 + size);
    assert.equal(av1c[0], 0x81, 'av1C marker and version 1');
    assert.equal(av1c[1], (s.profile << 5) | s.level);
    assert.equal(av1c[2], (s.tier << 7) | 0b00001100 | s.chromaSamplePosition, '8-bit 4:2:0');
    assert.ok(av1c.subarray(4).equals(seq), 'the sequence header OBU follows the four bytes');
  });
});
