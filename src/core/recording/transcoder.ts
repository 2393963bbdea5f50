/**
 * The Transcoder port: what video processing needs from ffmpeg. Paths are local files; the
 * adapter runs one child process per call and rejects with a one-line reason when it fails.
 */
export interface MediaInfo {
  durationMs: number;
  /** ffmpeg's codec name of the first video stream: vp8, vp9, h264… */
  codec: string;
  width: number;
  height: number;
}

export interface ToMp4Options {
  /** 0..1 against the input's duration; called often, the caller throttles. */
  onProgress(fraction: number): void;
  /** Aborting kills the conversion; the promise then rejects. */
  signal?: AbortSignal;
}

export interface Transcoder {
  /** Rewrites a WebM as written to a pipe (no Cues, unknown length) into a seekable one, without re-encoding. */
  remuxWebm(input: string, output: string): Promise<{ durationMs: number }>;
  /** H.264/MP4 for players and downloads: variable frame rate kept, `+faststart`. */
  toMp4(input: string, output: string, opts: ToMp4Options): Promise<{ durationMs: number }>;
  probe(path: string): Promise<MediaInfo>;
}
