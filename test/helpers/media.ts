import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { IvfReader, type VideoCodec } from '../../src/launcher/ivf-reader.ts';
import { encoderArgs } from '../../src/launcher/screen-capture.ts';
import { WebmWriter } from '../../src/launcher/webm-writer.ts';

const run = promisify(execFile);

/** A WebM from ffmpeg's test source, written to a pipe like the launcher does (no Cues). */
export async function testWebm(seconds: number, size = '320x240'): Promise<Buffer> {
  const { stdout } = await run('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', `testsrc2=size=${size}:rate=1`, '-t', String(seconds), '-c:v', 'libvpx', '-deadline', 'realtime', '-cpu-used', '8', '-b:v', '200k', '-f', 'webm', 'pipe:1'], { encoding: 'buffer', maxBuffer: 64 * 1024 * 1024 });
  return stdout;
}

/**
 * A WebM as the desktop launcher writes it (its IVF reader and WebM writer over its own encoder
 * settings): `seconds` frames of a test pattern at 1 fps, a keyframe first.
 */
export async function launcherWebm(codec: VideoCodec, seconds: number, size = '320x240'): Promise<Buffer> {
  const { stdout } = await run('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', `testsrc2=size=${size}:rate=1`, '-frames:v', String(seconds), '-pix_fmt', 'yuv420p', ...encoderArgs(codec), '-g', '100000', '-f', 'ivf', 'pipe:1'], { encoding: 'buffer', maxBuffer: 64 * 1024 * 1024 });
  const reader = new IvfReader();
  const frames = reader.push(stdout);
  const writer = new WebmWriter(reader.header!);
  return Buffer.concat([writer.init, ...frames.map((f) => writer.frame(f.ptsMs, f.keyframe, f.data))]);
}

export async function ffprobeDuration(file: string): Promise<number> {
  const { stdout } = await run('ffprobe', ['-v', 'error', '-show_entries', 'format=duration', '-of', 'csv=p=0', file]);
  return Number(stdout.trim());
}

export async function ffprobeCodec(file: string): Promise<string> {
  const { stdout } = await run('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=codec_name', '-of', 'csv=p=0', file]);
  return stdout.trim();
}

/** Splits bytes into n pieces at arbitrary boundaries. */
export function split(data: Buffer, n: number): Buffer[] {
  const size = Math.ceil(data.length / n);
  const out: Buffer[] = [];
  for (let i = 0; i < data.length; i += size) out.push(data.subarray(i, i + size));
  return out;
}

/** An asciicast v2 recording of a short shell session, as the proxy would write it. */
export function testCast(): { text: string; events: Array<[number, string, string]> } {
  const header = { version: 2, width: 80, height: 24, timestamp: 1_700_000_000, env: { TERM: 'xterm-256color', SHELL: '/bin/bash' } };
  const events: Array<[number, string, string]> = [
    [0.5, 'o', 'root@web01:~# '],
    [5.0, 'i', 'rm -rf /var/tmp/x\r'],
    [5.01, 'o', 'rm -rf /var/tmp/x\r\n'],
    [5.2, 'o', 'root@web01:~# '],
    [7.0, 'i', 'sudo passwd bob\r'],
    [7.1, 'o', 'New password: '],
    [9.0, 'r', '100x30'],
    [10.0, 'o', 'passwd: password updated successfully\r\nroot@web01:~# '],
  ];
  return { text: [JSON.stringify(header), ...events.map((e) => JSON.stringify(e))].join('\n') + '\n', events };
}
