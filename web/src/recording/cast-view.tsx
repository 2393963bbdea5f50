import { useEffect, useState } from 'react';
import { errorText } from '../api.ts';
import { clock } from '../format.ts';
import { CastPlayer } from '../terminal/cast-player.ts';
import { CastSource } from '../terminal/cast-source.ts';
import { TerminalView } from '../terminal/terminal-view.tsx';
import { PauseIcon, PlayIcon } from '../ui/icons.tsx';
import { ErrorBanner } from '../ui/widgets.tsx';
import type { PlayerHandle } from './player-handle.ts';

const SPEEDS = [0.5, 1, 2, 4, 8, 16];

/** A terminal recording (asciicast) with play/pause, speed and a seek bar. */
export function CastView({ sessionId, startAt, onReady, onTime }: { sessionId: string; startAt: number | null; onReady: (h: PlayerHandle) => void; onTime: (ms: number) => void }) {
  const [player, setPlayer] = useState<CastPlayer | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [, setTick] = useState(0);

  useEffect(() => {
    const ctl = new AbortController();
    let p: CastPlayer | null = null;
    // The seek index, then only the keyframe and the part of the cast at the start point.
    CastSource.open(sessionId, ctl.signal)
      .then(async (source) => {
        if (ctl.signal.aborted) return;
        p = new CastPlayer(source);
        await p.seek(startAt ?? 0);
        if (ctl.signal.aborted) return;
        setPlayer(p);
      })
      .catch((err: unknown) => {
        if (!ctl.signal.aborted) setError(errorText(err));
      });
    return () => {
      ctl.abort();
      p?.dispose();
    };
    // startAt applies to the first load only; later jumps go through the handle.
  }, [sessionId]);

  useEffect(() => {
    if (!player) return;
    const handle: PlayerHandle = {
      seek: (ms) => {
        void player.seek(ms);
      },
      currentMs: () => player.currentMs,
      durationMs: () => player.durationMs,
    };
    onReady(handle);
    return player.subscribe(() => {
      setTick((n) => n + 1);
      onTime(player.currentMs);
    });
  }, [player, onReady, onTime]);

  if (error) return <ErrorBanner error={error} />;
  if (!player) return <div className="player-loading">Loading recording…</div>;
  const cur = player.currentMs;
  return (
    <div className="player" data-player="cast">
      <TerminalView screen={player.screen} label="Terminal recording" />
      <div className="player-controls">
        <button type="button" className="icon-button player-play" aria-label={player.isPlaying ? 'Pause' : 'Play'} onClick={() => (player.isPlaying ? player.pause() : player.play())}>
          {player.isPlaying ? <PauseIcon /> : <PlayIcon />}
        </button>
        <span className="player-time mono" data-current-ms={Math.round(cur)} aria-label="Current time">
          {clock(cur)} / {clock(player.durationMs)}
        </span>
        <input
          className="player-seek"
          type="range"
          aria-label="Seek"
          min={0}
          max={Math.max(1, player.durationMs)}
          step={100}
          value={Math.min(cur, player.durationMs)}
          onChange={(e) => void player.seek(Number(e.target.value))}
        />
        <select aria-label="Speed" value={player.rate} onChange={(e) => player.setSpeed(Number(e.target.value))}>
          {SPEEDS.map((s) => (
            <option key={s} value={s}>
              {s}×
            </option>
          ))}
        </select>
      </div>
    </div>
  );
}
