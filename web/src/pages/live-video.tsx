import { useEffect, useRef, useState, type MutableRefObject } from 'react';

const TYPES = ['video/webm; codecs="vp8"', 'video/webm; codecs="vp9"', 'video/webm'];

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
    const type = TYPES.find((t) => MediaSource.isTypeSupported(t));
    if (!type) {
      setNote('This browser cannot play WebM video live.');
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
    ms.addEventListener('sourceopen', () => {
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
    });
    // The launcher answers a joining viewer with a `join` frame: the WebM header and the current
    // cluster. Playback starts there (or at any chunk that begins with the header); later join
    // frames (sent for other viewers) would replay a cluster and are skipped.
    let started = false;
    sink.current = (chunk, join) => {
      if (started && join) return;
      if (!started && !join && !startsWithEbmlHeader(chunk)) return;
      started = true;
      pending.push(chunk);
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
