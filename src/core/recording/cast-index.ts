import serializeAddon from '@xterm/addon-serialize';
import xtermHeadless from '@xterm/headless';
import type { Terminal } from '@xterm/headless';
import { castLine, KEYFRAME_INTERVAL_MS, KEYFRAME_OUTPUT, parseCastHeader, terminalSnapshot, type CastIndex, type CastKeyframe } from '../../protocol/cast-index.ts';

export interface BuiltCastIndex {
  index: CastIndex;
  /** The serialized screens, concatenated; each keyframe's `snapshot` is a range of it. */
  snapshots: Buffer;
}

/** Output queued for the emulator before it is written in one call. */
const WRITE_BATCH = 64 * 1024;

/**
 * Builds the seek index of an asciicast by replaying it through xterm.js's emulator (headless) and
 * serializing the screen every KEYFRAME_OUTPUT characters of output or KEYFRAME_INTERVAL_MS of
 * recording time with output. With `previous`, extends it: the emulator restarts from the last
 * keyframe, so a growing recording costs only what was added since.
 * `read(start)` yields the cast's bytes from `start` to its current end.
 */
export async function buildCastIndex(read: (start: number) => AsyncIterable<Buffer>, previous?: BuiltCastIndex): Promise<BuiltCastIndex> {
  const keyframes: CastKeyframe[] = previous ? previous.index.keyframes.slice() : [];
  const snapshotParts: Buffer[] = previous ? [previous.snapshots] : [];
  let snapshotBytes = previous?.snapshots.length ?? 0;
  let header = previous ? { castVersion: previous.index.castVersion, cols: previous.index.cols, rows: previous.index.rows } : null;
  const from = previous ? previous.index.keyframes.at(-1)! : null;
  let term: Terminal | null = null;
  let serializer: InstanceType<typeof serializeAddon.SerializeAddon> | null = null;
  const open = async (cols: number, rows: number, snapshot: string) => {
    term = new xtermHeadless.Terminal({ cols, rows, scrollback: 0, allowProposedApi: true });
    serializer = new serializeAddon.SerializeAddon();
    term.loadAddon(serializer);
    if (snapshot) await write(snapshot);
  };
  const write = (data: string) => new Promise<void>((resolve) => term!.write(data, resolve));

  let pos = from ? from.offset : 0;
  let size = pos;
  let t = from ? from.at : 0;
  let last = t;
  let pending = '';
  let since = 0;
  let lastKfAt = t;
  if (from) await open(from.cols, from.rows, previous!.snapshots.subarray(from.snapshot[0], from.snapshot[0] + from.snapshot[1]).toString('utf8'));

  const flush = async () => {
    if (pending) await write(pending);
    pending = '';
  };
  const keyframe = async (at: number, offset: number) => {
    await flush();
    const snap = Buffer.from(terminalSnapshot(term!, serializer!), 'utf8');
    keyframes.push({ at, offset, cols: term!.cols, rows: term!.rows, snapshot: [snapshotBytes, snap.length] });
    snapshotParts.push(snap);
    snapshotBytes += snap.length;
    since = 0;
    lastKfAt = at;
  };
  const line = async (text: string, end: number) => {
    if (!header) {
      header = parseCastHeader(text);
      await open(header.cols, header.rows, '');
      keyframes.push({ at: 0, offset: end, cols: header.cols, rows: header.rows, snapshot: [0, 0] });
      return;
    }
    const ev = castLine(text);
    if (!ev) return;
    t = header.castVersion === 3 ? t + ev[0] * 1000 : ev[0] * 1000;
    const at = Math.max(last, Math.round(t));
    last = at;
    if (ev[1] === 'o' && typeof ev[2] === 'string') {
      pending += ev[2];
      since += ev[2].length;
      if (pending.length >= WRITE_BATCH) await flush();
    } else if (ev[1] === 'r' && typeof ev[2] === 'string') {
      const m = /^(\d+)x(\d+)$/.exec(ev[2]);
      if (m) {
        await flush();
        const cols = Math.min(1000, Math.max(2, Number(m[1])));
        const rows = Math.min(500, Math.max(1, Number(m[2])));
        if (cols !== term!.cols || rows !== term!.rows) term!.resize(cols, rows);
      }
    }
    if (since >= KEYFRAME_OUTPUT || (since > 0 && at - lastKfAt >= KEYFRAME_INTERVAL_MS)) await keyframe(at, end);
  };

  let carry: Buffer | null = null;
  for await (const chunk of read(pos)) {
    const buf: Buffer = carry ? Buffer.concat([carry, chunk]) : chunk;
    let i = 0;
    for (let nl = buf.indexOf(0x0a, i); nl >= 0; nl = buf.indexOf(0x0a, i)) {
      const end = pos + (nl + 1 - i);
      await line(buf.toString('utf8', i, nl), end);
      pos = end;
      size = end;
      i = nl + 1;
    }
    carry = i < buf.length ? buf.subarray(i) : null;
  }
  await flush();
  const scanned = pos + (carry?.length ?? 0);
  (term as Terminal | null)?.dispose();
  if (!header) throw new Error('not an asciicast recording (no header line)');
  const h = header as { castVersion: 2 | 3; cols: number; rows: number };
  const index: CastIndex = { version: 1, castVersion: h.castVersion, cols: h.cols, rows: h.rows, size, scanned, durationMs: last, keyframes };
  return { index, snapshots: Buffer.concat(snapshotParts) };
}
