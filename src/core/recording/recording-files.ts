import fs from 'node:fs/promises';
import type { RecordingFileFormat } from '../../adapters/store/schema.ts';
import type { Store } from '../../adapters/store/store.ts';
import type { Clock } from '../clock.ts';
import type { BlobLocation, BlobStores } from './blob-store.ts';
import { chunkDigest } from './hash-chain.ts';

export type FileFormat = RecordingFileFormat;

export interface RecordingFile {
  format: FileFormat;
  location: BlobLocation;
  blobKey: string;
  size: number;
  sha256: string;
  createdAt: number;
}

/** Blob key of a session's finalised WebM or converted MP4 (chunks live under `…/chunks/`). */
export const recordingFileKey = (sessionId: string, format: FileFormat): string => `sessions/${sessionId}/files/recording.${format}`;

/**
 * The `recording_files` of a session: one finalised WebM and one MP4 at most, each a blob in the
 * session's location. Moves between temp files and blobs, since ffmpeg works on files.
 */
export class RecordingFiles {
  constructor(private readonly store: Store, private readonly blobs: BlobStores, private readonly clock: Clock) {}

  async get(sessionId: string, format: FileFormat): Promise<RecordingFile | null> {
    const r = await this.store.db.selectFrom('recording_files').selectAll().where('session_id', '=', sessionId).where('format', '=', format).executeTakeFirst();
    if (!r) return null;
    return { format: r.format, location: r.location, blobKey: r.blob_key, size: Number(r.size), sha256: r.sha256, createdAt: Number(r.created_at) };
  }

  /** Stores `file` as the session's `format` file (replacing an earlier one) and returns it. */
  async save(sessionId: string, format: FileFormat, location: BlobLocation, file: string): Promise<RecordingFile> {
    return this.saveData(sessionId, format, location, await fs.readFile(file));
  }

  /** Stores `data` as the session's `format` file (replacing an earlier one) and returns it. */
  async saveData(sessionId: string, format: FileFormat, location: BlobLocation, data: Buffer): Promise<RecordingFile> {
    const previous = await this.get(sessionId, format);
    const saved: RecordingFile = {
      format,
      location,
      blobKey: recordingFileKey(sessionId, format),
      size: data.length,
      sha256: chunkDigest(data),
      createdAt: this.clock.now(),
    };
    await (await this.blobs.at(location)).put(saved.blobKey, data);
    const row = { location, blob_key: saved.blobKey, size: saved.size, sha256: saved.sha256, created_at: saved.createdAt };
    await this.store.db
      .insertInto('recording_files')
      .values({ session_id: sessionId, format, ...row })
      .onConflict((oc) => oc.columns(['session_id', 'format']).doUpdateSet(row))
      .execute();
    if (previous && previous.location !== location) await this.deleteBlob(previous);
    return saved;
  }

  /** The bytes of a stored file. */
  async read(f: RecordingFile): Promise<Buffer> {
    return (await this.blobs.at(f.location)).get(f.blobKey);
  }

  /** Bytes [start, end] (inclusive) of a stored file. */
  async readRange(f: RecordingFile, start: number, end: number): Promise<Buffer> {
    return (await this.blobs.at(f.location)).getRange(f.blobKey, start, end);
  }

  /** Copies a stored file out to `file` for ffmpeg. */
  async fetch(f: RecordingFile, file: string): Promise<void> {
    await fs.writeFile(file, await (await this.blobs.at(f.location)).get(f.blobKey));
  }

  async remove(sessionId: string, format: FileFormat): Promise<void> {
    const f = await this.get(sessionId, format);
    if (!f) return;
    await this.store.db.deleteFrom('recording_files').where('session_id', '=', sessionId).where('format', '=', format).execute();
    await this.deleteBlob(f);
  }

  /**
   * Writes the session's media chunks, in sequence order, to `file`: the WebM stream as the
   * launcher produced it. Returns how many chunks there were and when the newest arrived.
   */
  async concatChunks(sessionId: string, file: string): Promise<{ chunks: number; gaps: number; newestAt: number }> {
    const chunks = await this.store.db
      .selectFrom('recording_chunks')
      .select(['seq', 'location', 'blob_key', 'created_at'])
      .where('session_id', '=', sessionId)
      .orderBy('seq')
      .execute();
    const fh = await fs.open(file, 'w');
    let gaps = 0;
    let newestAt = 0;
    try {
      for (const [i, c] of chunks.entries()) {
        // A missing chunk leaves a hole; the WebM demuxer resynchronises at the next cluster.
        if (i > 0 && Number(c.seq) !== Number(chunks[i - 1]!.seq) + 1) gaps++;
        newestAt = Math.max(newestAt, Number(c.created_at));
        await fh.write(await (await this.blobs.at(c.location)).get(c.blob_key));
      }
    } finally {
      await fh.close();
    }
    return { chunks: chunks.length, gaps, newestAt };
  }

  /** When the newest chunk arrived (0 without chunks): a finalised WebM older than that is stale. */
  async newestChunkAt(sessionId: string): Promise<number> {
    const r = await this.store.db.selectFrom('recording_chunks').select((eb) => eb.fn.max('created_at').as('at')).where('session_id', '=', sessionId).executeTakeFirst();
    return r?.at == null ? 0 : Number(r.at);
  }

  private async deleteBlob(f: RecordingFile): Promise<void> {
    try {
      await (await this.blobs.at(f.location)).delete(f.blobKey);
    } catch {
      // The location may be gone from the settings: the row is what counts, an orphan blob is harmless.
    }
  }
}
