import { useState } from 'react';
import type { AgentView } from '../../../src/protocol/agents.ts';
import { get, post } from '../api.ts';
import { dateTime } from '../format.ts';
import { useInterval, useLoad } from '../hooks.ts';
import { InputField, useFormErrors } from '../ui/form.tsx';
import { ListTable } from '../ui/list-table.tsx';
import { Card, Dialog, ErrorBanner, Notice, PageHeader, StatusBadge } from '../ui/widgets.tsx';

interface EnrollmentToken {
  id: string;
  token: string;
  expiresAt: number;
}

/** Host agents: enrollment tokens, what each agent reports, and deactivation. */
export function AgentsPage() {
  const agents = useLoad((signal) => get<{ items: AgentView[] }>('/agents', signal), []);
  // Status and last-seen change with every heartbeat: keep the list fresh while the page is open.
  useInterval(() => agents.reload(), 15_000);
  const [minutes, setMinutes] = useState('60');
  const [issued, setIssued] = useState<EnrollmentToken | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [confirming, setConfirming] = useState<AgentView | null>(null);
  const form = useFormErrors();

  const createToken = () => {
    form.reset();
    setNotice(null);
    post<EnrollmentToken>('/agents/enrollment-tokens', { expiresInMinutes: Number(minutes) }).then(setIssued, form.fail);
  };
  const deactivate = (a: AgentView) => {
    setConfirming(null);
    form.reset();
    post<AgentView>(`/agents/${a.id}/deactivate`).then(() => {
      setNotice(`The agent on ${a.hostName} is deactivated.`);
      agents.reload();
    }, form.setBanner);
  };
  const list = agents.data?.items ?? [];
  const server = window.location.origin;

  return (
    <div className="page">
      <PageHeader title="Agents" subtitle="Advanced session recording on target hosts: processes, keystrokes, active window, and sessions not launched through Vigil." />
      {notice ? <Notice kind="success">{notice}</Notice> : null}
      <ErrorBanner error={form.banner ?? agents.error} />
      <ListTable
        label="Agents"
        rows={list}
        rowKey={(a) => a.id}
        empty={agents.data ? 'No agent is enrolled yet. Create an enrollment token below and run the command on the host.' : undefined}
        columns={[
          { header: 'Host', cell: (a) => <span className="strong">{a.hostName}</span> },
          { header: 'Addresses', className: 'mono', cell: (a) => a.addresses.join(', ') || <span className="muted">—</span> },
          { header: 'Version', cell: (a) => a.version },
          { header: 'Status', cell: (a) => <StatusBadge status={a.state === 'deactivated' ? 'deactivated' : a.online ? 'online' : 'offline'} /> },
          { header: 'Capture', cell: (a) => captureLines(a).map((l) => <div key={l} className="small">{l}</div>) },
          { header: 'Sessions', className: 'nowrap', cell: (a) => (a.status ? String(a.status.heldSessions) : '—') },
          { header: 'Last seen', className: 'nowrap', cell: (a) => dateTime(a.lastSeenAt) },
          {
            header: '',
            className: 'col-actions',
            cell: (a) =>
              a.state === 'active' ? (
                <button type="button" className="button button-small button-danger-ghost" onClick={() => setConfirming(a)}>
                  Deactivate
                </button>
              ) : (
                <span className="muted">by {a.deactivatedBy ?? '—'}</span>
              ),
          },
        ]}
      />
      <Card title="Enroll an agent" className="form">
        <div className="card-body">
          <InputField id="enroll-minutes" label="Token valid for (minutes)" value={minutes} onChange={setMinutes} error={form.error('expiresInMinutes')} hint="A token enrolls one host, once." />
          <div className="form-actions">
            <button type="button" className="button button-primary" onClick={createToken}>
              Create enrollment token
            </button>
          </div>
          {issued ? (
            <div className="enroll-token" aria-label="Enrollment token">
              <p>
                Shown only now; valid until {dateTime(issued.expiresAt)}. On the host, as root, save it to a file and run:
              </p>
              <pre className="mono">{`vigil agent enroll --server ${server} --token-file /root/vigil-enroll.token\nvigil agent run`}</pre>
              <pre className="mono token-value">{issued.token}</pre>
            </div>
          ) : null}
        </div>
      </Card>
      <Dialog
        title="Deactivate agent"
        open={confirming !== null}
        onClose={() => setConfirming(null)}
        footer={
          <>
            <button type="button" className="button" onClick={() => setConfirming(null)}>
              Cancel
            </button>
            <button type="button" className="button button-danger" onClick={() => confirming && deactivate(confirming)}>
              Deactivate
            </button>
          </>
        }
      >
        <p>
          Deactivate the agent on <span className="strong">{confirming?.hostName}</span>? At its next heartbeat it stops recording and forgets its credential; enrolling
          the host again needs a new token.
        </p>
      </Dialog>
    </div>
  );
}

function captureLines(a: AgentView): string[] {
  const s = a.status;
  if (!s) return ['—'];
  const parts = [`processes: ${s.processCapture}${s.processCaptureTool ? ` (${s.processCaptureTool})` : ''}`, `logins: ${s.logins}`, `window: ${s.window}`, `transport: ${s.transport ?? 'http'}`];
  if (s.processCapture === 'proc-polling') parts.push('short-lived processes may be missed');
  return parts;
}
