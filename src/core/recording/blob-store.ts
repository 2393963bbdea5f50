/**
 * The BlobStore port: where recording media lives. `put` is durable when it resolves (committed
 * or fsynced), so a chunk can be acknowledged right after. Keys are `/`-separated safe segments.
 */
export interface BlobStore {
  put(key: string, data: Buffer): Promise<void>;
  get(key: string): Promise<Buffer>;
  /** Bytes [start, end] inclusive of one blob (for HTTP Range). */
  getRange(key: string, start: number, end: number): Promise<Buffer>;
  exists(key: string): Promise<boolean>;
  delete(key: string): Promise<void>;
}

/** A recording location and its store: the database, the share (directory) or the archive directory. */
export type BlobLocation = 'database' | 'share' | 'archive';

export interface BlobStores {
  /** Throws a clear error when a directory location is not configured in the settings. */
  at(location: BlobLocation): Promise<BlobStore>;
}

const SAFE_KEY = /^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/;

export function assertSafeKey(key: string): void {
  if (!SAFE_KEY.test(key) || key.split('/').some((s) => s === '.' || s === '..')) throw new Error(`unsafe blob key: ${JSON.stringify(key)}`);
}
