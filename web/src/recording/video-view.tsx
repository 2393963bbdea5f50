import { useEffect, useRef } from 'react';
import type { PlayerHandle } from './player-handle.ts';

/** A desktop recording (WebM or MP4) in the browser's own player. */
export function VideoView({ src, startAt, onReady, onTime }: { src: string; startAt: number | null; onReady: (h: PlayerHandle) => void; onTime: (ms: number) => void }) {
  const ref = useRef<HTMLVideoElement>(null);
  useEffect(() => {
    const v = ref.current;
    if (!v) return;
    let first = true;
    const onMeta = () => {
      if (first && startAt !== null) v.currentTime = startAt / 1000;
      first = false;
    };
    const time = () => onTime(v.currentTime * 1000);
    v.addEventListener('loadedmetadata', onMeta);
    v.addEventListener('timeupdate', time);
    v.addEventListener('seeked', time);
    const handle: PlayerHandle = {
      seek: (ms) => {
        v.currentTime = ms / 1000;
        onTime(ms);
      },
      currentMs: () => v.currentTime * 1000,
      durationMs: () => (Number.isFinite(v.duration) ? v.duration * 1000 : 0),
    };
    const durationChanged = () => onReady(handle);
    v.addEventListener('durationchange', durationChanged);
    onReady(handle);
    return () => {
      v.removeEventListener('loadedmetadata', onMeta);
      v.removeEventListener('timeupdate', time);
      v.removeEventListener('seeked', time);
      v.removeEventListener('durationchange', durationChanged);
    };
  }, [src, startAt, onReady, onTime]);
  return (
    <div className="player player-video" data-player="video">
      <video ref={ref} src={src} controls preload="metadata" aria-label="Desktop recording" />
    </div>
  );
}
