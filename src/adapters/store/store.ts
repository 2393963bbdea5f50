import type { Kysely } from 'kysely';
import type { Database } from './schema.ts';

export type Dialect = 'sqlite' | 'postgres';

/**
 * The Store port: a Kysely handle on one of two dialects. Repositories take it and write
 * portable queries; the few dialect differences (DDL, full-text search) branch on `dialect`.
 */
export interface Store {
  readonly db: Kysely<Database>;
  readonly dialect: Dialect;
  close(): Promise<void>;
}
