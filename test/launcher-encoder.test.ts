import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { resolveFfmpeg } from '../src/adapters/media/ffmpeg-locator.ts';
import type { VideoCodec } from '../src/launcher/ivf-reader.ts';
import type { IvfFrame } from '../src/launcher/ivf-reader.ts';
import { encoderArgs, ScreenCapture } from '../src/launcher/screen-capture.ts';
import { tempDir } from './helpers/stores.ts';
import { startXvfb, until } from './helpers/xvfb.ts';

const run = promisify(execFile);

/**
 * The launcher's encoder settings with real ffmpeg/libvpx: a screen of text scrolled by one line
 * must be coded as motion (a copy of the previous frame shifted up), not as new text. VP8's
 * realtime mode never finds the shift, and libvpx falls back to it silently when the deadline is
 * not longer than a frame's duration (as `-deadline good` is at 1 fps): then the scrolled frame
 * costs about a third of the keyframe instead of a tenth.
 */
describe('screen encoder settings', () => {
  const cases: Array<{ codec: VideoCodec; fps: number }> = [
    { codec: 'vp8', fps: 1 },
    { codec: 'vp8', fps: 0.5 },
    { codec: 'vp9', fps: 1 },
    // libaom without tune-content=screen codes each scrolled frame anew (about the keyframe's size).
    { codec: 'av1', fps: 1 },
  ];
  for (const { codec, fps } of cases) {
    it(`${codec} at ${fps} fps codes a one-line scroll of text as motion`, async () => {
      const { ffmpeg, major } = await resolveFfmpeg(process.env.VIGIL_FFMPEG || undefined);
      const font = (await run('fc-match', ['-f', '%{file}', 'monospace'])).stdout.trim();
      assert.ok(font && fs.existsSync(font), 'a monospace font (fontconfig) draws the test text');
      const dir = tempDir('vigil-encoder-');
      try {
        const text = path.join(dir.dir, 'text.txt');
        // Like `ls -l` output: lines that differ, so only the shift predicts the next frame.
        const lines = Array.from({ length: 90 }, (_, i) => `drwxr-xr-x ${(i * 7919) % 100} root root ${(i * 104729) % 65536} May  9 2026 ${['lib', 'share', 'bin', 'include', 'src'][i % 5]}-${i}${'x'.repeat(i % 17)}`);
        fs.writeFileSync(text, lines.join('\n'));
        const out = path.join(dir.dir, 'out.ivf');
        // A tall page of white-on-black text, shown through a 960×540 window that scrolls down
        // 22 pixels (one line) each frame, at the capture's frame rate and time stamps.
        const graph = `color=c=black:s=960x1800:r=${fps},drawtext=fontfile=${font}:textfile=${text}:fontcolor=white:fontsize=15:line_spacing=5:x=4:y=4,trim=end_frame=1,loop=loop=3:size=1:start=0,crop=960:540:0:'n*22',setpts=N/FRAME_RATE/TB,format=yuv420p`;
        await run(ffmpeg, [
          '-hide_banner', '-loglevel', 'error', '-nostdin', '-f', 'lavfi', '-i', graph, '-frames:v', '3',
          ...(major >= 5 ? ['-fps_mode', 'vfr'] : ['-vsync', 'vfr']), ...encoderArgs(codec, fps), '-g', '100000', '-f', 'ivf', '-y', out,
        ]);
        const { stdout } = await run('ffprobe', ['-v', 'error', '-show_entries', 'packet=size,flags', '-of', 'csv=p=0', out]);
        const packets = stdout.trim().split('\n').map((l) => ({ size: Number(l.split(',')[0]), key: l.split(',')[1]!.startsWith('K') }));
        assert.equal(packets.length, 3);
        assert.deepEqual(packets.map((p) => p.key), [true, false, false]);
        const key = packets[0]!.size;
        for (const p of packets.slice(1)) {
          assert.ok(p.size < key * 0.15, `a scrolled frame costs ${p.size} bytes, the keyframe ${key}: the scroll was coded as new text`);
        }
      } finally {
        dir.remove();
      }
    });
  }
});

/**
 * Keyframes are counted in encoded frames, not seconds: the real capture graph (x11grab,
 * mpdecimate, AV1) on an Xvfb display whose background changes every half second, with a still
 * pause between; every third frame is key whatever the pause.
 */
describe('screen capture keyframes', () => {
  it('forces a keyframe after each N changed frames; a still screen adds none', async () => {
    const binaries = await resolveFfmpeg(process.env.VIGIL_FFMPEG || undefined);
    const x = await startXvfb({ size: '320x240', windowManager: false });
    const frames: IvfFrame[] = [];
    let exit: string | null = null;
    const capture = new ScreenCapture(binaries, { width: 320, height: 240 }, { display: x.display, codec: 'av1', fps: 4, keyframeFrames: 3 }, {
      header: () => undefined,
      frame: (f) => frames.push(f),
      change: () => undefined,
      exit: (code, stderr) => (exit = `${code} ${stderr}`),
    });
    try {
      capture.start();
      await until('the first frame', () => frames.length > 0);
      const colours = ['red', 'green', 'blue', 'yellow', 'cyan', 'magenta', 'white', 'gray', 'orange', 'purple'];
      for (const [i, c] of colours.entries()) {
        if (i === 5) await new Promise((r) => setTimeout(r, 2500)); // still: no frames, no keyframe due
        await x.x('xsetroot', ['-solid', c]);
        await new Promise((r) => setTimeout(r, 500));
      }
      await until('the last colour', () => frames.length >= colours.length + 1, 5000).catch(() => null);
      assert.equal(exit, null, 'ffmpeg still running');
      assert.ok(frames.length >= colours.length + 1, `a frame per change: ${frames.length}`);
      assert.deepEqual(frames.map((f) => f.keyframe), frames.map((_, i) => i % 3 === 0));
    } finally {
      await capture.stop();
      await x.stop();
    }
  });
});
