import type { Store } from '../../src/adapters/store/store.ts';
import type { SessionStatus, StorageLocation } from '../../src/adapters/store/schema.ts';
import type { BlobLocation, BlobStore, BlobStores } from '../../src/core/recording/blob-store.ts';
import { chainStart, chunkDigest, nextChain } from '../../src/core/recording/hash-chain.ts';

export const DAY = 86_400_000;

export interface SeedOptions {
  id: string;
  status?: SessionStatus;
  startedAt?: number;
  endedAt: number | null;
  /** sessions.storage; chunks go to `location` (database → 'database', share → 'share'). */
  storage?: StorageLocation;
  location?: BlobLocation;
  chunks: Buffer[];
  files?: Array<{ format: 'webm' | 'mp4'; data: Buffer }>;
  events?: number;
}

export const chunkKey = (id: string, seq: number): string => `sessions/${id}/chunks/${String(seq).padStart(8, '0')}`;
export const fileKey = (id: string, format: string): string => `sessions/${id}/recording.${format}`;

/** Chunk bytes that are easy to tell apart: "<id> chunk <n> …". */
export const sampleChunks = (id: string, n: number): Buffer[] => Array.from({ length: n }, (_, i) => Buffer.from(`${id} chunk ${i} ${'x'.repeat(10 + i)}\n`));

/**
 * Seeds a session with its chunks as the ingest path writes them: digests and chain links from
 * hash-chain.ts, blobs in the chosen location, `chain_head` at the last chunk. Returns the head.
 */
export async function seedRecording(store: Store, blobs: BlobStores, o: SeedOptions): Promise<{ head: string | null; keys: string[] }> {
  const location = o.location ?? 'database';
  const startedAt = o.startedAt ?? (o.endedAt ?? 0) - 3_600_000;
  let chain = chainStart(o.id);
  const rows = o.chunks.map((data, seq) => {
    const sha256 = chunkDigest(data);
    chain = nextChain(chain, sha256);
    return { session_id: o.id, seq, size: data.length, sha256, chain, location, blob_key: chunkKey(o.id, seq), created_at: startedAt + seq };
  });
  const head = rows.length ? chain : null;
  await store.db
    .insertInto('sessions')
    .values({
      id: o.id, kind: 'ssh', status: o.status ?? 'ended', user_id: null, username: 'alice', secret_id: null, secret_name: 'web-01',
      target_host: 'web-01.example', target_user: 'root', client_address: '10.0.0.5', component: 'ssh-proxy', node_id: null,
      started_at: startedAt, ended_at: o.endedAt, last_activity_at: o.endedAt ?? startedAt, last_heartbeat_at: o.endedAt ?? startedAt,
      end_reason: null, ended_by: null, record_video: 1, record_keystrokes: 1, media: 'cast', recording_state: 'complete',
      storage: o.storage ?? (location === 'share' ? 'share' : 'database'), chunk_count: rows.length, bytes: rows.reduce((n, r) => n + r.size, 0),
      chain_head: head, duration_ms: null, processing_state: null, processing_progress: null, processing_error: null, archived_at: null, deleted_at: null,
    })
    .execute();
  const store0 = await blobs.at(location);
  for (const [i, r] of rows.entries()) await store0.put(r.blob_key, o.chunks[i]!);
  if (rows.length) await store.db.insertInto('recording_chunks').values(rows).execute();
  for (const f of o.files ?? []) {
    await store0.put(fileKey(o.id, f.format), f.data);
    await store.db.insertInto('recording_files').values({ session_id: o.id, format: f.format, location, blob_key: fileKey(o.id, f.format), size: f.data.length, sha256: chunkDigest(f.data), created_at: startedAt }).execute();
  }
  for (let seq = 0; seq < (o.events ?? 0); seq++) {
    await store.db.insertInto('activity_events').values({ session_id: o.id, source: 'proxy', seq, at_ms: seq * 1000, type: 'command', text: `ls -la /var/${seq}`, details: null }).execute();
  }
  return { head, keys: rows.map((r) => r.blob_key) };
}

/** Wraps every store of `inner`; `wrap` sees the location and may override any method. */
export function wrapBlobStores(inner: BlobStores, wrap: (location: BlobLocation, s: BlobStore) => Partial<BlobStore>): BlobStores {
  const cache = new Map<BlobStore, BlobStore>();
  return {
    async at(location) {
      const s = await inner.at(location);
      let w = cache.get(s);
      if (!w) {
        const o = wrap(location, s);
        w = {
          put: o.put ?? ((k, d) => s.put(k, d)),
          get: o.get ?? ((k) => s.get(k)),
          getRange: o.getRange ?? ((k, a, b) => s.getRange(k, a, b)),
          exists: o.exists ?? ((k) => s.exists(k)),
          delete: o.delete ?? ((k) => s.delete(k)),
        };
        cache.set(s, w);
      }
      return w;
    },
  };
}
