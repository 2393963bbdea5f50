import { Worker } from 'node:worker_threads';
import type { CastIndex } from '../../protocol/cast-index.ts';
import { buildCastIndex, type BuiltCastIndex } from './cast-index.ts';

export type ToWorker =
  | { type: 'build'; id: number; previous: { index: CastIndex; snapshots: Uint8Array } | null }
  | { type: 'chunk'; id: number; data: Uint8Array }
  | { type: 'end'; id: number }
  | { type: 'read-failed'; id: number; message: string };

export type FromWorker =
  | { type: 'more'; id: number; start: number }
  | { type: 'done'; id: number; index: CastIndex; snapshots: Uint8Array }
  | { type: 'failed'; id: number; message: string };

type Read = (start: number) => AsyncIterable<Buffer>;

interface Job {
  id: number;
  read: Read;
  previous: BuiltCastIndex | undefined;
  it?: AsyncIterator<Buffer>;
  resolve(b: BuiltCastIndex): void;
  reject(err: unknown): void;
}

/**
 * Builds terminal recordings' seek indexes (`buildCastIndex`) on a worker thread, one at a time:
 * replaying a recording through the terminal emulator takes about a second of CPU per 10–20 MB
 * of output, which on the server's own thread would hold every live session's relay behind it
 * whenever a session with a large output ends. The recording is still read on the calling
 * thread (its store connection), a chunk at a time as the worker asks for it. If the worker
 * cannot run, the index is built on the calling thread as before.
 */
export class CastIndexWorker {
  private worker: Worker | null = null;
  private readonly queue: Job[] = [];
  private current: Job | null = null;
  private nextId = 1;
  private closed = false;
  /** Builds that ran on the calling thread because the worker failed. */
  fallbacks = 0;

  constructor(private readonly onError: (err: Error) => void = () => undefined) {}

  build(read: Read, previous?: BuiltCastIndex): Promise<BuiltCastIndex> {
    if (this.closed) return Promise.reject(new Error('the index worker is closed'));
    return new Promise((resolve, reject) => {
      this.queue.push({ id: this.nextId++, read, previous, resolve, reject });
      this.pump();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    const err = new Error('the server is stopping: the seek index is built on demand later');
    for (const job of this.queue.splice(0)) job.reject(err);
    this.current?.reject(err);
    this.current = null;
    const w = this.worker;
    this.worker = null;
    await w?.terminate();
  }

  private pump(): void {
    if (this.current || this.closed) return;
    const job = this.queue.shift();
    if (!job) return;
    this.current = job;
    const w = this.ensureWorker();
    const previous = job.previous ? { index: job.previous.index, snapshots: new Uint8Array(job.previous.snapshots) } : null;
    w.postMessage({ type: 'build', id: job.id, previous } satisfies ToWorker);
  }

  private ensureWorker(): Worker {
    if (this.worker) return this.worker;
    const entry = new URL('./cast-index.worker.ts', import.meta.url).href;
    // The sources are TypeScript: the worker registers tsx's loader before it loads them (as
    // bin/vigil.js does for the main thread; a worker started from code has no loader of its own).
    const code = `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); })`;
    const w = new Worker(code, { eval: true });
    w.unref();
    w.on('message', (m: FromWorker) => this.onMessage(w, m));
    w.on('error', (err) => this.onCrash(w, err));
    w.on('exit', (code) => this.onCrash(w, new Error(`the index worker exited (code ${code})`)));
    this.worker = w;
    return w;
  }

  private onMessage(w: Worker, m: FromWorker): void {
    const job = this.current;
    if (!job || m.id !== job.id || w !== this.worker) return;
    switch (m.type) {
      case 'more': {
        job.it ??= job.read(m.start)[Symbol.asyncIterator]();
        job.it.next().then(
          (r) => {
            if (this.current !== job) return;
            if (r.done) w.postMessage({ type: 'end', id: job.id } satisfies ToWorker);
            else {
              const data = new Uint8Array(r.value); // a copy the worker owns
              w.postMessage({ type: 'chunk', id: job.id, data } satisfies ToWorker, [data.buffer]);
            }
          },
          (err: unknown) => {
            if (this.current === job) w.postMessage({ type: 'read-failed', id: job.id, message: err instanceof Error ? err.message : String(err) } satisfies ToWorker);
          },
        );
        break;
      }
      case 'done':
        this.finish(job, () => job.resolve({ index: m.index, snapshots: Buffer.from(m.snapshots.buffer, m.snapshots.byteOffset, m.snapshots.byteLength) }));
        break;
      case 'failed':
        this.finish(job, () => job.reject(new Error(m.message)));
        break;
    }
  }

  /** The worker failed or went away: the job in hand is built here instead; the next job starts a new worker. */
  private onCrash(w: Worker, err: Error): void {
    if (w !== this.worker) return;
    this.worker = null;
    const job = this.current;
    if (!job || this.closed) return;
    this.onError(err);
    this.fallbacks += 1;
    this.finish(job, () => void buildCastIndex(job.read, job.previous).then(job.resolve, job.reject));
  }

  private finish(job: Job, settle: () => void): void {
    this.current = null;
    settle();
    this.pump();
  }
}
