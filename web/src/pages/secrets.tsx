import { useState } from 'react';
import type { RoleView, UserView } from '../../../src/protocol/identity.ts';
import { DEFAULT_PORTS, type SecretView } from '../../../src/protocol/secrets.ts';
import { del, get, patch, post } from '../api.ts';
import { useAuth } from '../auth.tsx';
import { dateTime } from '../format.ts';
import { useLoad } from '../hooks.ts';
import { InputField, SelectField, toggle, useEditDialog } from '../ui/form.tsx';
import { ListTable } from '../ui/list-table.tsx';
import { Checkbox, Dialog, ErrorBanner, Notice, PageHeader } from '../ui/widgets.tsx';

interface Draft {
  name: string;
  kind: 'ssh' | 'desktop';
  host: string;
  port: string;
  username: string;
  credentialType: 'keep' | 'password' | 'private-key' | 'none';
  password: string;
  privateKey: string;
  passphrase: string;
  launcherType: 'rdp' | 'ssh' | 'process';
  launcherCommand: string;
  video: boolean;
  keystrokes: boolean;
  users: string[];
  roles: string[];
}

const blank: Draft = {
  name: '', kind: 'ssh', host: '', port: '', username: '', credentialType: 'password', password: '', privateKey: '', passphrase: '',
  launcherType: 'rdp', launcherCommand: '', video: true, keystrokes: true, users: [], roles: [],
};

function draftOf(s: SecretView): Draft {
  return {
    ...blank,
    name: s.name, kind: s.kind, host: s.host, port: String(s.port), username: s.username, credentialType: 'keep',
    launcherType: s.launcher?.type ?? 'rdp', launcherCommand: s.launcher?.command ?? '', video: s.recording.video, keystrokes: s.recording.keystrokes,
    users: s.access.users, roles: s.access.roles,
  };
}

/** The request body. Credentials are write-only: they are sent only when typed, never shown. */
function bodyOf(d: Draft, editing: boolean): Record<string, unknown> {
  const b: Record<string, unknown> = {
    name: d.name, kind: d.kind, host: d.host, username: d.username,
    recording: { video: d.video, keystrokes: d.keystrokes },
    access: { users: d.users, roles: d.roles },
  };
  if (d.port.trim() !== '') b.port = Number.isFinite(Number(d.port)) ? Number(d.port) : d.port;
  if (d.kind === 'desktop') b.launcher = d.launcherType === 'process' ? { type: 'process', command: d.launcherCommand } : { type: d.launcherType };
  else if (editing) b.launcher = null;
  if (d.credentialType === 'password' && d.password !== '') b.password = d.password;
  if (d.credentialType === 'private-key' && d.privateKey !== '') {
    b.privateKey = d.privateKey;
    if (d.passphrase !== '') b.passphrase = d.passphrase;
  }
  if (d.credentialType === 'none' && editing) {
    b.password = null;
    b.privateKey = null;
  }
  return b;
}

/** Secrets: administrators manage them; other users see the secrets they may launch. */
export function SecretsPage() {
  const auth = useAuth();
  const admin = auth.can('secrets.administer');
  const canListPeople = auth.can('users.administer');
  const list = useLoad((signal) => get<{ items: SecretView[] }>('/secrets', signal), []);
  const users = useLoad((signal) => (canListPeople ? get<{ items: UserView[] }>('/users', signal) : Promise.resolve({ items: [] as UserView[] })), [canListPeople]);
  const roles = useLoad((signal) => (canListPeople ? get<{ items: RoleView[] }>('/roles', signal) : Promise.resolve({ items: [] as RoleView[] })), [canListPeople]);
  const [notice, setNotice] = useState<string | null>(null);
  const dlg = useEditDialog<SecretView, Draft, SecretView>({
    blank: () => blank,
    draftOf,
    save: (d, editing) => (editing === 'new' ? post<SecretView>('/secrets', bodyOf(d, false)) : patch<SecretView>(`/secrets/${editing.id}`, bodyOf(d, true))),
    onSaved: (s, isNew) => {
      setNotice(`Secret ${s.name} ${isNew ? 'created' : 'saved'}.`);
      list.reload();
    },
  });
  const { draft, set, error: err } = dlg;

  const remove = (s: SecretView) => {
    if (!window.confirm(`Delete the secret ${s.name}? Sessions recorded with it are kept.`)) return;
    del(`/secrets/${s.id}`).then(
      () => {
        setNotice(`Secret ${s.name} deleted.`);
        list.reload();
      },
      dlg.setBanner,
    );
  };

  const userName = (id: string) => users.data?.items.find((u) => u.id === id)?.username ?? id.slice(0, 8);
  const roleName = (id: string) => roles.data?.items.find((r) => r.id === id)?.name ?? id.slice(0, 8);
  const editing = dlg.editing;

  return (
    <div className="page page-wide">
      <PageHeader
        title="Secrets"
        subtitle={admin ? 'Stored credentials for servers and desktops, and how their sessions are recorded.' : 'The secrets you may launch.'}
        actions={
          admin ? (
            <button type="button" className="button button-primary" onClick={() => dlg.open('new')}>
              New secret
            </button>
          ) : null
        }
      />
      {notice ? <Notice kind="success">{notice}</Notice> : null}
      <ErrorBanner error={editing ? null : (dlg.banner ?? list.error)} />
      <ListTable
        label="Secrets"
        rows={list.data?.items ?? []}
        rowKey={(s) => s.id}
        empty={list.data ? 'No secrets yet.' : undefined}
        columns={[
          { header: 'Name', className: 'strong', cell: (s) => s.name },
          { header: 'Kind', cell: (s) => s.kind },
          { header: 'Target', className: 'mono', cell: (s) => `${s.username}@${s.host}:${s.port}` },
          { header: 'Credential', cell: (s) => s.credential.type ?? <span className="muted">none</span> },
          {
            header: 'Recording',
            cell: (s) => (
              <>
                <span className={`flag${s.recording.video ? ' on' : ''}`}>video</span> <span className={`flag${s.recording.keystrokes ? ' on' : ''}`}>keystrokes</span>
              </>
            ),
          },
          { header: 'Access', className: 'small', hidden: !admin, cell: (s) => [...s.access.users.map(userName), ...s.access.roles.map((r) => `role ${roleName(r)}`)].join(', ') || <span className="muted">administrators only</span> },
          { header: 'Updated', className: 'nowrap', cell: (s) => dateTime(s.updatedAt) },
          {
            header: '',
            className: 'col-actions nowrap',
            hidden: !admin,
            cell: (s) => (
              <>
                <button type="button" className="button button-small" onClick={() => dlg.open(s)}>
                  Edit
                </button>
                <button type="button" className="button button-small button-danger-ghost" onClick={() => remove(s)}>
                  Delete
                </button>
              </>
            ),
          },
        ]}
      />
      <Dialog title={dlg.isNew ? 'New secret' : 'Edit secret'} open={editing !== null} onClose={dlg.close} onSave={dlg.save}>
        <form
          className="form"
          onSubmit={(e) => {
            e.preventDefault();
            dlg.save();
          }}
          noValidate
        >
          <ErrorBanner error={dlg.banner} />
          <div className="grid-2">
            <InputField id="sec-name" label="Name" value={draft.name} onChange={(v) => set('name', v)} error={err('name')} hint="Letters, digits, dot, dash, underscore (used in ssh user:secret@host)." />
            <SelectField id="sec-kind" label="Kind" value={draft.kind} onChange={(v) => set('kind', v)} error={err('kind')} options={[['ssh', 'SSH server'], ['desktop', 'Desktop']]} />
            <InputField id="sec-host" label="Host" value={draft.host} onChange={(v) => set('host', v)} error={err('host')} />
            <InputField id="sec-port" label="Port" type="number" placeholder={String(DEFAULT_PORTS[draft.kind])} value={draft.port} onChange={(v) => set('port', v)} error={err('port')} />
            <InputField id="sec-username" label="Username on the target" value={draft.username} onChange={(v) => set('username', v)} error={err('username')} />
            <SelectField
              id="sec-cred"
              label="Credential"
              value={draft.credentialType}
              onChange={(v) => set('credentialType', v)}
              options={[
                ...(editing !== 'new' ? [['keep', `Keep the current one${editing && editing.credential.type ? ` (${editing.credential.type})` : ''}`] as const] : []),
                ['password', 'Password'],
                ['private-key', 'Private key'],
                ['none', 'None'],
              ]}
            />
          </div>
          {draft.credentialType === 'password' ? (
            <InputField id="sec-password" label="Password" type="password" autoComplete="new-password" value={draft.password} onChange={(v) => set('password', v)} error={err('password')} hint="Write-only: stored encrypted, never shown again." />
          ) : null}
          {draft.credentialType === 'private-key' ? (
            <>
              <InputField id="sec-key" label="Private key" rows={5} mono autoComplete="off" value={draft.privateKey} onChange={(v) => set('privateKey', v)} error={err('privateKey')} hint="Write-only: stored encrypted, never shown again." />
              <InputField id="sec-pass" label="Passphrase (if the key has one)" type="password" autoComplete="new-password" value={draft.passphrase} onChange={(v) => set('passphrase', v)} error={err('passphrase')} />
            </>
          ) : null}
          {draft.kind === 'desktop' ? (
            <div className="grid-2">
              <SelectField id="sec-launcher" label="Launcher" value={draft.launcherType} onChange={(v) => set('launcherType', v)} error={err('launcher') ?? err('launcher.type')} options={[['rdp', 'RDP client'], ['ssh', 'SSH client'], ['process', 'Program']]} />
              {draft.launcherType === 'process' ? (
                <InputField id="sec-command" label="Command" value={draft.launcherCommand} onChange={(v) => set('launcherCommand', v)} error={err('launcher.command')} hint="May use {host}, {port} and {username}." />
              ) : null}
            </div>
          ) : null}
          <fieldset className="fieldset">
            <legend>Recording</legend>
            <Checkbox id="sec-video" label="Record the session (video / terminal)" checked={draft.video} onChange={(v) => set('video', v)} />
            <Checkbox id="sec-keys" label="Record keystrokes" checked={draft.keystrokes} onChange={(v) => set('keystrokes', v)} />
          </fieldset>
          {canListPeople ? (
            <fieldset className="fieldset">
              <legend>Who may launch it</legend>
              <div className="check-columns">
                {(roles.data?.items ?? []).map((r) => (
                  <Checkbox key={r.id} label={`Role: ${r.name}`} checked={draft.roles.includes(r.id)} onChange={(v) => set('roles', toggle(draft.roles, r.id, v))} />
                ))}
                {(users.data?.items ?? []).map((u) => (
                  <Checkbox key={u.id} label={u.username} checked={draft.users.includes(u.id)} onChange={(v) => set('users', toggle(draft.users, u.id, v))} />
                ))}
              </div>
            </fieldset>
          ) : null}
        </form>
      </Dialog>
    </div>
  );
}
