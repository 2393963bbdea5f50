import type { Store } from '../../adapters/store/store.ts';
import { castIndex, type CastIndex } from '../../protocol/cast-index.ts';
import { ConflictError, NotFoundError } from '../errors.ts';
import type { BlobLocation } from './blob-store.ts';
import { buildCastIndex, type BuiltCastIndex } from './cast-index.ts';
import type { RecordingFiles } from './recording-files.ts';
import type { RecordingReader } from './recording-reader.ts';

/**
 * The seek index of each terminal recording, kept as two recording files of the session
 * (`cast-index`: the JSON; `cast-keyframes`: the serialized screens), so retention moves and
 * deletes them with the recording and `vigil admin verify` checks them. Built when a session
 * ends, and on demand — extended from its last keyframe — when the recording has grown since.
 */
export class CastIndexService {
  private readonly inflight = new Map<string, Promise<CastIndex>>();

  /** `build`: where the replay runs — here by default; the server passes a CastIndexWorker's. */
  constructor(
    private readonly store: Store,
    private readonly reader: RecordingReader,
    private readonly files: RecordingFiles,
    private readonly build: typeof buildCastIndex = buildCastIndex,
  ) {}

  /** The index covering the whole recording as stored now (built or extended first when needed). */
  index(sessionId: string): Promise<CastIndex> {
    const running = this.inflight.get(sessionId);
    if (running) return running;
    const p = this.fresh(sessionId).finally(() => this.inflight.delete(sessionId));
    this.inflight.set(sessionId, p);
    return p;
  }

  /** The serialized screens, for Range reads of the ranges the index names. */
  async keyframes(sessionId: string): Promise<{ size: number; read(start: number, end: number): Promise<Buffer> }> {
    let f = await this.files.get(sessionId, 'cast-keyframes');
    if (!f) {
      await this.index(sessionId);
      f = await this.files.get(sessionId, 'cast-keyframes');
    }
    if (!f) throw new NotFoundError('keyframes');
    return { size: f.size, read: (start, end) => this.files.readRange(f, start, end) };
  }

  private async fresh(sessionId: string): Promise<CastIndex> {
    const s = await this.store.db.selectFrom('sessions').select(['storage', 'bytes']).where('id', '=', sessionId).executeTakeFirst();
    if (!s) throw new NotFoundError('session');
    // `bytes` is the recording's contiguous prefix: an index that has read that much is current.
    // Checked on the small JSON alone, so an open reads neither the chunk list nor the keyframes.
    const current = s.storage === 'deleted' ? null : await this.storedIndex(sessionId);
    if (current && current.scanned >= Number(s.bytes)) return current;
    const media = await this.reader.open(sessionId, 'cast');
    const stored = current ? await this.stored(sessionId, current) : null;
    if (stored && stored.index.scanned >= media.size) return stored.index;
    if (media.size === 0) throw new ConflictError('the recording has no data yet');
    let built: BuiltCastIndex;
    try {
      built = await this.build((start) => media.read(start, media.size - 1), stored ?? undefined);
    } catch (err) {
      if (err instanceof Error && err.message.startsWith('not an asciicast')) throw new ConflictError(`the recording cannot be indexed: ${err.message}`);
      throw err;
    }
    const location: BlobLocation = s.storage === 'share' || s.storage === 'archive' ? s.storage : 'database';
    // Keyframes first: an index never names a snapshot range that is not stored yet, and an
    // extension only appends, so an older index stays valid against the newer keyframes.
    await this.files.saveData(sessionId, 'cast-keyframes', location, built.snapshots);
    await this.files.saveData(sessionId, 'cast-index', location, Buffer.from(JSON.stringify(built.index)));
    return built.index;
  }

  private async storedIndex(sessionId: string): Promise<CastIndex | null> {
    const f = await this.files.get(sessionId, 'cast-index');
    if (!f) return null;
    try {
      return castIndex.parse(JSON.parse((await this.files.read(f)).toString('utf8')));
    } catch {
      return null; // unreadable or from another version: rebuilt from the recording
    }
  }

  private async stored(sessionId: string, index: CastIndex): Promise<BuiltCastIndex | null> {
    const k = await this.files.get(sessionId, 'cast-keyframes');
    return k ? { index, snapshots: await this.files.read(k) } : null;
  }
}
