import type { Database as BetterSqlite } from 'better-sqlite3';
import { SqliteDialect, SqliteDriver, type CompiledQuery, type DatabaseConnection, type Driver, type QueryResult } from 'kysely';
import { cachingDatabase, type CachingDatabase } from './statement-cache.ts';
import type { WalSync } from './wal-sync.ts';

/**
 * Kysely's SQLite dialect, with every query's result held back until the commits before it are on
 * the disk (see WalSync). A statement that leaves the connection outside a transaction after
 * writing — an autocommit write or COMMIT — counts as a commit and starts a flush on the thread
 * pool. The wait happens after the connection is released: other queries run meanwhile (and their
 * commits share the next flush), and the event loop is free. Reads wait too, so a client cannot
 * learn from a read that something is stored before it is durable (e.g. a resumed upload asking
 * what the server has).
 */
export class DurableSqliteDialect extends SqliteDialect {
  private readonly database: CachingDatabase;

  constructor(
    private readonly sqlite: BetterSqlite,
    private readonly wal: WalSync | undefined,
  ) {
    const database = cachingDatabase(sqlite);
    super({ database });
    this.database = database;
  }

  override createDriver(): Driver {
    const wal = this.wal;
    if (!wal) return super.createDriver();
    return new DurableSqliteDriver(this.sqlite, this.database, wal, super.createDriver() as SqliteDriver);
  }
}

class DurableSqliteDriver implements Driver {
  /** A write ran since the last commit was counted. */
  private dirty = false;
  private connection: DatabaseConnection | undefined;

  constructor(
    private readonly sqlite: BetterSqlite,
    private readonly database: CachingDatabase,
    private readonly wal: WalSync,
    private readonly inner: SqliteDriver,
  ) {}

  init(): Promise<void> {
    return this.inner.init();
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    const conn = await this.inner.acquireConnection();
    this.connection ??= {
      executeQuery: <R>(q: CompiledQuery): Promise<QueryResult<R>> => {
        try {
          return conn.executeQuery<R>(q);
        } finally {
          this.noteStatement();
        }
      },
      streamQuery: <R>(q: CompiledQuery, chunkSize?: number): AsyncIterableIterator<QueryResult<R>> => this.stream<R>(conn, q, chunkSize),
    };
    return this.connection;
  }

  private async *stream<R>(conn: DatabaseConnection, q: CompiledQuery, chunkSize?: number): AsyncIterableIterator<QueryResult<R>> {
    // Rows go out before the release: wait here for what was committed before.
    await this.wal.durable();
    yield* conn.streamQuery<R>(q, chunkSize);
  }

  /** Counts a commit when the last statement left the connection outside a transaction after writes. */
  private noteStatement(): void {
    // BEGIN/COMMIT count as read-only statements (they change nothing themselves): track writes.
    if (this.database.last?.readonly === false) this.dirty = true;
    if (this.dirty && !this.sqlite.inTransaction) {
      this.dirty = false;
      this.wal.committed();
    }
  }

  beginTransaction: Driver['beginTransaction'] = (c) => this.inner.beginTransaction(c);
  commitTransaction: Driver['commitTransaction'] = (c) => this.inner.commitTransaction(c);
  rollbackTransaction: Driver['rollbackTransaction'] = (c) => this.inner.rollbackTransaction(c);
  savepoint: NonNullable<Driver['savepoint']> = (c, n, compile) => this.inner.savepoint(c, n, compile);
  rollbackToSavepoint: NonNullable<Driver['rollbackToSavepoint']> = (c, n, compile) => this.inner.rollbackToSavepoint(c, n, compile);
  releaseSavepoint: NonNullable<Driver['releaseSavepoint']> = (c, n, compile) => this.inner.releaseSavepoint(c, n, compile);

  async releaseConnection(): Promise<void> {
    await this.inner.releaseConnection();
    // Kysely awaits this before handing the result to the caller: the acknowledgement point.
    if (!this.wal.idle) await this.wal.durable();
  }

  async destroy(): Promise<void> {
    await this.wal.close();
    await this.inner.destroy();
  }
}
