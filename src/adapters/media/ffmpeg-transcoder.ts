import type { MediaInfo, ToMp4Options, Transcoder } from '../../core/recording/transcoder.ts';
import { FfmpegProcesses } from './ffmpeg-process.ts';
import { passthroughArgs, resolveFfmpeg, type FfmpegBinaries } from './ffmpeg-locator.ts';

export interface FfmpegTranscoderOptions {
  /** x264 preset (default `veryfast`). */
  preset?: string;
  /** x264 tune, e.g. `stillimage` (default none). */
  tune?: string;
  /** Encoder threads (default: ffmpeg's choice, all cores). */
  threads?: number;
}

const QUIET = ['-hide_banner', '-nostdin', '-loglevel', 'error', '-y'];

/**
 * The Transcoder on an ffmpeg child process per call (spawned without a shell). Progress comes
 * from `-progress pipe:1`; `close()` kills running children at shutdown.
 */
export class FfmpegTranscoder implements Transcoder {
  private readonly procs = new FfmpegProcesses();

  constructor(
    readonly binaries: Pick<FfmpegBinaries, 'ffmpeg' | 'ffprobe' | 'major'>,
    private readonly opts: FfmpegTranscoderOptions = {},
  ) {}

  /** Resolves the binary (VIGIL_FFMPEG, system, packaged) and builds the transcoder. */
  static async create(configured: string | undefined, opts?: FfmpegTranscoderOptions): Promise<FfmpegTranscoder> {
    return new FfmpegTranscoder(await resolveFfmpeg(configured), opts);
  }

  async remuxWebm(input: string, output: string): Promise<{ durationMs: number }> {
    // Writing to a seekable file makes the muxer add Cues and the duration; 5.x can put the Cues
    // up front so a player seeking over HTTP needs no extra range request to the end.
    const front = this.binaries.major >= 5 ? ['-cues_to_front', '1'] : [];
    await this.procs.run(this.binaries.ffmpeg, [...QUIET, '-i', input, '-map', '0', '-c', 'copy', ...front, '-f', 'webm', output]);
    return { durationMs: (await this.probe(output)).durationMs };
  }

  async toMp4(input: string, output: string, opts: ToMp4Options): Promise<{ durationMs: number }> {
    const { durationMs: inputMs } = await this.probe(input);
    const x264 = [
      '-c:v', 'libx264', '-preset', this.opts.preset ?? 'veryfast',
      ...(this.opts.tune ? ['-tune', this.opts.tune] : []),
      ...(this.opts.threads ? ['-threads', String(this.opts.threads)] : []),
    ];
    const args = [
      ...QUIET, '-i', input, '-map', '0:v:0',
      // H.264 in yuv420p needs even dimensions: crop the odd pixel rather than rescale.
      '-vf', 'crop=trunc(iw/2)*2:trunc(ih/2)*2', '-pix_fmt', 'yuv420p', ...x264,
      // Screen video is variable frame rate (unchanged frames dropped): keep it, never duplicate.
      ...passthroughArgs(this.binaries.major),
      '-movflags', '+faststart', '-progress', 'pipe:1', '-nostats', '-f', 'mp4', output,
    ];
    await this.procs.run(this.binaries.ffmpeg, args, {
      signal: opts.signal,
      onProgress: (outUs, end) => {
        if (end) opts.onProgress(1);
        else if (inputMs > 0) opts.onProgress(Math.min(1, Math.max(0, outUs / 1000 / inputMs)));
      },
    });
    return { durationMs: (await this.probe(output)).durationMs };
  }

  async probe(file: string): Promise<MediaInfo> {
    const info = this.binaries.ffprobe ? await this.ffprobe(this.binaries.ffprobe, file) : await this.ffmpegInfo(file);
    if (info.durationMs === null) info.durationMs = await this.scanDuration(file);
    return info as MediaInfo;
  }

  /** Kills running conversions (shutdown); later calls reject. */
  close(): Promise<void> {
    return this.procs.close();
  }

  private async ffprobe(bin: string, file: string): Promise<Omit<MediaInfo, 'durationMs'> & { durationMs: number | null }> {
    const out = await this.procs.run(bin, ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=codec_name,width,height:format=duration', '-of', 'json', file]);
    const json = JSON.parse(out.stdout) as { streams?: Array<{ codec_name?: string; width?: number; height?: number }>; format?: { duration?: string } };
    const stream = json.streams?.[0];
    if (!stream?.codec_name) throw new Error(`${file}: no video stream`);
    const seconds = Number(json.format?.duration);
    return { codec: stream.codec_name, width: stream.width ?? 0, height: stream.height ?? 0, durationMs: Number.isFinite(seconds) ? Math.round(seconds * 1000) : null };
  }

  /** Without ffprobe (the packaged fallback): the header summary `ffmpeg -i` prints. */
  private async ffmpegInfo(file: string): Promise<Omit<MediaInfo, 'durationMs'> & { durationMs: number | null }> {
    // With no output file ffmpeg exits 1 after printing the summary; only the summary matters.
    const out = await this.procs.run(this.binaries.ffmpeg, ['-hide_banner', '-nostdin', '-i', file], { allowFailure: true });
    const video = /Stream #\d+:\d+.*?: Video: (\w+)[^\n]*?, (\d+)x(\d+)/.exec(out.stderr);
    if (!video) throw new Error(`${file}: ${lastLine(out.stderr) || 'no video stream'}`);
    const d = /Duration: (\d+):(\d+):(\d+(?:\.\d+)?)/.exec(out.stderr);
    const durationMs = d ? Math.round((Number(d[1]) * 3600 + Number(d[2]) * 60 + Number(d[3])) * 1000) : null;
    return { codec: video[1]!, width: Number(video[2]), height: Number(video[3]), durationMs };
  }

  /** No duration in the header (a WebM written to a pipe): read the packets through to the end. */
  private async scanDuration(file: string): Promise<number> {
    let lastUs = 0;
    await this.procs.run(this.binaries.ffmpeg, [...QUIET, '-i', file, '-map', '0:v:0', '-c', 'copy', '-f', 'null', '-progress', 'pipe:1', '-nostats', '-'], {
      onProgress: (outUs) => {
        lastUs = Math.max(lastUs, outUs);
      },
    });
    return Math.round(lastUs / 1000);
  }
}

function lastLine(text: string): string {
  return text.trim().split('\n').pop()?.trim() ?? '';
}
