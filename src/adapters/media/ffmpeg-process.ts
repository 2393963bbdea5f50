import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';

export interface RunOptions {
  signal?: AbortSignal;
  /** Parses stdout as `-progress pipe:1` blocks: the output time in µs, and `end` on the last one. */
  onProgress?(outUs: number, end: boolean): void;
  /** Resolve on a non-zero exit too (for `ffmpeg -i file`, which exits 1 after its summary). */
  allowFailure?: boolean;
}

export interface RunResult {
  stdout: string;
  stderr: string;
  code: number | null;
}

const STDERR_TAIL = 16 * 1024;

/**
 * Runs ffmpeg/ffprobe children without a shell and keeps track of them, so an abort kills one
 * and shutdown kills all. Errors carry the last line ffmpeg wrote to stderr: a one-line reason.
 */
export class FfmpegProcesses {
  private readonly running = new Map<ChildProcess, Promise<unknown>>();
  private closed = false;

  run(bin: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
    const name = path.basename(bin);
    if (this.closed) return Promise.reject(new Error(`${name}: shutting down`));
    if (opts.signal?.aborted) return Promise.reject(abortError(name));
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'], windowsHide: true });
    const done = new Promise<RunResult>((resolve, reject) => {
      let stdout = '';
      let stderr = '';
      let pending = '';
      let outUs = 0;
      let aborted = false;

      const onAbort = (): void => {
        aborted = true;
        child.kill('SIGKILL');
      };
      opts.signal?.addEventListener('abort', onAbort, { once: true });

      child.stdout.setEncoding('utf8');
      child.stdout.on('data', (text: string) => {
        if (!opts.onProgress) {
          stdout += text;
          return;
        }
        pending += text;
        const lines = pending.split('\n');
        pending = lines.pop() ?? '';
        for (const line of lines) {
          const [key, value] = line.trim().split('=', 2);
          // out_time_ms is in microseconds too (a long-standing ffmpeg misnomer); 4.x lacks out_time_us.
          if (key === 'out_time_us' || key === 'out_time_ms') {
            const us = Number(value);
            if (Number.isFinite(us) && us >= 0) outUs = us;
          } else if (key === 'progress') {
            opts.onProgress(outUs, value === 'end');
          }
        }
      });
      child.stderr.setEncoding('utf8');
      child.stderr.on('data', (text: string) => {
        stderr = (stderr + text).slice(-STDERR_TAIL);
      });

      child.once('error', (err: NodeJS.ErrnoException) => {
        opts.signal?.removeEventListener('abort', onAbort);
        reject(new Error(`${name}: ${err.code === 'ENOENT' ? `${bin} not found` : err.message}`, { cause: err }));
      });
      child.once('close', (code, sig) => {
        opts.signal?.removeEventListener('abort', onAbort);
        if (aborted || (this.closed && sig)) return reject(aborted ? abortError(name) : new Error(`${name}: stopped at shutdown`));
        if (code === 0 || opts.allowFailure) return resolve({ stdout, stderr, code });
        const reason = lastLine(stderr) || (sig ? `killed by ${sig}` : `exited with code ${code}`);
        reject(new Error(`${name}: ${reason}`));
      });
    });
    const tracked = done.catch(() => undefined).finally(() => this.running.delete(child));
    this.running.set(child, tracked);
    return done;
  }

  /** Kills every running child and waits for them to exit; later runs are refused. */
  async close(): Promise<void> {
    this.closed = true;
    for (const child of this.running.keys()) child.kill('SIGKILL');
    await Promise.all(this.running.values());
  }
}

function lastLine(text: string): string {
  const lines = text.split('\n').map((l) => l.trim()).filter(Boolean);
  return (lines.pop() ?? '').slice(0, 500);
}

function abortError(name: string): Error {
  const err = new Error(`${name}: aborted`);
  err.name = 'AbortError';
  return err;
}
