import { useCallback, useEffect, useRef, useState, type FormEvent } from 'react';
import { SEARCH_SOURCES, SESSION_KINDS, type SearchSource } from '../../../src/protocol/sessions.ts';
import { errorText } from '../api.ts';
import { useAuth } from '../auth.tsx';
import { clock, dateTime, duration, fromLocalInput } from '../format.ts';
import { useInterval } from '../hooks.ts';
import { Link, navigate } from '../router.tsx';
import { searchSessions, type SearchFilters, type SessionItem } from '../sessions-api.ts';
import { Highlight } from '../ui/highlight.tsx';
import { CameraIcon, EyeIcon, SearchIcon, StopIcon } from '../ui/icons.tsx';
import { InputField, SelectField } from '../ui/form.tsx';
import { Checkbox, Empty, ErrorBanner, LoadMore, Notice, PageHeader, StatusBadge, Tabs } from '../ui/widgets.tsx';
import { TerminateDialog } from './terminate-dialog.tsx';

const SOURCE_LABELS: Record<SearchSource, string> = {
  'proxy-keystrokes': 'Proxied SSH client data',
  'agent-keystrokes': 'Agent keystroke data',
  applications: 'Application names',
  output: 'Screen text',
  metadata: 'Metadata',
};

const EMPTY_FILTERS: SearchFilters = { q: '', in: [...SEARCH_SOURCES], user: '', secret: '', host: '', kind: '', from: undefined, to: undefined };
const REFRESH_MS = 5000;

export const recordingLink = (s: SessionItem, q: string): string => {
  const hit = s.hits.find((h) => h.source !== 'metadata') ?? s.hits[0];
  const params = new URLSearchParams();
  if (hit && q) {
    params.set('at', String(hit.at));
    params.set('q', q);
  }
  const tail = params.toString();
  return `/sessions/${encodeURIComponent(s.id)}/recording${tail ? `?${tail}` : ''}`;
};

/** Admin › Session Monitoring: active and ended sessions, searched across everything recorded. */
export function MonitoringPage() {
  const auth = useAuth();
  const canAdminister = auth.can('session-monitoring.administer');
  const canWatch = auth.can('session-monitoring.view');
  const canPlay = auth.can('session-recording.view') || auth.can('session-recording.audit');

  const [tab, setTab] = useState<'active' | 'ended'>('active');
  const [draft, setDraft] = useState<SearchFilters>(EMPTY_FILTERS);
  const [fromText, setFromText] = useState('');
  const [toText, setToText] = useState('');
  const [filters, setFilters] = useState<SearchFilters>(EMPTY_FILTERS);
  const [items, setItems] = useState<SessionItem[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<unknown>(null);
  const [updatedAt, setUpdatedAt] = useState<number | null>(null);
  const [control, setControl] = useState<SessionItem | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const ctl = useRef<AbortController | null>(null);

  const load = useCallback(
    (quiet: boolean) => {
      ctl.current?.abort();
      const c = new AbortController();
      ctl.current = c;
      if (!quiet) setLoading(true);
      searchSessions(tab, filters, null, c.signal).then(
        (page) => {
          if (c.signal.aborted) return;
          setItems(page.items);
          setCursor(page.nextCursor);
          setError(null);
          setLoading(false);
          setUpdatedAt(Date.now());
        },
        (err: unknown) => {
          if (c.signal.aborted) return;
          setError(err);
          setLoading(false);
        },
      );
    },
    [tab, filters],
  );

  useEffect(() => {
    load(false);
    return () => ctl.current?.abort();
  }, [load]);
  // The active list follows sessions starting and ending by itself (only while on its first page).
  useInterval(() => {
    if (tab === 'active' && !control) load(true);
  }, tab === 'active' ? REFRESH_MS : null);

  const more = () => {
    if (!cursor) return;
    searchSessions(tab, filters, cursor).then(
      (page) => {
        setItems((prev) => [...prev, ...page.items]);
        setCursor(page.nextCursor);
      },
      (err: unknown) => setError(err),
    );
  };

  const submit = (e: FormEvent) => {
    e.preventDefault();
    setFilters({ ...draft, from: fromLocalInput(fromText), to: fromLocalInput(toText) });
  };
  const clear = () => {
    setDraft(EMPTY_FILTERS);
    setFromText('');
    setToText('');
    setFilters(EMPTY_FILTERS);
  };
  const toggleSource = (s: SearchSource, on: boolean) => setDraft((d) => ({ ...d, in: on ? [...d.in, s] : d.in.filter((x) => x !== s) }));
  const q = filters.q.trim();

  return (
    <div className="page page-wide">
      <PageHeader
        title="Session Monitoring"
        subtitle="Watch active sessions, and search everything recorded in active and ended ones."
      />
      {notice ? <Notice kind="success">{notice}</Notice> : null}
      <form className="searchbar" role="search" onSubmit={submit}>
        <SearchIcon className="searchbar-icon" />
        <input
          type="search"
          name="q"
          aria-label="Search sessions"
          placeholder="Search keystrokes, commands, applications, screen text, users, secrets, hosts…"
          value={draft.q}
          maxLength={256}
          onChange={(e) => setDraft({ ...draft, q: e.target.value })}
        />
        <button type="submit" className="button button-primary">
          Search
        </button>
      </form>
      <div className="monitoring">
        <aside className="filters" aria-label="Filters">
          <fieldset>
            <legend>Search in</legend>
            {SEARCH_SOURCES.map((s) => (
              <Checkbox key={s} id={`in-${s}`} label={SOURCE_LABELS[s]} checked={draft.in.includes(s)} onChange={(on) => toggleSource(s, on)} />
            ))}
          </fieldset>
          <InputField id="f-user" label="User" value={draft.user} onChange={(v) => setDraft({ ...draft, user: v })} />
          <InputField id="f-secret" label="Secret" value={draft.secret} onChange={(v) => setDraft({ ...draft, secret: v })} />
          <InputField id="f-host" label="Host" value={draft.host} onChange={(v) => setDraft({ ...draft, host: v })} />
          <SelectField id="f-kind" label="Kind" value={draft.kind} onChange={(v) => setDraft({ ...draft, kind: v })} options={[['', 'Any'], ...SESSION_KINDS.map((k) => [k, k] as const)]} />
          <InputField id="f-from" label="Started from" type="datetime-local" value={fromText} onChange={setFromText} />
          <InputField id="f-to" label="Started until" type="datetime-local" value={toText} onChange={setToText} />
          <div className="filter-actions">
            <button type="button" className="button button-primary" onClick={(e) => submit(e)}>
              Apply
            </button>
            <button type="button" className="button button-ghost" onClick={clear}>
              Clear
            </button>
          </div>
        </aside>
        <section className="results">
          <div className="results-head">
            <Tabs
              tabs={[
                { id: 'active', label: 'Active sessions' },
                { id: 'ended', label: 'Ended sessions' },
              ]}
              value={tab}
              onChange={(t) => {
                setItems([]);
                setTab(t);
              }}
            />
            <span className="muted small" aria-live="polite">
              {loading ? 'Loading…' : `${items.length}${cursor ? '+' : ''} session${items.length === 1 ? '' : 's'}`}
              {tab === 'active' && updatedAt ? ` · updates every ${REFRESH_MS / 1000} s` : ''}
            </span>
          </div>
          <ErrorBanner error={error ? errorText(error) : null} />
          {!loading && items.length === 0 && !error ? (
            <Empty>{q ? `No ${tab} session matches “${q}”.` : tab === 'active' ? 'No active sessions right now.' : 'No ended sessions match the filters.'}</Empty>
          ) : null}
          {items.length > 0 ? (
            <table className="table sessions-table" aria-label={`${tab} sessions`}>
              <thead>
                <tr>
                  <th className="col-icon" aria-label="Recording" />
                  <th>User</th>
                  <th>Secret</th>
                  <th>Host</th>
                  <th>Kind</th>
                  <th>Start</th>
                  <th>Duration</th>
                  <th>Status</th>
                  {tab === 'active' && (canWatch || canAdminister) ? <th className="col-actions">Actions</th> : null}
                </tr>
              </thead>
              {items.map((s) => (
                <tbody key={s.id} className="session-group" data-session-id={s.id}>
                  <tr className="session-row">
                    <td className="col-icon">
                      {canPlay && s.recording.media && s.recording.chunks > 0 ? (
                        <Link to={recordingLink(s, q)} className="icon-button" title="Watch session recording" aria-label="Watch session recording">
                          <CameraIcon />
                        </Link>
                      ) : null}
                    </td>
                    <td className="cell-clip" title={s.user.name}>{s.user.name}</td>
                    <td className="cell-clip" title={s.secret.name ?? undefined}>{s.secret.name ?? '—'}</td>
                    <td className="cell-clip">
                      <span className="mono">{s.target.host}</span>
                      <div className="muted small">{s.target.user}</div>
                    </td>
                    <td>{s.kind}</td>
                    <td className="nowrap" title={dateTime(s.startedAt)}>
                      {dateTime(s.startedAt).slice(11)}
                      <div className="muted small">{dateTime(s.startedAt).slice(0, 10)}</div>
                    </td>
                    <td className="nowrap">{duration(s.durationMs ?? (s.status === 'active' ? Date.now() - s.startedAt : null))}</td>
                    <td>
                      <StatusBadge status={s.status} />
                    </td>
                    {tab === 'active' && (canWatch || canAdminister) ? (
                      <td className="col-actions nowrap">
                        {canWatch && s.status === 'active' ? (
                          <Link to={`/sessions/${encodeURIComponent(s.id)}/live`} className="button button-small">
                            <EyeIcon /> Watch Live
                          </Link>
                        ) : null}
                        {canAdminister && s.status === 'active' ? (
                          <button type="button" className="button button-small button-danger-ghost" onClick={() => setControl(s)}>
                            <StopIcon /> Terminate
                          </button>
                        ) : null}
                      </td>
                    ) : null}
                  </tr>
                  {s.hits.length > 0 ? (
                    <tr className="hits-row">
                      <td />
                      <td colSpan={tab === 'active' && (canWatch || canAdminister) ? 8 : 7}>
                        <ul className="hits" aria-label="Matches">
                          {s.hits.map((h, i) => (
                            <li key={`${h.eventId ?? 'm'}-${i}`}>
                              <button
                                type="button"
                                className="hit"
                                disabled={!canPlay || !s.recording.media}
                                onClick={() => navigate(`/sessions/${encodeURIComponent(s.id)}/recording?at=${h.at}&q=${encodeURIComponent(q)}`)}
                              >
                                <span className={`type-badge type-${h.type}`}>{h.type}</span>
                                {h.source !== 'metadata' ? <span className="hit-at mono">{clock(h.at)}</span> : null}
                                <span className="hit-snippet">
                                  <Highlight text={h.snippet} q={q} />
                                </span>
                              </button>
                            </li>
                          ))}
                        </ul>
                      </td>
                    </tr>
                  ) : null}
                </tbody>
              ))}
            </table>
          ) : null}
          <LoadMore more={cursor !== null} onMore={more} />
        </section>
      </div>
      <TerminateDialog
        session={control}
        onClose={() => setControl(null)}
        onDone={(what) => {
          setControl(null);
          setNotice(what);
          load(true);
        }}
      />
    </div>
  );
}
