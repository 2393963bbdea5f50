import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { openPostgresStore } from '../../src/adapters/store/postgres/postgres-store.ts';
import { openSqliteStore } from '../../src/adapters/store/sqlite/sqlite-store.ts';
import type { Store } from '../../src/adapters/store/store.ts';

export const TEST_PG_URL = process.env.VIGIL_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const TEST_BUS_URL = process.env.VIGIL_TEST_BUS_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

export function tempDir(prefix = 'vigil-test-'): { dir: string; remove(): void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  return { dir, remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** A fresh, empty PostgreSQL database for one test file; dropped by `drop()`. */
export async function freshPostgresDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `vigil_t_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: TEST_PG_URL });
  try {
    await admin.connect();
  } catch (err) {
    throw new Error(`PostgreSQL is required for this test and is not reachable at ${TEST_PG_URL} (${(err as Error).message}); start it with: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`, { cause: err });
  }
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(TEST_PG_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: TEST_PG_URL });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

export interface StoreFixture {
  name: 'sqlite' | 'postgres';
  open(): Promise<Store>;
  cleanup(): Promise<void>;
}

/** The two Store adapters, each opened on an empty database: contract suites loop over these. */
export function storeFixtures(): StoreFixture[] {
  const tmp = tempDir();
  let pgDb: { url: string; drop(): Promise<void> } | undefined;
  return [
    {
      name: 'sqlite',
      open: () => openSqliteStore(path.join(tmp.dir, `store-${randomBytes(4).toString('hex')}.sqlite`)),
      cleanup: async () => tmp.remove(),
    },
    {
      name: 'postgres',
      open: async () => {
        pgDb ??= await freshPostgresDatabase();
        return openPostgresStore(pgDb.url);
      },
      cleanup: async () => {
        await pgDb?.drop();
      },
    },
  ];
}
