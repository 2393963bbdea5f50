import { useState, type FormEvent } from 'react';
import type { RoleView, UserView } from '../../../src/protocol/identity.ts';
import { DEFAULT_PORTS, type SecretView } from '../../../src/protocol/secrets.ts';
import { del, get, patch, post } from '../api.ts';
import { useAuth } from '../auth.tsx';
import { dateTime } from '../format.ts';
import { useLoad } from '../hooks.ts';
import { Checkbox, Dialog, Empty, ErrorBanner, Field, Notice, PageHeader, splitError } from '../ui/widgets.tsx';

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
  const [editing, setEditing] = useState<SecretView | 'new' | null>(null);
  const [draft, setDraft] = useState<Draft>(blank);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [banner, setBanner] = useState<unknown>(null);
  const [notice, setNotice] = useState<string | null>(null);

  const open = (s: SecretView | 'new') => {
    setEditing(s);
    setDraft(s === 'new' ? blank : draftOf(s));
    setErrors({});
    setBanner(null);
  };
  const set = <K extends keyof Draft>(k: K, v: Draft[K]) => setDraft((d) => ({ ...d, [k]: v }));

  const save = (e?: FormEvent) => {
    e?.preventDefault();
    if (!editing) return;
    const isEdit = editing !== 'new';
    const call = isEdit ? patch<SecretView>(`/secrets/${editing.id}`, bodyOf(draft, true)) : post<SecretView>('/secrets', bodyOf(draft, false));
    call.then(
      (s) => {
        setEditing(null);
        setNotice(`Secret ${s.name} ${isEdit ? 'saved' : 'created'}.`);
        list.reload();
      },
      (err: unknown) => {
        const { fields, banner: b } = splitError(err);
        setErrors(fields);
        setBanner(b);
      },
    );
  };

  const remove = (s: SecretView) => {
    if (!window.confirm(`Delete the secret ${s.name}? Sessions recorded with it are kept.`)) return;
    del(`/secrets/${s.id}`).then(
      () => {
        setNotice(`Secret ${s.name} deleted.`);
        list.reload();
      },
      (err: unknown) => setBanner(err),
    );
  };

  const userName = (id: string) => users.data?.items.find((u) => u.id === id)?.username ?? id.slice(0, 8);
  const roleName = (id: string) => roles.data?.items.find((r) => r.id === id)?.name ?? id.slice(0, 8);
  const items = list.data?.items ?? [];
  const err = (k: string) => errors[k] || undefined;

  return (
    <div className="page page-wide">
      <PageHeader
        title="Secrets"
        subtitle={admin ? 'Stored credentials for servers and desktops, and how their sessions are recorded.' : 'The secrets you may launch.'}
        actions={
          admin ? (
            <button type="button" className="button button-primary" onClick={() => open('new')}>
              New secret
            </button>
          ) : null
        }
      />
      {notice ? <Notice kind="success">{notice}</Notice> : null}
      <ErrorBanner error={editing ? null : (banner ?? list.error)} />
      {list.data && items.length === 0 ? <Empty>No secrets yet.</Empty> : null}
      {items.length > 0 ? (
        <table className="table" aria-label="Secrets">
          <thead>
            <tr>
              <th>Name</th>
              <th>Kind</th>
              <th>Target</th>
              <th>Credential</th>
              <th>Recording</th>
              {admin ? <th>Access</th> : null}
              <th>Updated</th>
              {admin ? <th className="col-actions" /> : null}
            </tr>
          </thead>
          <tbody>
            {items.map((s) => (
              <tr key={s.id}>
                <td className="strong">{s.name}</td>
                <td>{s.kind}</td>
                <td className="mono">
                  {s.username}@{s.host}:{s.port}
                </td>
                <td>{s.credential.type ?? <span className="muted">none</span>}</td>
                <td>
                  <span className={`flag${s.recording.video ? ' on' : ''}`}>video</span> <span className={`flag${s.recording.keystrokes ? ' on' : ''}`}>keystrokes</span>
                </td>
                {admin ? <td className="small">{[...s.access.users.map(userName), ...s.access.roles.map((r) => `role ${roleName(r)}`)].join(', ') || <span className="muted">administrators only</span>}</td> : null}
                <td className="nowrap">{dateTime(s.updatedAt)}</td>
                {admin ? (
                  <td className="col-actions nowrap">
                    <button type="button" className="button button-small" onClick={() => open(s)}>
                      Edit
                    </button>
                    <button type="button" className="button button-small button-danger-ghost" onClick={() => remove(s)}>
                      Delete
                    </button>
                  </td>
                ) : null}
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      <Dialog
        title={editing === 'new' ? 'New secret' : 'Edit secret'}
        open={editing !== null}
        onClose={() => setEditing(null)}
        footer={
          <>
            <button type="button" className="button" onClick={() => setEditing(null)}>
              Cancel
            </button>
            <button type="button" className="button button-primary" onClick={() => save()}>
              Save
            </button>
          </>
        }
      >
        <form className="form" onSubmit={save} noValidate>
          <ErrorBanner error={banner} />
          <div className="grid-2">
            <Field label="Name" htmlFor="sec-name" error={err('name')} hint="Letters, digits, dot, dash, underscore (used in ssh user:secret@host).">
              <input id="sec-name" value={draft.name} onChange={(e) => set('name', e.target.value)} />
            </Field>
            <Field label="Kind" htmlFor="sec-kind" error={err('kind')}>
              <select id="sec-kind" value={draft.kind} onChange={(e) => set('kind', e.target.value as Draft['kind'])}>
                <option value="ssh">SSH server</option>
                <option value="desktop">Desktop</option>
              </select>
            </Field>
            <Field label="Host" htmlFor="sec-host" error={err('host')}>
              <input id="sec-host" value={draft.host} onChange={(e) => set('host', e.target.value)} />
            </Field>
            <Field label="Port" htmlFor="sec-port" error={err('port')}>
              <input id="sec-port" inputMode="numeric" placeholder={String(DEFAULT_PORTS[draft.kind])} value={draft.port} onChange={(e) => set('port', e.target.value)} />
            </Field>
            <Field label="Username on the target" htmlFor="sec-username" error={err('username')}>
              <input id="sec-username" value={draft.username} onChange={(e) => set('username', e.target.value)} />
            </Field>
            <Field label="Credential" htmlFor="sec-cred">
              <select id="sec-cred" value={draft.credentialType} onChange={(e) => set('credentialType', e.target.value as Draft['credentialType'])}>
                {editing !== 'new' ? <option value="keep">Keep the current one{editing && editing.credential.type ? ` (${editing.credential.type})` : ''}</option> : null}
                <option value="password">Password</option>
                <option value="private-key">Private key</option>
                <option value="none">None</option>
              </select>
            </Field>
          </div>
          {draft.credentialType === 'password' ? (
            <Field label="Password" htmlFor="sec-password" error={err('password')} hint="Write-only: stored encrypted, never shown again.">
              <input id="sec-password" type="password" autoComplete="new-password" value={draft.password} onChange={(e) => set('password', e.target.value)} />
            </Field>
          ) : null}
          {draft.credentialType === 'private-key' ? (
            <>
              <Field label="Private key" htmlFor="sec-key" error={err('privateKey')} hint="Write-only: stored encrypted, never shown again.">
                <textarea id="sec-key" rows={5} className="mono" autoComplete="off" spellCheck={false} value={draft.privateKey} onChange={(e) => set('privateKey', e.target.value)} />
              </Field>
              <Field label="Passphrase (if the key has one)" htmlFor="sec-pass" error={err('passphrase')}>
                <input id="sec-pass" type="password" autoComplete="new-password" value={draft.passphrase} onChange={(e) => set('passphrase', e.target.value)} />
              </Field>
            </>
          ) : null}
          {draft.kind === 'desktop' ? (
            <div className="grid-2">
              <Field label="Launcher" htmlFor="sec-launcher" error={err('launcher') ?? err('launcher.type')}>
                <select id="sec-launcher" value={draft.launcherType} onChange={(e) => set('launcherType', e.target.value as Draft['launcherType'])}>
                  <option value="rdp">RDP client</option>
                  <option value="ssh">SSH client</option>
                  <option value="process">Program</option>
                </select>
              </Field>
              {draft.launcherType === 'process' ? (
                <Field label="Command" htmlFor="sec-command" error={err('launcher.command')} hint="May use {host}, {port} and {username}.">
                  <input id="sec-command" value={draft.launcherCommand} onChange={(e) => set('launcherCommand', e.target.value)} />
                </Field>
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
                  <Checkbox key={r.id} label={`Role: ${r.name}`} checked={draft.roles.includes(r.id)} onChange={(v) => set('roles', v ? [...draft.roles, r.id] : draft.roles.filter((x) => x !== r.id))} />
                ))}
                {(users.data?.items ?? []).map((u) => (
                  <Checkbox key={u.id} label={u.username} checked={draft.users.includes(u.id)} onChange={(v) => set('users', v ? [...draft.users, u.id] : draft.users.filter((x) => x !== u.id))} />
                ))}
              </div>
            </fieldset>
          ) : null}
        </form>
      </Dialog>
    </div>
  );
}
