import { useEffect, useState, type FormEvent } from 'react';
import { get, qs } from '../api.ts';
import { dateTime, fromLocalInput } from '../format.ts';
import { Link } from '../router.tsx';
import { InputField, SelectField } from '../ui/form.tsx';
import { ListTable } from '../ui/list-table.tsx';
import { ErrorBanner, LoadMore, PageHeader } from '../ui/widgets.tsx';

interface AuditEntry {
  id: string | number;
  at: number;
  actor: { id: string | null; name: string | null };
  action: string;
  target: { type: string; id: string } | null;
  outcome: string;
  ip: string | null;
  details: Record<string, unknown> | null;
}

type Filters = { actor: string; action: string; targetType: string; targetId: string; outcome: string; from: string; to: string };
const EMPTY: Filters = { actor: '', action: '', targetType: '', targetId: '', outcome: '', from: '', to: '' };

const query = (f: Filters, cursor: string | null) =>
  qs({ actor: f.actor.trim(), action: f.action.trim(), targetType: f.targetType.trim(), targetId: f.targetId.trim(), outcome: f.outcome, from: fromLocalInput(f.from), to: fromLocalInput(f.to), cursor, limit: 100 });

/** The audit log: who did what, newest first, filterable. */
export function AuditPage() {
  const [draft, setDraft] = useState<Filters>(EMPTY);
  const [filters, setFilters] = useState<Filters>(EMPTY);
  const [items, setItems] = useState<AuditEntry[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [loading, setLoading] = useState(true);

  useEffect(() => {
    const ctl = new AbortController();
    setLoading(true);
    get<{ items: AuditEntry[]; nextCursor?: string | null }>(`/audit${query(filters, null)}`, ctl.signal).then(
      (r) => {
        setItems(r.items);
        setCursor(r.nextCursor ?? null);
        setError(null);
        setLoading(false);
      },
      (err: unknown) => {
        if (ctl.signal.aborted) return;
        setError(err);
        setLoading(false);
      },
    );
    return () => ctl.abort();
  }, [filters]);

  const more = () => {
    if (!cursor) return;
    get<{ items: AuditEntry[]; nextCursor?: string | null }>(`/audit${query(filters, cursor)}`).then(
      (r) => {
        setItems((x) => [...x, ...r.items]);
        setCursor(r.nextCursor ?? null);
      },
      (err: unknown) => setError(err),
    );
  };
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setFilters(draft);
  };
  const input = (k: keyof Filters, label: string, placeholder?: string, type = 'text') => (
    <InputField id={`a-${k}`} label={label} type={type} placeholder={placeholder} value={draft[k]} onChange={(v) => setDraft({ ...draft, [k]: v })} />
  );

  return (
    <div className="page page-wide">
      <PageHeader title="Audit log" subtitle="Sign-ins, launches, watching, downloads, terminations, settings and deletions." />
      <form className="card audit-filters" onSubmit={submit}>
        {input('actor', 'Actor', 'user name or id')}
        {input('action', 'Action', 'e.g. session.* or auth.login')}
        {input('targetType', 'Target type', 'session, secret, user…')}
        {input('targetId', 'Target id')}
        <SelectField id="a-outcome" label="Outcome" value={draft.outcome} onChange={(v) => setDraft({ ...draft, outcome: v })} options={[['', 'Any'], ['success', 'success'], ['failure', 'failure']]} />
        {input('from', 'From', undefined, 'datetime-local')}
        {input('to', 'To', undefined, 'datetime-local')}
        <div className="filter-actions">
          <button type="submit" className="button button-primary">
            Filter
          </button>
          <button
            type="button"
            className="button button-ghost"
            onClick={() => {
              setDraft(EMPTY);
              setFilters(EMPTY);
            }}
          >
            Clear
          </button>
        </div>
      </form>
      <ErrorBanner error={error} />
      <ListTable
        label="Audit log"
        className="audit-table"
        rows={items}
        rowKey={(e) => String(e.id)}
        empty={!loading && !error ? 'No audit entries match.' : undefined}
        columns={[
          { header: 'Time', className: 'nowrap', cell: (e) => dateTime(e.at) },
          { header: 'Actor', cell: (e) => e.actor.name ?? <span className="muted">system</span> },
          { header: 'Action', className: 'mono', cell: (e) => e.action },
          {
            header: 'Target',
            className: 'small',
            cell: (e) => (e.target?.type === 'session' ? <Link to={`/sessions/${encodeURIComponent(e.target.id)}/recording`}>session {e.target.id}</Link> : e.target ? `${e.target.type} ${e.target.id}` : '—'),
          },
          { header: 'Outcome', cell: (e) => <span className={`badge ${e.outcome === 'success' ? 'badge-active' : 'badge-terminated'}`}>{e.outcome}</span> },
          { header: 'Address', className: 'mono small', cell: (e) => e.ip ?? '—' },
          { header: 'Details', className: 'mono small details-cell', cell: (e) => (e.details && Object.keys(e.details).length > 0 ? <span title={JSON.stringify(e.details, null, 1)}>{JSON.stringify(e.details)}</span> : '') },
        ]}
      />
      <LoadMore more={cursor !== null} onMore={more} />
    </div>
  );
}
