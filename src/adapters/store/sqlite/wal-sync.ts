import fs from 'node:fs';
import path from 'node:path';

/** The file operations WalSync uses (node:fs by default; tests inject counting or failing ones). */
export interface WalFs {
  /** Flushes the file's data to the disk; runs on libuv's thread pool, never on the event loop. */
  fdatasync(fd: number, cb: (err: NodeJS.ErrnoException | null) => void): void;
  fsync(fd: number, cb: (err: NodeJS.ErrnoException | null) => void): void;
}

/**
 * Makes SQLite's commits durable without fsyncing on the event loop. The store runs WAL with
 * synchronous=NORMAL: a commit only write()s its frames to `<db>-wal`; this class then flushes that
 * file with fdatasync on the thread pool, and `durable()` resolves once every commit made before it
 * was called is on the disk — the driver makes each query's result wait for it, so nothing is
 * acknowledged (nor even read back) before it would survive a power loss. Why this is safe:
 * - fsync/fdatasync act on the file (the inode's page cache), not on the descriptor: a second fd
 *   on `<db>-wal` flushes the pages SQLite wrote through its own fd (fsync(2): "all modified
 *   in-core data of the file referred to by fd").
 * - The `-wal` file keeps its inode while this connection is open: SQLite deletes it only when the
 *   last connection closes (every connection holds a shared lock on the `-shm` file until then); a
 *   checkpoint resets it by overwriting from the start, TRUNCATE shortens it, both in place.
 * - Frames carry cumulative checksums and salts: recovery keeps the WAL up to the last valid
 *   commit frame, so once the file is flushed past commit C, C survives even if later frames tear.
 * - Checkpoints still fsync the WAL before copying it into the database and the database after
 *   (synchronous=NORMAL keeps those), and SQLite syncs a reused WAL's new header itself.
 * - The directory is fsynced once after opening, so the `-wal` file's own entry is on the disk.
 * A failed flush poisons the store: the kernel may have dropped the dirty pages it could not write,
 * so every later `durable()` rejects too (the proxy then fails closed, uploads get an error).
 */
export class WalSync {
  private committedGen = 0;
  private syncedGen = 0;
  private syncing = false;
  private failure: Error | undefined;
  private waiters: Array<{ gen: number; resolve(): void; reject(err: Error): void }> = [];
  private dirSynced = false;
  private closed = false;
  /** Completed flushes (for tests and the benchmark's trace). */
  flushes = 0;
  /** Called after each flush with its start (performance.now()) and duration, in ms. */
  onFlush: ((startMs: number, ms: number) => void) | undefined;

  private constructor(
    private readonly fd: number,
    private readonly dirFd: number,
    private readonly io: WalFs,
  ) {}

  /** Opens `<dbFile>-wal` (SQLite must already have created it: open the store in WAL mode first). */
  static open(dbFile: string, io: WalFs = fs): WalSync {
    const fd = fs.openSync(`${dbFile}-wal`, 'r');
    let dirFd: number;
    try {
      dirFd = fs.openSync(path.dirname(dbFile), 'r');
    } catch (err) {
      fs.closeSync(fd);
      throw err;
    }
    return new WalSync(fd, dirFd, io);
  }

  /** The inode of the file being flushed (tests compare it with `<db>-wal`'s). */
  inode(): number {
    return fs.fstatSync(this.fd).ino;
  }

  /** A commit was written to the WAL: starts a flush (or one after the running one). */
  committed(): void {
    this.committedGen += 1;
    this.start();
  }

  /** Whether every commit so far is on the disk and none failed (then `durable()` need not be awaited). */
  get idle(): boolean {
    return this.syncedGen === this.committedGen && this.failure === undefined;
  }

  /** Resolves once every commit made so far is on the disk; rejects if a flush failed. */
  durable(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    const gen = this.committedGen;
    if (this.syncedGen >= gen) return Promise.resolve();
    return new Promise((resolve, reject) => this.waiters.push({ gen, resolve, reject }));
  }

  /** Waits for the last flush and closes the files. */
  async close(): Promise<void> {
    while (!this.idle && !this.failure) await this.durable().catch(() => undefined);
    if (this.closed) return;
    this.closed = true;
    fs.closeSync(this.fd);
    fs.closeSync(this.dirFd);
  }

  private start(): void {
    if (this.closed && !this.failure) {
      // A commit that raced the close: it cannot be confirmed durable any more, so it is not.
      this.refuse(new Error('the store is closed: a commit made while it closed cannot be confirmed durable'));
    }
    if (this.syncing || this.failure || this.closed) return;
    this.syncing = true;
    // Everything committed up to now is in the page cache: this flush covers it.
    const gen = this.committedGen;
    const t0 = performance.now();
    const done = (err: NodeJS.ErrnoException | null): void => {
      this.syncing = false;
      if (err) return this.fail(err);
      this.flushes += 1;
      this.onFlush?.(t0, performance.now() - t0);
      this.syncedGen = gen;
      const ready = this.waiters.filter((w) => w.gen <= gen);
      this.waiters = this.waiters.filter((w) => w.gen > gen);
      for (const w of ready) w.resolve();
      if (this.committedGen > this.syncedGen) this.start();
    };
    if (this.dirSynced) return this.io.fdatasync(this.fd, done);
    this.io.fsync(this.dirFd, (err) => {
      if (err) return done(err);
      this.dirSynced = true;
      this.io.fdatasync(this.fd, done);
    });
  }

  private fail(err: NodeJS.ErrnoException): void {
    this.refuse(new Error(`the database's write-ahead log could not be flushed to the disk (${err.code ?? err.message}); commits since the last flush may not be durable`, { cause: err }));
  }

  /** From now on every wait rejects with `failure`. */
  private refuse(failure: Error): void {
    this.failure = failure;
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w.reject(failure);
  }
}
