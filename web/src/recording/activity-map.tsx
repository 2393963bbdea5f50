import type { MouseEvent } from 'react';
import { clock } from '../format.ts';
import { useLoad } from '../hooks.ts';
import { getActivityMap } from '../sessions-api.ts';

export const MAP_BUCKETS = 240;
const SERIES: Array<{ key: string; label: string }> = [
  { key: 'screen-change', label: 'Screen changes' },
  { key: 'keystrokes', label: 'Keystrokes' },
  { key: 'commands', label: 'Commands' },
  { key: 'processes', label: 'Processes' },
  { key: 'windows', label: 'Windows' },
];
const LANE = 14;
const GAP = 4;
/** SVG user units across; bars are placed by time, not by bucket index. */
const WIDTH = 1000;

/**
 * Where activity clusters over the session: one lane per kind of activity, one bar per bucket,
 * scaled within its lane. Clicking anywhere seeks the player to that moment.
 */
export function ActivityMapView({ sessionId, currentMs, playerDurationMs, onSeek, refreshKey }: { sessionId: string; currentMs: number; playerDurationMs: number; onSeek: (ms: number) => void; refreshKey: unknown }) {
  const map = useLoad((signal) => getActivityMap(sessionId, MAP_BUCKETS, signal), [sessionId, refreshKey]);
  const m = map.data;
  if (map.error) return <div className="activity-map activity-map-empty">The activity map is unavailable.</div>;
  if (!m) return <div className="activity-map activity-map-empty">Loading activity…</div>;
  const height = SERIES.length * (LANE + GAP);
  // One time axis for map and player: the longer of the session's span and the recording's.
  const duration = Math.max(1, m.durationMs, playerDurationMs);
  const x = (ms: number) => (ms / duration) * WIDTH;
  const click = (e: MouseEvent<SVGSVGElement>) => {
    const r = e.currentTarget.getBoundingClientRect();
    const frac = Math.min(1, Math.max(0, (e.clientX - r.left) / r.width));
    onSeek(Math.round(frac * duration));
  };
  const head = x(Math.min(currentMs, duration));
  const barWidth = Math.max(0.5, x(m.bucketMs) * 0.84);
  return (
    <div className="activity-map" data-duration-ms={duration} data-bucket-ms={m.bucketMs}>
      <div className="activity-map-labels" aria-hidden>
        {SERIES.map((s) => (
          <div key={s.key} className={`map-label map-${s.key}`}>
            {s.label}
          </div>
        ))}
      </div>
      <div className="activity-map-plot">
        <svg
          role="img"
          aria-label="Activity map: click to seek"
          viewBox={`0 0 ${WIDTH} ${height}`}
          preserveAspectRatio="none"
          onClick={click}
          className="activity-map-svg"
        >
          {SERIES.map((s, lane) => {
            const values = m.series[s.key] ?? [];
            const max = Math.max(1, ...values);
            const y0 = lane * (LANE + GAP);
            return (
              <g key={s.key} className={`map-series map-${s.key}`}>
                <rect className="map-lane" x={0} y={y0} width={WIDTH} height={LANE} />
                {values.map((v, i) => {
                  if (v <= 0) return null;
                  const h = Math.max(2, (v / max) * LANE);
                  return (
                    <rect key={i} className="map-bar" x={x(i * m.bucketMs)} y={y0 + LANE - h} width={barWidth} height={h}>
                      <title>{`${s.label}: ${v} at ${clock(i * m.bucketMs)}`}</title>
                    </rect>
                  );
                })}
              </g>
            );
          })}
          <line className="map-playhead" x1={head} x2={head} y1={0} y2={height} />
        </svg>
        <div className="activity-map-axis mono" aria-hidden>
          <span>0:00</span>
          <span>{clock(duration / 2)}</span>
          <span>{clock(duration)}</span>
        </div>
      </div>
    </div>
  );
}
