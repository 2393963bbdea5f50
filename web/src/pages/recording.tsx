import { useCallback, useRef, useState } from 'react';
import type { SessionView } from '../../../src/protocol/sessions.ts';
import { useAuth } from '../auth.tsx';
import { bytes } from '../format.ts';
import { useAction, useInterval, useLoad } from '../hooks.ts';
import { Link } from '../router.tsx';
import { getSession, recordingUrl, requestProcessing, type ActivityItem } from '../sessions-api.ts';
import { ActivityDetails } from '../recording/activity-details.tsx';
import { ActivityGrid } from '../recording/activity-grid.tsx';
import { ActivityMapView } from '../recording/activity-map.tsx';
import { CastView } from '../recording/cast-view.tsx';
import type { PlayerHandle } from '../recording/player-handle.ts';
import { buildSshLog, downloadText } from '../recording/ssh-log.ts';
import { VideoView } from '../recording/video-view.tsx';
import { DownloadIcon } from '../ui/icons.tsx';
import { Card, Empty, ErrorBanner, Notice, PageHeader } from '../ui/widgets.tsx';
import { SessionLine } from './watch-live.tsx';

const PROCESSING = new Set(['queued', 'running']);

/** Watch Session Recording: the player, the activity map above its timeline, the grid and details. */
export function RecordingPage({ id, startAt, q }: { id: string; startAt: number | null; q: string }) {
  const session = useLoad((signal) => getSession(id, signal), [id]);
  const s = session.data;
  const player = useRef<PlayerHandle | null>(null);
  const [currentMs, setCurrentMs] = useState(startAt ?? 0);
  const [selected, setSelected] = useState<ActivityItem | null>(null);
  const [format, setFormat] = useState<'webm' | 'mp4'>('webm');
  const lastTime = useRef(0);

  const [playerDuration, setPlayerDuration] = useState(0);
  // A seek asked for before the player is ready (a grid row clicked while it loads) is kept for it.
  const wanted = useRef<number | null>(startAt);
  const onReady = useCallback((h: PlayerHandle) => {
    player.current = h;
    setPlayerDuration(h.durationMs());
    if (wanted.current !== null && wanted.current !== h.currentMs()) h.seek(wanted.current);
  }, []);
  const onTime = useCallback((ms: number) => {
    // Re-render the map's playhead a few times a second, not on every frame.
    if (Math.abs(ms - lastTime.current) < 200 && ms !== 0) return;
    lastTime.current = ms;
    setCurrentMs(ms);
  }, []);
  const seek = useCallback((ms: number) => {
    wanted.current = ms;
    player.current?.seek(ms);
    lastTime.current = ms;
    setCurrentMs(ms);
  }, []);

  const processing = s ? PROCESSING.has(s.recording.processing.state ?? '') : false;
  useInterval(() => session.reload(), processing || s?.status === 'active' ? 2000 : null);

  if (session.error && !s) {
    return (
      <div className="page">
        <PageHeader title="Watch Session Recording" />
        <ErrorBanner error={session.error} />
      </div>
    );
  }
  if (!s) return <div className="page">Loading…</div>;
  const media = s.recording.media;
  return (
    <div className="page page-wide">
      <PageHeader
        title="Watch Session Recording"
        subtitle={<SessionLine s={s} />}
        actions={
          <Link to="/" className="button button-ghost">
            Back to sessions
          </Link>
        }
      />
      {s.recording.storage === 'deleted' ? <Notice kind="warning">This recording was deleted by the retention policy; its activity is still listed.</Notice> : null}
      {media === null ? <Empty>This session has no recording (recording was off for it).</Empty> : null}
      <div className="recording-layout">
        <div className="recording-main">
          {media ? (
            <section className="card player-card">
              <ActivityMapView sessionId={id} currentMs={currentMs} playerDurationMs={playerDuration} onSeek={seek} refreshKey={s.status} />
              {media === 'cast' ? (
                <CastView sessionId={id} startAt={startAt} onReady={onReady} onTime={onTime} />
              ) : (
                <VideoView src={recordingUrl(id, s.recording.mp4 && format === 'mp4' ? 'mp4' : 'webm')} startAt={startAt} onReady={onReady} onTime={onTime} />
              )}
              {media === 'webm' ? <VideoProcessing s={s} format={format} setFormat={setFormat} onRequested={session.reload} /> : null}
            </section>
          ) : null}
          <Downloads s={s} />
        </div>
        <div className="recording-side">
          <ActivityGrid
            sessionId={id}
            initialQ={q}
            selected={selected}
            refreshKey={s.status}
            onSelect={(r) => {
              setSelected(r);
              seek(r.hitAt ?? r.at);
            }}
          />
          <ActivityDetails row={selected} />
        </div>
      </div>
    </div>
  );
}

function VideoProcessing({ s, format, setFormat, onRequested }: { s: SessionView; format: 'webm' | 'mp4'; setFormat: (f: 'webm' | 'mp4') => void; onRequested: () => void }) {
  const auth = useAuth();
  const action = useAction();
  const p = s.recording.processing;
  const running = PROCESSING.has(p.state ?? '');
  const canRequest = auth.can('session-recording.view') || auth.can('session-recording.audit');
  return (
    <div className="processing">
      {s.recording.mp4 ? (
        <div className="format-switch" role="group" aria-label="Video format">
          <button type="button" className={`button button-small${format === 'webm' ? ' button-primary' : ''}`} onClick={() => setFormat('webm')}>
            WebM
          </button>
          <button type="button" className={`button button-small${format === 'mp4' ? ' button-primary' : ''}`} onClick={() => setFormat('mp4')}>
            MP4 (H.264)
          </button>
        </div>
      ) : running ? (
        <div className="progress" aria-label="Video processing">
          <span>Processing video… {p.progress !== null ? `${Math.round(p.progress * 100)}%` : ''}</span>
          <progress max={1} value={p.progress ?? undefined} />
        </div>
      ) : canRequest && s.status !== 'active' && s.recording.storage !== 'deleted' ? (
        <button
          type="button"
          className="button button-small"
          disabled={action.busy}
          onClick={() => action.run(() => requestProcessing(s.id).then(onRequested))}
        >
          Request video processing
        </button>
      ) : null}
      {p.state === 'failed' ? <span className="field-error">Processing failed: {p.error ?? 'unknown error'}</span> : running && p.error ? <span className="muted small">{p.error}</span> : null}
      {action.error ? <span className="field-error">{action.error}</span> : null}
    </div>
  );
}

function Downloads({ s }: { s: SessionView }) {
  const action = useAction();
  const media = s.recording.media;
  return (
    <Card
      title="Downloads"
      className="downloads"
      label="Downloads"
      tools={
        <span className="muted small">
          {s.recording.chunks} chunk{s.recording.chunks === 1 ? '' : 's'} · {bytes(s.recording.bytes)} · stored in {s.recording.storage}
        </span>
      }
    >
      <div className="download-links">
        {media && s.recording.storage !== 'deleted' ? (
          <a className="button button-small" href={recordingUrl(s.id, media, true)} download>
            <DownloadIcon /> Recording (.{media})
          </a>
        ) : null}
        {s.recording.mp4 ? (
          <a className="button button-small" href={recordingUrl(s.id, 'mp4', true)} download>
            <DownloadIcon /> Video (.mp4)
          </a>
        ) : null}
        <button
          type="button"
          className="button button-small"
          disabled={action.busy}
          onClick={() => action.run(() => buildSshLog(s).then((text) => downloadText(`session-${s.id}-log.txt`, text)))}
        >
          <DownloadIcon /> {action.busy ? 'Preparing…' : 'Keystroke and command log (.txt)'}
        </button>
      </div>
      {action.error ? <div className="field-error">{action.error}</div> : null}
      {s.recording.integrity ? (
        <div className="muted small integrity">
          Integrity (hash-chain head): <span className="mono">{s.recording.integrity}</span>
        </div>
      ) : null}
    </Card>
  );
}
