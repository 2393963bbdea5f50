import type { Kysely } from 'kysely';
import type { Dialect } from '../store.ts';

/**
 * `blobs.encoding`: null for bytes kept as given, 'deflate' for raw-deflated ones
 * (src/core/recording/blob-encoding.ts). Existing rows keep null and read as before.
 */
export async function blobEncoding(db: Kysely<any>, _dialect: Dialect): Promise<void> { // eslint-disable-line @typescript-eslint/no-explicit-any
  await db.schema.alterTable('blobs').addColumn('encoding', 'text').execute();
}
