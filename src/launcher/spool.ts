import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export function defaultSpoolRoot(env: NodeJS.ProcessEnv = process.env): string {
  if (env.VIGIL_SPOOL_DIR) return env.VIGIL_SPOOL_DIR;
  const base = env.XDG_STATE_HOME && path.isAbsolute(env.XDG_STATE_HOME) ? env.XDG_STATE_HOME : path.join(env.HOME ?? os.homedir(), '.local', 'state');
  return path.join(base, 'vigil', 'spool');
}

/**
 * The local spool of one session's video: every chunk is written and fsynced here before it is
 * sent, and removed only once the server has acknowledged it (the server's ack means durable).
 * A launcher that crashes leaves the directory behind; nothing in it is lost.
 */
export class ChunkSpool {
  readonly dir: string;
  private nextSeq = 0;
  /** Spooled and not yet acknowledged, in order. */
  private readonly pending: number[] = [];
  bytesWritten = 0;

  constructor(root: string, sessionId: string) {
    this.dir = path.join(root, sessionId);
    fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
  }

  private file(seq: number): string {
    return path.join(this.dir, `${String(seq).padStart(8, '0')}.chunk`);
  }

  /** Writes the next chunk durably and returns its sequence number. */
  append(data: Buffer): number {
    const seq = this.nextSeq++;
    const tmp = this.file(seq) + '.tmp';
    const fd = fs.openSync(tmp, 'w', 0o600);
    try {
      fs.writeSync(fd, data);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, this.file(seq));
    this.pending.push(seq);
    this.bytesWritten += data.length;
    return seq;
  }

  /** The oldest chunk not yet acknowledged. */
  first(): { seq: number; data: Buffer } | null {
    const seq = this.pending[0];
    if (seq === undefined) return null;
    return { seq, data: fs.readFileSync(this.file(seq)) };
  }

  acknowledge(seq: number): void {
    const i = this.pending.indexOf(seq);
    if (i >= 0) this.pending.splice(i, 1);
    fs.rmSync(this.file(seq), { force: true });
  }

  get size(): number {
    return this.pending.length;
  }

  get count(): number {
    return this.nextSeq;
  }

  /** Removes the directory once everything was acknowledged. */
  removeIfEmpty(): void {
    if (this.pending.length === 0) fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
