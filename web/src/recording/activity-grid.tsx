import { useEffect, useState } from 'react';
import { ACTIVITY_TYPES } from '../../../src/protocol/sessions.ts';
import { errorText } from '../api.ts';
import { clock } from '../format.ts';
import { getActivity, type ActivityItem } from '../sessions-api.ts';
import { Highlight } from '../ui/highlight.tsx';
import { Card, ErrorBanner, LoadMore } from '../ui/widgets.tsx';
import { visibleText } from './activity-text.ts';

export const rowKey = (r: ActivityItem) => `${r.type}-${r.id}`;

/** The activity grid: time, type, text; searchable; a row click jumps the player there. */
export function ActivityGrid({ sessionId, initialQ, selected, onSelect, refreshKey }: { sessionId: string; initialQ: string; selected: ActivityItem | null; onSelect: (r: ActivityItem) => void; refreshKey: unknown }) {
  const [q, setQ] = useState(initialQ);
  const [applied, setApplied] = useState(initialQ);
  const [type, setType] = useState('');
  const [rows, setRows] = useState<ActivityItem[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [loading, setLoading] = useState(true);

  useEffect(() => {
    const t = setTimeout(() => setApplied(q.trim()), 300);
    return () => clearTimeout(t);
  }, [q]);

  useEffect(() => {
    const ctl = new AbortController();
    setLoading(true);
    getActivity(sessionId, { q: applied, type }, ctl.signal).then(
      (page) => {
        setRows(page.items);
        setCursor(page.nextCursor);
        setError(null);
        setLoading(false);
      },
      (err: unknown) => {
        if (ctl.signal.aborted) return;
        setError(errorText(err));
        setLoading(false);
      },
    );
    return () => ctl.abort();
  }, [sessionId, applied, type, refreshKey]);

  const more = () => {
    if (!cursor) return;
    getActivity(sessionId, { q: applied, type, cursor }).then(
      (page) => {
        setRows((r) => [...r, ...page.items]);
        setCursor(page.nextCursor);
      },
      (err: unknown) => setError(errorText(err)),
    );
  };

  return (
    <Card
      title="Activity"
      className="activity-grid"
      label="Activity"
      tools={
        <div className="grid-tools">
          <input type="search" aria-label="Search activity" placeholder="Search this session…" value={q} maxLength={256} onChange={(e) => setQ(e.target.value)} />
          <select aria-label="Activity type" value={type} onChange={(e) => setType(e.target.value)}>
            <option value="">All types</option>
            {ACTIVITY_TYPES.map((t) => (
              <option key={t} value={t}>
                {t}
              </option>
            ))}
          </select>
        </div>
      }
    >
      <ErrorBanner error={error} />
      <div className="grid-scroll">
        <table className="table grid-table">
          <thead>
            <tr>
              <th className="col-time">Time</th>
              <th className="col-type">Type</th>
              <th>Text</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => {
              const key = rowKey(r);
              const isSel = selected !== null && rowKey(selected) === key;
              return (
                <tr
                  key={key}
                  className={`grid-row${isSel ? ' selected' : ''}`}
                  data-at={r.hitAt ?? r.at}
                  tabIndex={0}
                  aria-selected={isSel}
                  onClick={() => onSelect(r)}
                  onKeyDown={(e) => {
                    if (e.key === 'Enter' || e.key === ' ') {
                      e.preventDefault();
                      onSelect(r);
                    }
                  }}
                >
                  <td className="mono nowrap">{clock(r.hitAt ?? r.at)}</td>
                  <td>
                    <span className={`type-badge type-${r.type}`}>{r.type}</span>
                  </td>
                  <td className="grid-text mono">
                    <Highlight text={visibleText(r.text)} q={applied} />
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
        {!loading && rows.length === 0 ? <div className="empty small">{applied ? `Nothing in this session matches “${applied}”.` : 'No activity recorded.'}</div> : null}
      </div>
      <LoadMore more={cursor !== null} onMore={more} small />
    </Card>
  );
}
