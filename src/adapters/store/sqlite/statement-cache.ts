import type { Database as BetterSqlite, Statement } from 'better-sqlite3';
import type { SqliteDatabase } from 'kysely';

export interface CachingDatabase extends SqliteDatabase {
  /** The statement prepared last: the one Kysely runs next (the durable driver asks if it writes). */
  last: Statement | undefined;
}

/** Distinct SQL texts kept prepared; Kysely's queries have a few hundred shapes at most. */
const MAX_STATEMENTS = 1000;

/**
 * The database handle Kysely's SqliteDialect gets: better-sqlite3 with prepared statements kept
 * per SQL text. Kysely prepares every query anew, which costs as much as running a small one; hot
 * paths (ingest, heartbeats, search) repeat the same few shapes. A statement still being iterated
 * (`busy`, a streamed query) is not reused. Oldest texts are dropped past the limit.
 */
export function cachingDatabase(sqlite: BetterSqlite): CachingDatabase {
  const cache = new Map<string, Statement>();
  const db: CachingDatabase = {
    last: undefined,
    close: () => sqlite.close(),
    prepare(sql: string) {
      const hit = cache.get(sql);
      if (hit && !hit.busy) {
        // Map order is insertion order: re-insert to keep recently used texts.
        cache.delete(sql);
        cache.set(sql, hit);
        db.last = hit;
        return hit;
      }
      const stmt = sqlite.prepare(sql);
      db.last = stmt;
      if (!hit) {
        cache.set(sql, stmt);
        if (cache.size > MAX_STATEMENTS) cache.delete(cache.keys().next().value!);
      }
      return stmt;
    },
  };
  return db;
}
