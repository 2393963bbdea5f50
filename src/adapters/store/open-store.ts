import path from 'node:path';
import { openPostgresStore } from './postgres/postgres-store.ts';
import { openSqliteStore } from './sqlite/sqlite-store.ts';
import type { Store } from './store.ts';

export async function openStore(opts: { databaseUrl: string | undefined; dataDir: string }): Promise<Store> {
  return opts.databaseUrl
    ? openPostgresStore(opts.databaseUrl)
    : openSqliteStore(path.join(opts.dataDir, 'vigil.sqlite'));
}
