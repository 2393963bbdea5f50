import { clock } from '../format.ts';
import type { ActivityItem } from '../sessions-api.ts';
import { Card } from '../ui/widgets.tsx';
import { visibleText } from './activity-text.ts';

const LABELS: Record<string, string> = {
  path: 'Full path',
  fullPath: 'Full path',
  exe: 'Full path',
  cwd: 'Working directory',
  user: 'User',
  username: 'User',
  pid: 'PID',
  ppid: 'Parent PID',
  args: 'Arguments',
  argv: 'Arguments',
  title: 'Window title',
  windowTitle: 'Window title',
  app: 'Application',
  application: 'Application',
  name: 'Name',
  file: 'File name',
  fileName: 'File name',
  filename: 'File name',
  direction: 'Direction',
  size: 'Size',
  operation: 'Operation',
  to: 'To',
  by: 'By',
  exitCode: 'Exit code',
};
const ORDER = ['name', 'path', 'fullPath', 'exe', 'cwd', 'user', 'username', 'pid', 'ppid', 'args', 'argv', 'title', 'windowTitle', 'app', 'application', 'file', 'fileName', 'filename'];

function valueText(v: unknown): string {
  if (v === null || v === undefined) return '—';
  if (Array.isArray(v)) return v.map((x) => (typeof x === 'string' ? x : JSON.stringify(x))).join(' ');
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

/** The selected activity row in full: its exact time, text and every detail the recorder sent. */
export function ActivityDetails({ row }: { row: ActivityItem | null }) {
  if (!row) return <section className="card details details-empty">Select a row of the activity grid to see its details.</section>;
  const details = row.details ?? {};
  const keys = Object.keys(details).sort((a, b) => {
    const ia = ORDER.indexOf(a);
    const ib = ORDER.indexOf(b);
    return (ia < 0 ? 99 : ia) - (ib < 0 ? 99 : ib) || a.localeCompare(b);
  });
  return (
    <Card title="Details" className="details" label="Details">
      <dl className="details-list">
        <dt>Type</dt>
        <dd>{row.type}</dd>
        <dt>Time</dt>
        <dd className="mono">
          {clock(row.hitAt ?? row.at)} ({(row.hitAt ?? row.at).toLocaleString()} ms)
        </dd>
        <dt>Source</dt>
        <dd>{row.source}</dd>
        <dt>Text</dt>
        <dd className="mono pre">{visibleText(row.text) || '—'}</dd>
        {keys.map((k) => (
          <div className="details-pair" key={k}>
            <dt>{LABELS[k] ?? k}</dt>
            <dd className="mono pre">{valueText(details[k])}</dd>
          </div>
        ))}
      </dl>
      {row.parts && row.parts.length > 1 ? (
        <>
          <h3>Keystrokes in this minute</h3>
          <ul className="parts">
            {row.parts.map((p) => (
              <li key={p.id}>
                <span className="mono muted">{clock(p.at)}</span> <span className="mono">{visibleText(p.text)}</span>
              </li>
            ))}
          </ul>
        </>
      ) : null}
    </Card>
  );
}
