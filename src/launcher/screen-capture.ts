import { spawn, type ChildProcess } from 'node:child_process';
import { resolveFfmpeg, type FfmpegBinaries } from '../adapters/media/ffmpeg-locator.ts';
import { EXIT, LauncherError } from './errors.ts';
import { IvfReader, type IvfFrame, type IvfHeader, type VideoCodec } from './ivf-reader.ts';
import { runText, type Rect } from './x11.ts';

export interface CaptureOptions {
  display: string;
  codec: VideoCodec;
  /** Frames per second grabbed (default 1). */
  fps: number;
  /** Encoded frames between keyframes (default KEYFRAME_FRAMES); unchanged seconds are not frames. */
  keyframeFrames?: number;
}

/**
 * Encoded frames from one keyframe to the next. A keyframe of a screen full of text costs
 * 40–60 KB, so they are rationed by what a viewer joining live or a seek must decode (every frame
 * since the last keyframe: 2.3–3.1 ms each for 1080p AV1 with dav1d, 1.5–2 s for 600), not by
 * time: an idle screen makes no frames and needs no new keyframe.
 */
export const KEYFRAME_FRAMES = 600;

export interface Screen {
  width: number;
  height: number;
}

/** ffmpeg and the display, checked before anything is launched. Throws a LauncherError (exit 5). */
export async function checkCapture(display: string | undefined): Promise<{ ffmpeg: FfmpegBinaries; display: string; screen: Screen }> {
  if (!display) throw new LauncherError(EXIT.captureImpossible, 'cannot record the screen: no X display (DISPLAY is not set)');
  let ffmpeg: FfmpegBinaries;
  try {
    ffmpeg = await resolveFfmpeg(process.env.VIGIL_FFMPEG || undefined);
  } catch (err) {
    throw new LauncherError(EXIT.captureImpossible, `cannot record the screen: ${err instanceof Error ? err.message : String(err)}`);
  }
  const devices = await runText(ffmpeg.ffmpeg, ['-hide_banner', '-devices']).catch(() => '');
  if (!/\bx11grab\b/.test(devices)) throw new LauncherError(EXIT.captureImpossible, `cannot record the screen: ${ffmpeg.ffmpeg} has no x11grab input device`);
  const screen = await screenSize(display);
  return { ffmpeg, display, screen };
}

/** The root window's size, which also proves the display can be opened. */
export async function screenSize(display: string): Promise<Screen> {
  let text: string;
  try {
    text = await runText('xwininfo', ['-root'], { DISPLAY: display });
  } catch (err) {
    throw new LauncherError(EXIT.captureImpossible, `cannot record the screen: X display ${display} cannot be opened (${err instanceof Error ? err.message.split('\n')[0] : String(err)})`);
  }
  const w = /Width:\s*(\d+)/.exec(text)?.[1];
  const h = /Height:\s*(\d+)/.exec(text)?.[1];
  if (!w || !h) throw new LauncherError(EXIT.captureImpossible, `cannot record the screen: cannot read the size of display ${display}`);
  return { width: Number(w) & ~1, height: Number(h) & ~1 };
}

/**
 * libvpx settings for a screen at `fps` frames per second. A fixed, fairly fine quantiser keeps
 * text legible (PSNR ≈ 45 dB on terminal text) where a target bitrate would make libvpx spend
 * every second's budget re-refining unchanged areas; blocks that barely changed are skipped
 * (static-thresh); no look-ahead, so a frame leaves the encoder as soon as it is grabbed.
 *
 * What costs bytes on a desktop is scrolled text (every Enter with output scrolls a terminal):
 * the encoder must find the vertical shift, or it codes the whole window anew (40–90 KB a frame
 * at 1080p). Measured on real captures (docs/PERFORMANCE.md):
 * - VP8 realtime never finds it, at any -cpu-used. Its good-quality mode does (a scroll: 2–10 KB),
 *   at about the CPU of realtime with -cpu-used 2. libvpx picks that mode only when the deadline
 *   exceeds the frame's duration — `-deadline good` is 1 s, so at 1 fps it silently falls back
 *   to realtime — hence a deadline of ten frame intervals.
 * - VP9 realtime finds scrolls with `-tune-content screen` from -cpu-used 5 on (4 and below, or
 *   without the screen tuning, it does not).
 * - AV1 (libaom realtime, -cpu-used 7) with `tune-content=screen`: screen-content tools (palette,
 *   intra block copy) code glyphs far more cheaply than a DCT and the screen motion search finds
 *   scrolls; without the tuning a scroll costs over half a keyframe. Same fixed q 30. Speed 7
 *   against 8: −12 % bytes typing at +0.4 dB and the same CPU (speeds 5–7 give the same stream);
 *   without order hints (no temporal MV projection or distance-weighted compound, which a screen
 *   at 1 fps does not gain from; fewer header bits) −4 % more at the same PSNR. The good-quality mode would save 24–57 % more but costs ≈ 55 ms a frame even for an unchanged
 *   screen (≈ 20 ms here), over the CPU budget while text scrolls every second.
 */
export function encoderArgs(codec: VideoCodec, fps = 1): string[] {
  const quality = ['-lag-in-frames', '0', '-b:v', '100k', '-qmin', '30', '-qmax', '30'];
  switch (codec) {
    case 'av1':
      return ['-c:v', 'libaom-av1', '-usage', 'realtime', '-cpu-used', '7', '-aq-mode', '0', '-aom-params', 'tune-content=screen:enable-order-hint=0', ...quality];
    case 'vp9':
      return ['-c:v', 'libvpx-vp9', '-deadline', 'realtime', '-cpu-used', '5', '-row-mt', '1', '-tune-content', 'screen', '-aq-mode', '0', ...quality, '-static-thresh', '500'];
    case 'vp8':
      return ['-c:v', 'libvpx', '-deadline', String(Math.ceil(10_000_000 / fps)), '-cpu-used', '2', '-auto-alt-ref', '0', ...quality, '-static-thresh', '500'];
  }
}

const vfr = (major: number): string[] => (major >= 5 ? ['-fps_mode', 'vfr'] : ['-vsync', 'vfr']);
const passthrough = (major: number): string[] => (major >= 5 ? ['-fps_mode', 'passthrough'] : ['-vsync', 'passthrough']);

/**
 * The screen recorder: one ffmpeg grabbing the display at `fps`, dropping unchanged frames
 * (mpdecimate, so the video is variable frame rate) and encoding the rest in real time to IVF on
 * stdout; a second output of the same grab, a quarter-size grey picture on fd 3, gives the changed
 * fraction of the screen each second.
 */
export class ScreenCapture {
  private proc: ChildProcess | null = null;
  private readonly ivf = new IvfReader();
  private gray: { size: number; width: number; buf: Buffer; prev: Buffer | null } | null = null;
  private exited: Promise<number | null> = Promise.resolve(null);
  stderr = '';
  /** Local time (ms) when the first encoded frame arrived. */
  firstFrameAt: number | null = null;

  constructor(
    private readonly binaries: FfmpegBinaries,
    private readonly screen: Screen,
    private readonly opts: CaptureOptions,
    private readonly sink: {
      header(h: IvfHeader): void;
      frame(f: IvfFrame, localMs: number): void;
      /**
       * Called for every grabbed frame: `fraction` of the screen changed; `outside`: the share
       * outside the masked areas, and `where` they are (their bounding box, screen pixels).
       */
      change(fraction: number, outside: number, where?: Rect): void;
      /** Areas (screen pixels) whose changes `change` counts apart: the launcher's own dialogs. */
      mask?(): Rect[];
      exit(code: number | null, stderr: string): void;
    },
  ) {}

  start(): void {
    const { width, height } = this.screen;
    const qw = Math.max(2, Math.floor(width / 4));
    const qh = Math.max(2, Math.floor(height / 4));
    const key = Math.max(1, Math.round(this.opts.keyframeFrames ?? KEYFRAME_FRAMES));
    const args = [
      '-hide_banner', '-loglevel', 'error', '-nostdin',
      '-f', 'x11grab', '-framerate', String(this.opts.fps), '-video_size', `${width}x${height}`, '-i', `${this.opts.display}+0,0`,
      // The colour conversion once, first (both outputs need it), and one thread each for the
      // filters and the encoder: at 1 fps there is nothing to parallelise, only threads to wake
      // (idle ffmpeg measured ≈ 3.6 → 3.1 % of a core offline).
      '-filter_complex_threads', '1',
      '-filter_complex', `[0:v]format=yuv420p,split[a][b];[a]mpdecimate[v];[b]scale=${qw}:${qh}:flags=area,format=gray[g]`,
      '-map', '[v]', ...vfr(this.binaries.major), ...encoderArgs(this.opts.codec, this.opts.fps), '-threads', '1',
      // A keyframe at the start, then after each `key` encoded (changed) frames; the encoder's own
      // interval is off.
      '-g', '100000', '-force_key_frames', `expr:if(isnan(prev_forced_n),eq(n,0),gte(n-prev_forced_n,${key}))`,
      '-flush_packets', '1', '-f', 'ivf', 'pipe:1',
      '-map', '[g]', ...passthrough(this.binaries.major), '-f', 'rawvideo', 'pipe:3',
    ];
    // Its own process group: Ctrl-C in the user's terminal reaches the launcher, which ends the
    // session in order, not ffmpeg directly.
    const proc = spawn(this.binaries.ffmpeg, args, { stdio: ['ignore', 'pipe', 'pipe', 'pipe'], detached: true });
    this.proc = proc;
    this.gray = { size: qw * qh, width: qw, buf: Buffer.alloc(0), prev: null };
    proc.stdout!.on('data', (d: Buffer) => {
      const frames = this.ivf.push(d);
      if (this.ivf.header && frames.length > 0 && this.firstFrameAt === null) {
        this.firstFrameAt = Date.now();
        this.sink.header(this.ivf.header);
      }
      for (const f of frames) this.sink.frame(f, Date.now());
    });
    (proc.stdio[3] as NodeJS.ReadableStream).on('data', (d: Buffer) => this.onGray(d));
    proc.stderr!.on('data', (d: Buffer) => {
      this.stderr = (this.stderr + d.toString()).slice(-4000);
    });
    this.exited = new Promise((resolve) => {
      proc.on('exit', (code) => {
        this.sink.exit(code, this.stderr);
        resolve(code);
      });
      proc.on('error', (err) => {
        this.stderr += err.message;
        resolve(null);
      });
    });
  }

  private onGray(d: Buffer): void {
    const g = this.gray!;
    g.buf = g.buf.length === 0 ? d : Buffer.concat([g.buf, d]);
    while (g.buf.length >= g.size) {
      const frame = Buffer.from(g.buf.subarray(0, g.size));
      g.buf = g.buf.subarray(g.size);
      if (g.prev) {
        const all = changedArea(g.prev, frame, g.width);
        const mask = all.fraction > 0 ? (this.sink.mask?.() ?? []) : [];
        const outside = mask.length > 0 ? changedArea(g.prev, frame, g.width, this.quarterMask(mask, g.width)) : all;
        this.sink.change(all.fraction, outside.fraction, outside.box);
      }
      g.prev = frame;
    }
  }

  /** `rects` on the quarter-size grey picture: 1 for each pixel inside one. */
  private quarterMask(rects: Rect[], width: number): Uint8Array {
    const g = this.gray!;
    const m = new Uint8Array(g.size);
    const height = g.size / width;
    for (const r of rects) {
      const x0 = Math.max(0, Math.floor(r.x / 4)), x1 = Math.min(width, Math.ceil((r.x + r.width) / 4));
      const y0 = Math.max(0, Math.floor(r.y / 4)), y1 = Math.min(height, Math.ceil((r.y + r.height) / 4));
      for (let y = y0; y < y1; y++) m.fill(1, y * width + x0, y * width + Math.max(x0, x1));
    }
    return m;
  }

  /** Stops grabbing; resolves when ffmpeg has written its last frame. */
  async stop(): Promise<void> {
    const p = this.proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) return this.exited.then(() => undefined);
    // Every encoded frame is already out (no look-ahead, IVF flushed per packet) and a grab at
    // 1 fps would keep ffmpeg up to a second in its sleep: end it now. A frame cut short in the
    // pipe is dropped by the reader; the final keyframe (grabKeyframe) shows the end.
    p.kill('SIGKILL');
    await this.exited;
  }

  get running(): boolean {
    return !!this.proc && this.proc.exitCode === null && this.proc.signalCode === null;
  }
}

/**
 * What changed between two quarter-size grey pictures `width` pixels wide, outside `masked`: the
 * share of pixels whose brightness moved by more than a little, and the bounding box of those
 * pixels in screen pixels (undefined when none did). One pass for both.
 */
export function changedArea(a: Buffer, b: Buffer, width: number, masked?: Uint8Array): { fraction: number; box?: Rect } {
  let changed = 0;
  let x0 = Infinity, y0 = Infinity, x1 = -1, y1 = -1;
  for (let i = 0; i < a.length; i++) {
    if (masked?.[i]) continue;
    const d = a[i]! - b[i]!;
    if (d <= 6 && d >= -6) continue;
    changed++;
    const x = i % width, y = (i - x) / width;
    if (x < x0) x0 = x;
    if (x > x1) x1 = x;
    if (y < y0) y0 = y;
    if (y > y1) y1 = y;
  }
  const fraction = a.length === 0 ? 0 : changed / a.length;
  return x1 < 0 ? { fraction } : { fraction, box: { x: x0 * 4, y: y0 * 4, width: (x1 - x0 + 1) * 4, height: (y1 - y0 + 1) * 4 } };
}

/**
 * One keyframe of the screen as it is now, encoded like the recording: the last frame of a
 * session, so the video lasts until the session's real end even when the screen sat still.
 */
export async function grabKeyframe(binaries: FfmpegBinaries, screen: Screen, display: string, codec: VideoCodec): Promise<IvfFrame | null> {
  const args = [
    '-hide_banner', '-loglevel', 'error', '-nostdin',
    '-f', 'x11grab', '-framerate', '1', '-video_size', `${screen.width}x${screen.height}`, '-i', `${display}+0,0`,
    '-frames:v', '1', '-vf', 'format=yuv420p', ...encoderArgs(codec), '-f', 'ivf', 'pipe:1',
  ];
  return new Promise((resolve) => {
    const proc = spawn(binaries.ffmpeg, args, { stdio: ['ignore', 'pipe', 'ignore'] });
    const reader = new IvfReader();
    const frames: IvfFrame[] = [];
    proc.stdout.on('data', (d: Buffer) => frames.push(...reader.push(d)));
    const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
    proc.on('error', () => resolve(null));
    proc.on('close', () => {
      clearTimeout(timer);
      resolve(frames.find((f) => f.keyframe) ?? null);
    });
  });
}
