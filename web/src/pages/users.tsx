import { useState } from 'react';
import { PERMISSION_NAMES, type RoleView, type UserView } from '../../../src/protocol/identity.ts';
import { del, get, patch, post } from '../api.ts';
import { dateTime } from '../format.ts';
import { useLoad } from '../hooks.ts';
import { Checkbox, Dialog, ErrorBanner, Field, Notice, PageHeader, splitError, Tabs } from '../ui/widgets.tsx';

type UserDraft = { username: string; displayName: string; email: string; password: string; roles: string[]; disabled: boolean };
type RoleDraft = { name: string; description: string; permissions: string[] };

/** Users and roles (users.administer). */
export function UsersPage() {
  const [tab, setTab] = useState<'users' | 'roles'>('users');
  const users = useLoad((signal) => get<{ items: UserView[] }>('/users', signal), []);
  const roles = useLoad((signal) => get<{ items: RoleView[] }>('/roles', signal), []);
  const [notice, setNotice] = useState<string | null>(null);
  return (
    <div className="page page-wide">
      <PageHeader title="Users and roles" subtitle="Who may sign in, and what each role may do." />
      {notice ? <Notice kind="success">{notice}</Notice> : null}
      <Tabs
        tabs={[
          { id: 'users', label: 'Users' },
          { id: 'roles', label: 'Roles' },
        ]}
        value={tab}
        onChange={setTab}
      />
      <ErrorBanner error={users.error ?? roles.error} />
      {tab === 'users' ? (
        <UsersTab users={users.data?.items ?? []} roles={roles.data?.items ?? []} onChanged={(n) => { setNotice(n); users.reload(); }} />
      ) : (
        <RolesTab roles={roles.data?.items ?? []} onChanged={(n) => { setNotice(n); roles.reload(); users.reload(); }} />
      )}
    </div>
  );
}

function UsersTab({ users, roles, onChanged }: { users: UserView[]; roles: RoleView[]; onChanged: (notice: string) => void }) {
  const [editing, setEditing] = useState<UserView | 'new' | null>(null);
  const [d, setD] = useState<UserDraft>({ username: '', displayName: '', email: '', password: '', roles: [], disabled: false });
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [banner, setBanner] = useState<unknown>(null);

  const open = (u: UserView | 'new') => {
    setEditing(u);
    setErrors({});
    setBanner(null);
    setD(u === 'new' ? { username: '', displayName: '', email: '', password: '', roles: [], disabled: false } : { username: u.username, displayName: u.displayName, email: u.email ?? '', password: '', roles: u.roles.map((r) => r.id), disabled: u.disabled });
  };
  const save = () => {
    if (!editing) return;
    const isNew = editing === 'new';
    const body: Record<string, unknown> = isNew
      ? { username: d.username, password: d.password, roles: d.roles, ...(d.displayName ? { displayName: d.displayName } : {}), ...(d.email ? { email: d.email } : {}) }
      : { roles: d.roles, disabled: d.disabled, email: d.email.trim() === '' ? null : d.email, ...(d.displayName ? { displayName: d.displayName } : {}), ...(d.password ? { password: d.password } : {}) };
    (isNew ? post<UserView>('/users', body) : patch<UserView>(`/users/${editing.id}`, body)).then(
      (u) => {
        setEditing(null);
        onChanged(`User ${u.username} ${isNew ? 'created' : 'saved'}.`);
      },
      (err: unknown) => {
        const s = splitError(err);
        setErrors(s.fields);
        setBanner(s.banner);
      },
    );
  };
  const e = (k: string) => errors[k] || undefined;

  return (
    <>
      <div className="toolbar">
        <button type="button" className="button button-primary" onClick={() => open('new')}>
          New user
        </button>
      </div>
      <table className="table" aria-label="Users">
        <thead>
          <tr>
            <th>Username</th>
            <th>Display name</th>
            <th>Email</th>
            <th>Roles</th>
            <th>Status</th>
            <th>Created</th>
            <th className="col-actions" />
          </tr>
        </thead>
        <tbody>
          {users.map((u) => (
            <tr key={u.id}>
              <td className="strong">{u.username}</td>
              <td>{u.displayName}</td>
              <td>{u.email ?? <span className="muted">—</span>}</td>
              <td>{u.roles.map((r) => r.name).join(', ') || <span className="muted">none</span>}</td>
              <td>{u.disabled ? <span className="badge badge-terminated">disabled</span> : <span className="badge badge-active">enabled</span>}</td>
              <td className="nowrap">{dateTime(u.createdAt)}</td>
              <td className="col-actions">
                <button type="button" className="button button-small" onClick={() => open(u)}>
                  Edit
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <Dialog
        title={editing === 'new' ? 'New user' : `Edit ${d.username}`}
        open={editing !== null}
        onClose={() => setEditing(null)}
        footer={
          <>
            <button type="button" className="button" onClick={() => setEditing(null)}>
              Cancel
            </button>
            <button type="button" className="button button-primary" onClick={save}>
              Save
            </button>
          </>
        }
      >
        <ErrorBanner error={banner} />
        <div className="grid-2">
          <Field label="Username" htmlFor="u-name" error={e('username')}>
            <input id="u-name" value={d.username} disabled={editing !== 'new'} onChange={(ev) => setD({ ...d, username: ev.target.value })} />
          </Field>
          <Field label="Display name" htmlFor="u-display" error={e('displayName')}>
            <input id="u-display" value={d.displayName} onChange={(ev) => setD({ ...d, displayName: ev.target.value })} />
          </Field>
          <Field label="Email" htmlFor="u-email" error={e('email')}>
            <input id="u-email" type="email" value={d.email} onChange={(ev) => setD({ ...d, email: ev.target.value })} />
          </Field>
          <Field label={editing === 'new' ? 'Password' : 'New password (optional)'} htmlFor="u-password" error={e('password')} hint="At least 8 characters.">
            <input id="u-password" type="password" autoComplete="new-password" value={d.password} onChange={(ev) => setD({ ...d, password: ev.target.value })} />
          </Field>
        </div>
        <fieldset className="fieldset">
          <legend>Roles</legend>
          {roles.map((r) => (
            <Checkbox key={r.id} label={r.name} checked={d.roles.includes(r.id)} onChange={(v) => setD({ ...d, roles: v ? [...d.roles, r.id] : d.roles.filter((x) => x !== r.id) })} />
          ))}
        </fieldset>
        {editing !== 'new' ? <Checkbox label="Disabled (cannot sign in; signs the user out everywhere)" checked={d.disabled} onChange={(v) => setD({ ...d, disabled: v })} /> : null}
      </Dialog>
    </>
  );
}

function RolesTab({ roles, onChanged }: { roles: RoleView[]; onChanged: (notice: string) => void }) {
  const [editing, setEditing] = useState<RoleView | 'new' | null>(null);
  const [d, setD] = useState<RoleDraft>({ name: '', description: '', permissions: [] });
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [banner, setBanner] = useState<unknown>(null);

  const open = (r: RoleView | 'new') => {
    setEditing(r);
    setErrors({});
    setBanner(null);
    setD(r === 'new' ? { name: '', description: '', permissions: [] } : { name: r.name, description: r.description, permissions: [...r.permissions] });
  };
  const save = () => {
    if (!editing) return;
    const isNew = editing === 'new';
    (isNew ? post<RoleView>('/roles', d) : patch<RoleView>(`/roles/${editing.id}`, d)).then(
      (r) => {
        setEditing(null);
        onChanged(`Role ${r.name} ${isNew ? 'created' : 'saved'}.`);
      },
      (err: unknown) => {
        const s = splitError(err);
        setErrors(s.fields);
        setBanner(s.banner);
      },
    );
  };
  const remove = (r: RoleView) => {
    if (!window.confirm(`Delete the role ${r.name}?`)) return;
    del(`/roles/${r.id}`).then(() => onChanged(`Role ${r.name} deleted.`), (err: unknown) => setBanner(err));
  };

  return (
    <>
      <div className="toolbar">
        <button type="button" className="button button-primary" onClick={() => open('new')}>
          New role
        </button>
      </div>
      {editing === null ? <ErrorBanner error={banner} /> : null}
      <table className="table" aria-label="Roles">
        <thead>
          <tr>
            <th>Name</th>
            <th>Description</th>
            <th>Permissions</th>
            <th className="col-actions" />
          </tr>
        </thead>
        <tbody>
          {roles.map((r) => (
            <tr key={r.id}>
              <td className="strong">
                {r.name} {r.builtin ? <span className="badge">built-in</span> : null}
              </td>
              <td>{r.description}</td>
              <td>
                <div className="chips">
                  {r.permissions.length === 0 ? <span className="muted">none</span> : r.permissions.map((p) => <span key={p} className="chip">{p}</span>)}
                </div>
              </td>
              <td className="col-actions nowrap">
                {!r.builtin ? (
                  <>
                    <button type="button" className="button button-small" onClick={() => open(r)}>
                      Edit
                    </button>
                    <button type="button" className="button button-small button-danger-ghost" onClick={() => remove(r)}>
                      Delete
                    </button>
                  </>
                ) : null}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <Dialog
        title={editing === 'new' ? 'New role' : `Edit role ${d.name}`}
        open={editing !== null}
        onClose={() => setEditing(null)}
        footer={
          <>
            <button type="button" className="button" onClick={() => setEditing(null)}>
              Cancel
            </button>
            <button type="button" className="button button-primary" onClick={save}>
              Save
            </button>
          </>
        }
      >
        <ErrorBanner error={banner} />
        <Field label="Name" htmlFor="r-name" error={errors.name || undefined}>
          <input id="r-name" value={d.name} onChange={(ev) => setD({ ...d, name: ev.target.value })} />
        </Field>
        <Field label="Description" htmlFor="r-desc" error={errors.description || undefined}>
          <input id="r-desc" value={d.description} onChange={(ev) => setD({ ...d, description: ev.target.value })} />
        </Field>
        <fieldset className="fieldset">
          <legend>Permissions</legend>
          {PERMISSION_NAMES.map((p) => (
            <Checkbox key={p} label={p} checked={d.permissions.includes(p)} onChange={(v) => setD({ ...d, permissions: v ? [...d.permissions, p] : d.permissions.filter((x) => x !== p) })} />
          ))}
        </fieldset>
      </Dialog>
    </>
  );
}
