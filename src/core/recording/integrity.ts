import type { Store } from '../../adapters/store/store.ts';
import type { RecordingFileFormat } from '../../adapters/store/schema.ts';
import { NotFoundError } from '../errors.ts';
import type { BlobLocation, BlobStore, BlobStores } from './blob-store.ts';
import { chainStart, chunkDigest, nextChain } from './hash-chain.ts';

export type IntegrityProblemKind = 'modified' | 'missing' | 'reordered' | 'gap' | 'head-mismatch';

export interface IntegrityProblem {
  /** The chunk's sequence number (for `head-mismatch`: the last chunk of the chain, -1 if none). */
  seq: number;
  kind: IntegrityProblemKind;
  message: string;
}

export interface RecordingFileCheck {
  format: RecordingFileFormat;
  valid: boolean;
  message: string | null;
}

export interface IntegrityReport {
  /** Every chunk present, unmodified, in order, and the chain ends at the session's recorded head. */
  valid: boolean;
  chunks: number;
  /** The recorded chain head (sessions.chain_head). */
  head: string | null;
  problems: IntegrityProblem[];
  /** Retention removed the media: nothing can be verified (chunk digests are kept, bytes are not). */
  deleted: boolean;
  /** Finalised / converted files derived from the chunks, checked against their recorded digests. */
  files: RecordingFileCheck[];
}

/**
 * Re-reads every chunk of a recording from where its row says it lives and checks it against the
 * hash chain (see hash-chain.ts). Two independent checks:
 *  - bytes: SHA-256 of the stored bytes must equal the row's digest; bytes matching another
 *    chunk's digest are reported as reordered, others as modified, unreadable ones as missing;
 *  - chain: the row digests, folded from the session id, must reproduce every row's chain link
 *    and finally sessions.chain_head, so an edited digest, a swapped row or a dropped tail shows.
 * Throws NotFoundError for an unknown session.
 */
export async function verifyRecording(store: Store, blobs: BlobStores, sessionId: string): Promise<IntegrityReport> {
  const session = await store.db
    .selectFrom('sessions')
    .select(['id', 'storage', 'chain_head', 'chunk_count'])
    .where('id', '=', sessionId)
    .executeTakeFirst();
  if (!session) throw new NotFoundError('session');

  const rows = await store.db
    .selectFrom('recording_chunks')
    .select(['seq', 'sha256', 'chain', 'location', 'blob_key'])
    .where('session_id', '=', sessionId)
    .orderBy('seq')
    .execute();
  const head = session.chain_head;

  if (session.storage === 'deleted') {
    return { valid: false, chunks: rows.length, head, problems: [], deleted: true, files: [] };
  }

  const problems: IntegrityProblem[] = [];
  const stores = storeCache(blobs);
  const seqByDigest = new Map<string, number>();
  for (const r of rows) if (!seqByDigest.has(r.sha256)) seqByDigest.set(r.sha256, Number(r.seq));

  // 1. Bytes against recorded digests.
  for (const r of rows) {
    const seq = Number(r.seq);
    let bytes: Buffer;
    try {
      bytes = await (await stores(r.location)).get(r.blob_key);
    } catch (err) {
      problems.push({ seq, kind: 'missing', message: `chunk ${seq} cannot be read from ${r.location} (${reason(err)})` });
      continue;
    }
    const actual = chunkDigest(bytes);
    if (actual === r.sha256) continue;
    const other = seqByDigest.get(actual);
    if (other !== undefined && other !== seq) {
      problems.push({ seq, kind: 'reordered', message: `chunk ${seq} holds the bytes of chunk ${other}` });
    } else {
      problems.push({ seq, kind: 'modified', message: `chunk ${seq} was modified: its bytes do not match the recorded SHA-256` });
    }
  }

  // 2. Sequence and chain over the recorded digests. Each link is checked against the link
  // recorded on the chunk before it, so one altered chunk is reported once, not at every later one.
  let expected = 0;
  let contiguous = true;
  let prev = chainStart(sessionId);
  let lastLinked = -1;
  const linked: Array<{ row: ChunkRow; seq: number; ok: boolean }> = [];
  for (const r of rows) {
    const seq = Number(r.seq);
    if (seq !== expected) {
      problems.push({ seq: expected, kind: 'gap', message: `${range(expected, seq - 1)} missing from the sequence` });
      contiguous = false;
    }
    expected = seq + 1;
    if (!contiguous) continue;
    const link = nextChain(prev, r.sha256);
    linked.push({ row: r, seq, ok: r.chain === null || r.chain === link });
    prev = r.chain ?? link;
    lastLinked = seq;
  }
  if (linked.some((l) => !l.ok)) {
    const origin = new ChainOrigin(sessionId, rows);
    for (const l of linked) {
      const problem = linkProblem(origin, l.seq, l.row, l.ok);
      if (problem) problems.push(problem);
    }
  }
  const declared = Number(session.chunk_count);
  if (declared > expected) {
    problems.push({ seq: expected, kind: 'gap', message: `the session records ${declared} chunks; ${range(expected, declared - 1)} missing` });
  }
  const noChunks = lastLinked === -1;
  if (head !== prev && !(noChunks && head === null)) {
    problems.push({
      seq: lastLinked,
      kind: 'head-mismatch',
      message: head === null ? `the session has no recorded chain head (the chain ends at ${prev})` : `the chain ends at ${noChunks ? 'the session id (no chunks)' : prev} but the session records head ${head}`,
    });
  }

  const files = await checkFiles(store, stores, sessionId);
  problems.sort((a, b) => a.seq - b.seq);
  return { valid: problems.length === 0 && files.every((f) => f.valid), chunks: rows.length, head, problems, deleted: false, files };
}

async function checkFiles(store: Store, stores: (l: BlobLocation) => Promise<BlobStore>, sessionId: string): Promise<RecordingFileCheck[]> {
  const rows = await store.db.selectFrom('recording_files').select(['format', 'location', 'blob_key', 'sha256']).where('session_id', '=', sessionId).orderBy('format').execute();
  const out: RecordingFileCheck[] = [];
  for (const f of rows) {
    try {
      const bytes = await (await stores(f.location)).get(f.blob_key);
      const ok = chunkDigest(bytes) === f.sha256;
      out.push({ format: f.format, valid: ok, message: ok ? null : `the ${f.format} file was modified: its bytes do not match the recorded SHA-256` });
    } catch (err) {
      out.push({ format: f.format, valid: false, message: `the ${f.format} file cannot be read from ${f.location} (${reason(err)})` });
    }
  }
  return out;
}

function storeCache(blobs: BlobStores): (l: BlobLocation) => Promise<BlobStore> {
  const cache = new Map<BlobLocation, Promise<BlobStore>>();
  return (l) => {
    let s = cache.get(l);
    if (!s) {
      s = blobs.at(l);
      cache.set(l, s);
    }
    return s;
  };
}

type ChunkRow = { seq: number; sha256: string; chain: string | null };

/**
 * Where each chunk stood when it was recorded, read from its chain link: a chunk's link is
 * sha256(link of its original predecessor ":" its digest), so following predecessors back to the
 * session id gives its original sequence number. Only chunks that fail the local check are
 * looked up, so an intact recording costs nothing here.
 */
class ChainOrigin {
  private readonly bySeq = new Map<number, ChunkRow>();
  private readonly memo = new Map<ChunkRow, number | null>();

  constructor(private readonly sessionId: string, private readonly rows: readonly ChunkRow[]) {
    for (const r of rows) this.bySeq.set(Number(r.seq), r);
  }

  /** The row this row's link continues from; 'start' for the first chunk; null when none fits. */
  private predecessor(r: ChunkRow): ChunkRow | 'start' | null {
    if (r.chain === null) return null;
    if (nextChain(chainStart(this.sessionId), r.sha256) === r.chain) return 'start';
    const recorded = this.bySeq.get(Number(r.seq) - 1);
    if (recorded?.chain != null && nextChain(recorded.chain, r.sha256) === r.chain) return recorded;
    return this.rows.find((o) => o !== r && o.chain !== null && nextChain(o.chain, r.sha256) === r.chain) ?? null;
  }

  /** Original sequence number of `r`, or null when its link does not come from any chunk here. */
  seqOf(r: ChunkRow): number | null {
    // Walk back iteratively (recordings can be long) to the start, a known row, or a dead end.
    const path: ChunkRow[] = [];
    const onPath = new Set<ChunkRow>();
    let cur: ChunkRow | 'start' | null = r;
    let base: number | null;
    for (;;) {
      if (cur === 'start') {
        base = -1;
        break;
      }
      if (cur === null || onPath.has(cur)) {
        base = null; // no predecessor, or a cycle (which no real chain can form)
        break;
      }
      if (this.memo.has(cur)) {
        base = this.memo.get(cur)!;
        break;
      }
      path.push(cur);
      onPath.add(cur);
      cur = this.predecessor(cur);
    }
    // path[i] follows path[i + 1]; the last one follows the position `base`.
    for (let i = path.length - 1; i >= 0; i--) {
      base = base === null ? null : base + 1;
      this.memo.set(path[i]!, base);
    }
    return this.memo.get(r) ?? null;
  }
}

/**
 * Judges one chunk once some link in the recording is broken. A chunk whose link shows it was
 * recorded at another position was moved (reordered), even when it moved together with its
 * predecessor; a broken link that fits no chunk here means the digest or link was altered; a
 * chunk recorded at this very position is fine (only its predecessor moved, reported there).
 */
function linkProblem(origin: ChainOrigin, seq: number, r: ChunkRow, linkOk: boolean): IntegrityProblem | null {
  const original = origin.seqOf(r);
  if (original !== null && original !== seq) return { seq, kind: 'reordered', message: `chunk ${seq} is out of order: its chain link places it at seq ${original}` };
  if (original === null && !linkOk) {
    const from = seq === 0 ? 'the session id' : `chunk ${seq - 1}`;
    return { seq, kind: 'modified', message: `chunk ${seq} was altered: its recorded digest or chain link does not follow from ${from}` };
  }
  return null;
}

function range(from: number, to: number): string {
  return from === to ? `chunk ${from} is` : `chunks ${from}–${to} are`;
}

function reason(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT') return 'blob not found';
  return err instanceof Error ? err.message : String(err);
}
