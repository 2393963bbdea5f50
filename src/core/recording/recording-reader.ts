import type { Store } from '../../adapters/store/store.ts';
import { AppError, NotFoundError } from '../errors.ts';
import type { BlobLocation, BlobStores } from './blob-store.ts';

export type RecordingFormat = 'cast' | 'webm' | 'mp4';

interface Part {
  location: BlobLocation;
  key: string;
  size: number;
}

export interface RecordingMedia {
  format: RecordingFormat;
  contentType: string;
  size: number;
  /** True while the recording may still grow (an active session read chunk by chunk). */
  growing: boolean;
  read(start: number, end: number): AsyncIterable<Buffer>;
}

const CONTENT_TYPES: Record<RecordingFormat, string> = { cast: 'application/x-asciicast', webm: 'video/webm', mp4: 'video/mp4' };

/**
 * Presents a recording as one byte range: a finalised file (seekable WebM, MP4) when there is one,
 * otherwise the chunks of the contiguous prefix in order, so a growing recording is readable.
 */
export class RecordingReader {
  constructor(private readonly store: Store, private readonly blobs: BlobStores) {}

  async open(sessionId: string, format: RecordingFormat): Promise<RecordingMedia> {
    const s = await this.store.db.selectFrom('sessions').select(['media', 'storage', 'status']).where('id', '=', sessionId).executeTakeFirst();
    if (!s) throw new NotFoundError('session');
    if (s.storage === 'deleted') throw new AppError(410, 'gone', 'this recording was deleted by the retention policy');
    if (s.media === null) throw new NotFoundError('recording (this session was not recorded)');
    const wantsChunks = (format === 'cast' && s.media === 'cast') || (format === 'webm' && s.media === 'webm');
    let parts: Part[];
    let growing = false;
    const file = format === 'cast' ? undefined : await this.store.db.selectFrom('recording_files').selectAll().where('session_id', '=', sessionId).where('format', '=', format).executeTakeFirst();
    if (file) {
      parts = [{ location: file.location, key: file.blob_key, size: Number(file.size) }];
    } else if (wantsChunks) {
      const rows = await this.store.db.selectFrom('recording_chunks').select(['location', 'blob_key', 'size']).where('session_id', '=', sessionId).where('chain', 'is not', null).orderBy('seq').execute();
      parts = rows.map((r) => ({ location: r.location, key: r.blob_key, size: Number(r.size) }));
      growing = s.status === 'active';
    } else if (format === 'mp4' && s.media === 'webm') {
      throw new AppError(409, 'not-processed', 'no MP4 has been made for this recording yet; request it with POST /sessions/{id}/processing');
    } else {
      throw new AppError(400, 'invalid-request', `format: this recording is ${s.media}, not ${format}`, { field: 'format' });
    }
    const size = parts.reduce((n, p) => n + p.size, 0);
    return { format, contentType: CONTENT_TYPES[format], size, growing, read: (start, end) => this.read(parts, start, end) };
  }

  private async *read(parts: Part[], start: number, end: number): AsyncIterable<Buffer> {
    let offset = 0;
    for (const p of parts) {
      const pStart = offset;
      const pEnd = offset + p.size - 1;
      offset += p.size;
      if (pEnd < start || p.size === 0) continue;
      if (pStart > end) break;
      const from = Math.max(start, pStart) - pStart;
      const to = Math.min(end, pEnd) - pStart;
      const store = await this.blobs.at(p.location);
      // Large parts (finalised files) are read in 1 MiB slices to keep memory flat.
      for (let a = from; a <= to; a += 1024 * 1024) yield await store.getRange(p.key, a, Math.min(to, a + 1024 * 1024 - 1));
    }
  }
}

/** Parses a single `bytes=` range against `size`; null when absent, 'invalid' when unsatisfiable. */
export function parseRange(header: string | undefined, size: number): { start: number; end: number } | null | 'invalid' {
  if (!header) return null;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return 'invalid';
  let start: number;
  let end: number;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0) return 'invalid';
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  }
  if (start > end || start >= size) return 'invalid';
  return { start, end };
}
