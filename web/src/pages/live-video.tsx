import { useEffect, useRef, useState, type MutableRefObject } from 'react';

/**
 * The MSE type of a desktop stream, read from its WebM header (the track's CodecID, and for AV1
 * the av1C record in CodecPrivate: profile, level, tier, bit depth): a SourceBuffer made for one
 * codec rejects another's initialization segment, and the launcher's codec is a setting.
 */
function webmMimeType(chunk: Uint8Array): string {
  // Only the header (up to the first Cluster) is read: frame data could hold any bytes.
  const cluster = chunk.findIndex((b, i) => b === 0x1f && chunk[i + 1] === 0x43 && chunk[i + 2] === 0xb6 && chunk[i + 3] === 0x75);
  const init = cluster >= 0 ? chunk.subarray(0, cluster) : chunk;
  const at = (needle: number[], from = 0): number => {
    for (let i = from; i + needle.length <= init.length; i++) if (needle.every((b, j) => init[i + j] === b)) return i;
    return -1;
  };
  const ascii = (t: string) => [...t].map((c) => c.charCodeAt(0));
  if (at(ascii('V_VP9')) >= 0) return 'video/webm; codecs="vp9"';
  if (at(ascii('V_AV1')) < 0) return 'video/webm; codecs="vp8"';
  // CodecPrivate (0x63A2), a one-byte size, then av1C: marker/version, profile|level, tier|bit depth…
  const cp = at([0x63, 0xa2]);
  const c = cp >= 0 && init[cp + 3] === 0x81 ? init.subarray(cp + 4, cp + 6) : null;
  if (!c || c.length < 2) return 'video/webm; codecs="av01.0.08M.08"';
  const profile = c[0]! >> 5;
  const level = c[0]! & 0x1f;
  const tier = c[1]! & 0x80 ? 'H' : 'M';
  const depth = c[1]! & 0x40 ? (c[1]! & 0x20 ? 12 : 10) : 8;
  return `video/webm; codecs="av01.${profile}.${String(level).padStart(2, '0')}${tier}.${String(depth).padStart(2, '0')}"`;
}

/**
 * Desktop sessions: the launcher's WebM chunks appended to a MediaSource as they arrive. A viewer
 * that joins mid-stream can only start at a chunk that carries the WebM header; until then it
 * shows a note.
 */
export function LiveVideo({ sink, backlog }: { sink: MutableRefObject<((chunk: Uint8Array, join?: boolean) => void) | null>; backlog: MutableRefObject<Array<[Uint8Array, boolean]>> }) {
  const video = useRef<HTMLVideoElement>(null);
  const [note, setNote] = useState<string | null>('Waiting for the desktop video…');

  useEffect(() => {
    const el = video.current;
    if (!el) return;
    if (typeof MediaSource === 'undefined') {
      setNote('This browser cannot play live video (no Media Source Extensions). Watch the recording instead.');
      return;
    }
    const ms = new MediaSource();
    const url = URL.createObjectURL(ms);
    el.src = url;
    const pending: Uint8Array[] = [];
    let buffer: SourceBuffer | null = null;
    let failed = false;
    const pump = () => {
      if (!buffer || buffer.updating || failed) return;
      const next = pending.shift();
      if (!next) return;
      try {
        buffer.appendBuffer(next as Uint8Array<ArrayBuffer>);
      } catch {
        failed = true;
        setNote('The live video could not be decoded from this point; open the recording to watch it.');
      }
    };
    // The SourceBuffer is made once the source is open and the stream's header has arrived.
    let open = false;
    let first: Uint8Array | null = null;
    const attach = () => {
      if (!open || !first || buffer || failed) return;
      const type = webmMimeType(first);
      if (!MediaSource.isTypeSupported(type)) {
        failed = true;
        setNote(`This browser cannot play this desktop video live (${type}). Watch the recording instead.`);
        return;
      }
      buffer = ms.addSourceBuffer(type);
      buffer.mode = 'sequence';
      buffer.addEventListener('updateend', () => {
        setNote(null);
        if (el.paused) void el.play().catch(() => undefined);
        // Stay near the live edge.
        const b = el.buffered;
        if (b.length > 0 && b.end(b.length - 1) - el.currentTime > 3) el.currentTime = b.end(b.length - 1) - 0.5;
        pump();
      });
      buffer.addEventListener('error', () => {
        failed = true;
        setNote('The live video could not be decoded; open the recording to watch it.');
      });
      pump();
    };
    ms.addEventListener('sourceopen', () => {
      open = true;
      attach();
    });
    // The launcher answers a joining viewer with a `join` frame: the WebM header and the current
    // cluster. Playback starts there (or at any chunk that begins with the header); later join
    // frames (sent for other viewers) would replay a cluster and are skipped.
    let started = false;
    sink.current = (chunk, join) => {
      if (started && join) return;
      if (!started && !join && !startsWithEbmlHeader(chunk)) return;
      started = true;
      first ??= chunk;
      pending.push(chunk);
      attach();
      pump();
    };
    for (const [chunk, join] of backlog.current.splice(0)) sink.current(chunk, join);
    return () => {
      sink.current = null;
      URL.revokeObjectURL(url);
    };
  }, [sink, backlog]);

  return (
    <div className="live-video">
      <video ref={video} muted playsInline aria-label="Live desktop video" />
      {note ? <div className="live-video-note">{note}</div> : null}
    </div>
  );
}

function startsWithEbmlHeader(b: Uint8Array): boolean {
  return b.length >= 4 && b[0] === 0x1a && b[1] === 0x45 && b[2] === 0xdf && b[3] === 0xa3;
}
