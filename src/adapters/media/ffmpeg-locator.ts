import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { ConfigError } from '../../config.ts';

export interface FfmpegBinaries {
  ffmpeg: string;
  /** ffprobe next to (or, for the system ffmpeg, on PATH like) ffmpeg; the packaged fallback has none. */
  ffprobe: string | null;
  source: 'config' | 'system' | 'packaged';
  /** As ffmpeg reports it, e.g. `5.1.9-0+deb12u1` or a git describe for static builds. */
  version: string;
  /** Major release: 5 and later take `-fps_mode`, 4.x only `-vsync`. */
  major: number;
}

/**
 * Finds the ffmpeg to use: `VIGIL_FFMPEG` when set (an error naming it if that binary does not
 * run), else `ffmpeg` on PATH, else the static binary of the `@ffmpeg-installer/ffmpeg` package,
 * so a server runs on a machine without ffmpeg installed.
 */
export async function resolveFfmpeg(configured: string | undefined, env: NodeJS.ProcessEnv = process.env): Promise<FfmpegBinaries> {
  if (configured !== undefined) {
    let version: { version: string; major: number };
    try {
      version = await readVersion(configured);
    } catch (err) {
      throw new ConfigError('VIGIL_FFMPEG', `(${configured}) does not run: ${reason(err)}`);
    }
    const probe = path.join(path.dirname(configured), 'ffprobe');
    return { ffmpeg: configured, ffprobe: path.isAbsolute(configured) && (await runs(probe)) ? probe : null, source: 'config', ...version };
  }

  const system = await onPath('ffmpeg', env);
  if (system) {
    try {
      const version = await readVersion(system);
      const probe = await onPath('ffprobe', env);
      return { ffmpeg: system, ffprobe: probe && (await runs(probe)) ? probe : null, source: 'system', ...version };
    } catch {
      // A broken system ffmpeg: fall through to the packaged one.
    }
  }

  const packaged = packagedPath();
  if (packaged) {
    try {
      return { ffmpeg: packaged, ffprobe: null, source: 'packaged', ...(await readVersion(packaged)) };
    } catch (err) {
      throw new Error(`no usable ffmpeg: none on PATH, and the packaged ${packaged} does not run (${reason(err)}); install ffmpeg (apt-get install ffmpeg), set VIGIL_FFMPEG, or allow the package's install script (npm install-scripts approve @ffmpeg-installer/${process.platform}-${process.arch})`, { cause: err });
    }
  }
  throw new Error('no ffmpeg found: install ffmpeg (apt-get install ffmpeg), set VIGIL_FFMPEG to its path, or npm install @ffmpeg-installer/ffmpeg');
}

/** `-fps_mode passthrough` (5.x and later) or `-vsync passthrough` (4.x): keep variable frame rate. */
export function passthroughArgs(major: number): string[] {
  return major >= 5 ? ['-fps_mode', 'passthrough'] : ['-vsync', 'passthrough'];
}

/** Parses `ffmpeg -version`: the release number, else (git builds) the libavutil major it ships. */
export function parseVersion(text: string): { version: string; major: number } {
  const version = /ffmpeg version (\S+)/.exec(text)?.[1];
  if (!version) throw new Error('not an ffmpeg binary (no "ffmpeg version" line)');
  const release = /^n?(\d+)\.\d+/.exec(version);
  if (release) return { version, major: Number(release[1]) };
  // libavutil 56 shipped with ffmpeg 4.x, 57 with 5.x, 58 with 6.x, 59 with 7.x.
  const lavu = /libavutil\s+(\d+)\./.exec(text);
  if (lavu) return { version, major: Number(lavu[1]) - 52 };
  throw new Error(`cannot tell the release of ffmpeg ${version}`);
}

async function readVersion(bin: string): Promise<{ version: string; major: number }> {
  return parseVersion(await run(bin, ['-hide_banner', '-version']).catch(() => run(bin, ['-version'])));
}

function run(bin: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(bin, args, { timeout: 10_000, maxBuffer: 1 << 20 }, (err, stdout) => (err ? reject(err) : resolve(stdout)));
  });
}

async function runs(bin: string): Promise<boolean> {
  try {
    await run(bin, ['-version']);
    return true;
  } catch {
    return false;
  }
}

async function onPath(name: string, env: NodeJS.ProcessEnv): Promise<string | null> {
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const file = path.join(dir, name);
    try {
      await fs.access(file, fs.constants.X_OK);
      if ((await fs.stat(file)).isFile()) return file;
    } catch {
      // not here
    }
  }
  return null;
}

function packagedPath(): string | null {
  try {
    const installer = createRequire(import.meta.url)('@ffmpeg-installer/ffmpeg') as { path: string };
    return installer.path;
  } catch {
    // Not installed, or no binary for this platform (the package throws a string then).
    return null;
  }
}

function reason(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  if (e?.code === 'ENOENT') return 'no such file';
  if (e?.code === 'EACCES') return 'not executable';
  return (e instanceof Error ? e.message : String(err)).split('\n')[0]!;
}
