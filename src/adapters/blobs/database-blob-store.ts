import { sql } from 'kysely';
import type { Store } from '../store/store.ts';
import { assertSafeKey, type BlobStore } from '../../core/recording/blob-store.ts';
import { decodeBlob, encodeBlob } from '../../core/recording/blob-encoding.ts';

/**
 * Media kept in the database (`blobs` table): one transaction commit makes a put durable. Bytes
 * that compress well are kept deflated (`encoding`); every read gives back the bytes as put.
 */
export class DatabaseBlobStore implements BlobStore {
  constructor(private readonly store: Store) {}

  async put(key: string, data: Buffer): Promise<void> {
    assertSafeKey(key);
    const stored = await encodeBlob(data);
    await this.store.db
      .insertInto('blobs')
      .values({ key, data: stored.data, encoding: stored.encoding })
      .onConflict((oc) => oc.column('key').doUpdateSet({ data: stored.data, encoding: stored.encoding }))
      .execute();
  }

  async get(key: string): Promise<Buffer> {
    const row = await this.store.db.selectFrom('blobs').select(['data', 'encoding']).where('key', '=', key).executeTakeFirst();
    if (!row) throw Object.assign(new Error(`blob ${key} is missing`), { code: 'ENOENT' });
    return decodeBlob(key, Buffer.from(row.data), row.encoding);
  }

  async getRange(key: string, start: number, end: number): Promise<Buffer> {
    // substr/substring are 1-based on both dialects and avoid reading the whole blob; a deflated
    // blob (a recording chunk, at most 4 MiB) comes whole, in the same query, and is decoded.
    const len = end - start + 1;
    const part = this.store.dialect === 'postgres' ? sql<Buffer>`substring(data from ${start + 1} for ${len})` : sql<Buffer>`substr(data, ${start + 1}, ${len})`;
    const expr = sql<Buffer>`CASE WHEN encoding IS NULL THEN ${part} ELSE data END`;
    const row = await this.store.db.selectFrom('blobs').select([expr.as('part'), 'encoding']).where('key', '=', key).executeTakeFirst();
    if (!row) throw Object.assign(new Error(`blob ${key} is missing`), { code: 'ENOENT' });
    if (row.encoding === null) return Buffer.from(row.part);
    return (await decodeBlob(key, Buffer.from(row.part), row.encoding)).subarray(start, end + 1);
  }

  async exists(key: string): Promise<boolean> {
    return !!(await this.store.db.selectFrom('blobs').select('key').where('key', '=', key).executeTakeFirst());
  }

  async delete(key: string): Promise<void> {
    await this.store.db.deleteFrom('blobs').where('key', '=', key).execute();
  }
}
