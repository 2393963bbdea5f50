import { sql } from 'kysely';
import type { Store } from '../store/store.ts';
import { assertSafeKey, type BlobStore } from '../../core/recording/blob-store.ts';

/** Media kept in the database (`blobs` table): one transaction commit makes a put durable. */
export class DatabaseBlobStore implements BlobStore {
  constructor(private readonly store: Store) {}

  async put(key: string, data: Buffer): Promise<void> {
    assertSafeKey(key);
    await this.store.db
      .insertInto('blobs')
      .values({ key, data })
      .onConflict((oc) => oc.column('key').doUpdateSet({ data }))
      .execute();
  }

  async get(key: string): Promise<Buffer> {
    const row = await this.store.db.selectFrom('blobs').select('data').where('key', '=', key).executeTakeFirst();
    if (!row) throw Object.assign(new Error(`blob ${key} is missing`), { code: 'ENOENT' });
    return Buffer.from(row.data);
  }

  async getRange(key: string, start: number, end: number): Promise<Buffer> {
    // substr/substring are 1-based on both dialects and avoid reading the whole blob.
    const len = end - start + 1;
    const expr = this.store.dialect === 'postgres' ? sql<Buffer>`substring(data from ${start + 1} for ${len})` : sql<Buffer>`substr(data, ${start + 1}, ${len})`;
    const row = await this.store.db.selectFrom('blobs').select(expr.as('part')).where('key', '=', key).executeTakeFirst();
    if (!row) throw Object.assign(new Error(`blob ${key} is missing`), { code: 'ENOENT' });
    return Buffer.from(row.part);
  }

  async exists(key: string): Promise<boolean> {
    return !!(await this.store.db.selectFrom('blobs').select('key').where('key', '=', key).executeTakeFirst());
  }

  async delete(key: string): Promise<void> {
    await this.store.db.deleteFrom('blobs').where('key', '=', key).execute();
  }
}
