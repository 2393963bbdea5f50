import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { migrate } from '../migrations/index.ts';
import type { Database } from '../schema.ts';
import type { Store } from '../store.ts';

// BIGINT (int8) and COUNT results arrive as strings by default; our values fit in a double.
pg.types.setTypeParser(20, (v) => Number(v));

/** Scale-out store on PostgreSQL. Fails fast with one clear line when the server is unreachable. */
export async function openPostgresStore(url: string, opts: { max?: number } = {}): Promise<Store> {
  const pool = new pg.Pool({ connectionString: url, max: opts.max ?? 10, connectionTimeoutMillis: 5000 });
  // An idle client that loses its server must not crash the process; the next query reports it.
  pool.on('error', () => {});
  try {
    const client = await pool.connect();
    client.release();
  } catch (err) {
    await pool.end().catch(() => {});
    throw new Error(`cannot reach PostgreSQL at ${redactUrl(url)}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  try {
    await migrate(db, 'postgres');
  } catch (err) {
    await db.destroy();
    throw err;
  }
  return { db, dialect: 'postgres', close: () => db.destroy() };
}

export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparseable URL)';
  }
}
