import { Migrator, type Kysely, type Migration, type MigrationProvider } from 'kysely';
import type { Dialect } from '../store.ts';
import { platform } from './0001-platform.ts';
import { recording } from './0002-recording.ts';
import { ingestCursors } from './0003-ingest-cursors.ts';
import { searchIndexes } from './0004-search-indexes.ts';
import { cluster } from './0006-cluster.ts';
import { agents } from './0005-agents.ts';
import { sessionLinks } from './0007-session-links.ts';
import { sessionText } from './0008-session-text.ts';
import { blobEncoding } from './0009-blob-encoding.ts';

export type DialectMigration = (db: Kysely<any>, dialect: Dialect) => Promise<void>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** Ordered migrations; names sort lexically, so keep the number prefix. */
const MIGRATIONS: Record<string, DialectMigration> = {
  '0001-platform': platform,
  '0002-recording': recording,
  '0003-ingest-cursors': ingestCursors,
  '0004-search-indexes': searchIndexes,
  '0005-agents': agents,
  '0006-cluster': cluster,
  '0007-session-links': sessionLinks,
  '0008-session-text': sessionText,
  '0009-blob-encoding': blobEncoding,
};

class InCodeProvider implements MigrationProvider {
  constructor(private readonly dialect: Dialect) {}
  getMigrations(): Promise<Record<string, Migration>> {
    const out: Record<string, Migration> = {};
    for (const [name, up] of Object.entries(MIGRATIONS)) out[name] = { up: (db) => up(db, this.dialect) };
    return Promise.resolve(out);
  }
}

/** Applies every pending migration in one go; throws with the failing migration's name. */
export async function migrate(db: Kysely<any>, dialect: Dialect): Promise<string[]> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const migrator = new Migrator({ db, provider: new InCodeProvider(dialect) });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw new Error(`database migration ${failed} failed: ${error instanceof Error ? error.message : String(error)}`);
  }
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
