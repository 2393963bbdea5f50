import { useEffect, useMemo, useRef, useState } from 'react';
import type { SessionView } from '../../../src/protocol/sessions.ts';
import { useAuth } from '../auth.tsx';
import { dateTime } from '../format.ts';
import { useLoad } from '../hooks.ts';
import { Link } from '../router.tsx';
import { getSession, type SessionItem } from '../sessions-api.ts';
import { Screen } from '../terminal/screen.ts';
import { TerminalView } from '../terminal/terminal-view.tsx';
import { StopIcon } from '../ui/icons.tsx';
import { ErrorBanner, Notice, PageHeader, StatusBadge } from '../ui/widgets.tsx';
import { LiveVideo } from './live-video.tsx';
import { TerminateDialog } from './terminate-dialog.tsx';

type Frame =
  | { type: 'hello'; status: string; kind: string; media: string | null }
  | { type: 'snapshot'; cols?: number; rows?: number; data?: string }
  | { type: 'output'; data?: string }
  | { type: 'media'; data?: string; seq?: number; join?: boolean }
  | { type: 'end'; status?: string; reason?: string | null };

export const fromBase64 = (b64: string): Uint8Array => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));

/** Watch Live: the session's terminal (read-only) or desktop video as the user sees it now. */
export function WatchLivePage({ id }: { id: string }) {
  const auth = useAuth();
  const session = useLoad((signal) => getSession(id, signal), [id]);
  const screen = useMemo(() => new Screen({ cols: 80, rows: 24, scrollback: 0, cursor: true }), [id]);
  const [state, setState] = useState<'connecting' | 'live' | 'ended' | 'closed'>('connecting');
  const [endNote, setEndNote] = useState<string | null>(null);
  const [kind, setKind] = useState<string | null>(null);
  const [control, setControl] = useState(false);
  const [notice, setNotice] = useState<string | null>(null);
  const mediaSink = useRef<((chunk: Uint8Array, join?: boolean) => void) | null>(null);
  // Media that arrives before the video element is mounted (the holder answers a joining viewer
  // at once, often before React has rendered the player): kept for the player, bounded.
  const mediaBacklog = useRef<Array<[Uint8Array, boolean]>>([]);

  useEffect(() => () => screen.dispose(), [screen]);

  useEffect(() => {
    const proto = window.location.protocol === 'https:' ? 'wss:' : 'ws:';
    const ws = new WebSocket(`${proto}//${window.location.host}/api/v1/sessions/${encodeURIComponent(id)}/live`);
    let ended = false;
    ws.onmessage = (ev: MessageEvent<string>) => {
      let f: Frame;
      try {
        f = JSON.parse(ev.data) as Frame;
      } catch {
        return;
      }
      switch (f.type) {
        case 'hello':
          setKind(f.kind);
          setState(f.status === 'active' ? 'live' : 'ended');
          if (f.status !== 'active') setEndNote(`The session is ${f.status}.`);
          break;
        case 'snapshot':
          screen.reset();
          screen.resize(f.cols ?? 80, f.rows ?? 24);
          if (f.data) void screen.write(f.data);
          break;
        case 'output':
          if (f.data) void screen.write(fromBase64(f.data));
          break;
        case 'media':
          if (!f.data) break;
          if (mediaSink.current) mediaSink.current(fromBase64(f.data), f.join === true);
          else if (mediaBacklog.current.length < 64) mediaBacklog.current.push([fromBase64(f.data), f.join === true]);
          break;
        case 'end':
          ended = true;
          setState('ended');
          setEndNote(`The session ${f.status === 'terminated' ? 'was terminated' : 'ended'}${f.reason ? `: ${f.reason}` : '.'}`);
          session.reload();
          break;
        default:
          break; // holders may add frame types; viewers ignore them
      }
    };
    ws.onclose = (ev) => {
      if (!ended) {
        setState((s) => (s === 'ended' ? s : 'closed'));
        if (ev.code !== 1000 && ev.reason) setEndNote(`Live view closed: ${ev.reason}`);
      }
    };
    return () => ws.close();
    // session.reload is stable: reconnect only for another session.
  }, [id, screen]);

  const s = session.data;
  const isDesktop = (kind ?? s?.kind) === 'desktop';
  return (
    <div className="page page-wide">
      <PageHeader
        title="Watch Live"
        subtitle={s ? <SessionLine s={s} /> : 'Loading…'}
        actions={
          <>
            <span className={`live-pill live-${state}`} aria-live="polite">
              {state === 'live' ? '● Live' : state === 'connecting' ? 'Connecting…' : state === 'ended' ? 'Ended' : 'Disconnected'}
            </span>
            {s && s.status === 'active' && auth.can('session-monitoring.administer') ? (
              <button type="button" className="button button-danger-ghost" onClick={() => setControl(true)}>
                <StopIcon /> Terminate
              </button>
            ) : null}
            <Link to="/" className="button button-ghost">
              Back to sessions
            </Link>
          </>
        }
      />
      <ErrorBanner error={session.error} />
      {notice ? <Notice kind="success">{notice}</Notice> : null}
      {endNote ? <Notice kind="warning">{endNote}</Notice> : null}
      {isDesktop ? (
        <LiveVideo sink={mediaSink} backlog={mediaBacklog} />
      ) : (
        <div className="live-terminal">
          <TerminalView screen={screen} label="Live terminal" />
        </div>
      )}
      {s && control ? (
        <TerminateDialog
          session={{ ...s, hits: [] } satisfies SessionItem}
          onClose={() => setControl(false)}
          onDone={(what) => {
            setControl(false);
            setNotice(what);
            session.reload();
          }}
        />
      ) : null}
    </div>
  );
}

export function SessionLine({ s }: { s: SessionView }) {
  return (
    <span className="session-line">
      <strong>{s.user.name}</strong> on <strong>{s.secret.name ?? '—'}</strong> · <span className="mono">{s.target.user}@{s.target.host}</span> · {s.kind} · started {dateTime(s.startedAt)} ·{' '}
      <StatusBadge status={s.status} />
    </span>
  );
}
