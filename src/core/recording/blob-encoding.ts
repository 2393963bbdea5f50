import { promisify } from 'node:util';
import zlib from 'node:zlib';

const deflateRaw = promisify(zlib.deflateRaw);
const inflateRaw = promisify(zlib.inflateRaw);

/** How a blob's bytes are kept in the `blobs` table: as given (null) or raw-deflated. */
export type BlobEncoding = 'deflate' | null;

/** Blobs smaller than this are kept as given (they sit on their table page anyway). */
const MIN_BYTES = 4096;
/**
 * Larger blobs (whole recording files: a joined WebM, an MP4, a long recording's seek keyframes)
 * are kept as given, so a Range read never has to decode more than this.
 */
const MAX_BYTES = 4 * 1024 * 1024;
/** The part of a blob tried first: a sample that does not shrink (video, archives) is not worth the rest. */
const SAMPLE_BYTES = 16 * 1024;
/** Kept deflated only when it saves at least this share. */
const MIN_SAVING = 0.1;

/**
 * The stored form of a blob for the database: terminal recordings (asciicast text) shrink several
 * times over with zlib's fastest level, which spares the database most of its writes (SQLite
 * writes every page twice, to the WAL and then the database); video chunks do not, and are kept
 * as given after a sample of them is tried. Deflates on libuv's thread pool, off the event loop.
 * The chunk's digest and size stay those of the original bytes; `decodeBlob` gives them back.
 */
export async function encodeBlob(data: Buffer): Promise<{ data: Buffer; encoding: BlobEncoding }> {
  if (data.length < MIN_BYTES || data.length > MAX_BYTES) return { data, encoding: null };
  const opts = { level: zlib.constants.Z_BEST_SPEED };
  if (data.length > SAMPLE_BYTES) {
    const sample = await deflateRaw(data.subarray(0, SAMPLE_BYTES), opts);
    if (sample.length > SAMPLE_BYTES * (1 - MIN_SAVING)) return { data, encoding: null };
  }
  const packed = await deflateRaw(data, opts);
  return packed.length <= data.length * (1 - MIN_SAVING) ? { data: packed, encoding: 'deflate' } : { data, encoding: null };
}

/** The original bytes of a stored blob; a clear error when the stored bytes do not decode. */
export async function decodeBlob(key: string, data: Buffer, encoding: string | null): Promise<Buffer> {
  if (encoding === null) return data;
  if (encoding !== 'deflate') throw new Error(`blob ${key} is stored with an unknown encoding ${JSON.stringify(encoding)}`);
  try {
    return await inflateRaw(data);
  } catch (err) {
    throw new Error(`blob ${key} is corrupt: its deflated bytes do not decode (${err instanceof Error ? err.message : String(err)})`, { cause: err });
  }
}
