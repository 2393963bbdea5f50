import fs from 'node:fs';
import path from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { Kysely } from 'kysely';
import { migrate } from '../migrations/index.ts';
import type { Database } from '../schema.ts';
import type { Store } from '../store.ts';
import { DurableSqliteDialect } from './durable-dialect.ts';
import { WalSync, type WalFs } from './wal-sync.ts';

export interface SqliteStoreOptions {
  /** File operations for the WAL flushes (tests observe or fail them). */
  walFs?: WalFs;
}

export interface SqliteStore extends Store {
  /** The WAL flusher (undefined for `:memory:`, which is not durable anyway). */
  readonly wal: WalSync | undefined;
}

/**
 * Embedded store: one SQLite file in the data dir, WAL. Commits are durable before any query result
 * is handed back, without an fsync on the event loop: synchronous=NORMAL (a commit write()s the WAL)
 * plus WalSync's fdatasync of the `-wal` file on the thread pool, which the driver waits for.
 */
export async function openSqliteStore(file: string, opts: SqliteStoreOptions = {}): Promise<SqliteStore> {
  const memory = file === ':memory:';
  if (!memory) fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const sqlite = new SqliteDatabase(file);
  let wal: WalSync | undefined;
  try {
    const mode = sqlite.pragma('journal_mode = WAL', { simple: true });
    if (!memory && mode !== 'wal') throw new Error(`SQLite could not use WAL mode for ${file} (journal_mode is ${String(mode)}); a file system with shared memory (mmap) support is needed`);
    if (!memory) {
      // Reading the schema opens (creates) the -wal file, which WalSync must open before any commit.
      sqlite.prepare('SELECT count(*) FROM sqlite_schema').get();
      wal = WalSync.open(file, opts.walFs);
    }
    sqlite.pragma(`synchronous = ${wal ? 'NORMAL' : 'FULL'}`);
    sqlite.pragma('foreign_keys = ON');
    sqlite.pragma('busy_timeout = 5000');
  } catch (err) {
    sqlite.close();
    throw err;
  }
  const db = new Kysely<Database>({ dialect: new DurableSqliteDialect(sqlite, wal) });
  try {
    await migrate(db, 'sqlite');
  } catch (err) {
    await db.destroy();
    throw err;
  }
  return { db, dialect: 'sqlite', wal, close: () => db.destroy() };
}
