import { useState } from 'react';
import { PERMISSION_NAMES, type RoleView, type UserView } from '../../../src/protocol/identity.ts';
import { del, get, patch, post } from '../api.ts';
import { dateTime } from '../format.ts';
import { useLoad } from '../hooks.ts';
import { InputField, toggle, useEditDialog } from '../ui/form.tsx';
import { ListTable } from '../ui/list-table.tsx';
import { Checkbox, Dialog, ErrorBanner, Notice, PageHeader, Tabs } from '../ui/widgets.tsx';

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
  const dlg = useEditDialog<UserView, UserDraft, UserView>({
    blank: () => ({ username: '', displayName: '', email: '', password: '', roles: [], disabled: false }),
    draftOf: (u) => ({ username: u.username, displayName: u.displayName, email: u.email ?? '', password: '', roles: u.roles.map((r) => r.id), disabled: u.disabled }),
    save: (d, editing) =>
      editing === 'new'
        ? post<UserView>('/users', { username: d.username, password: d.password, roles: d.roles, ...(d.displayName ? { displayName: d.displayName } : {}), ...(d.email ? { email: d.email } : {}) })
        : patch<UserView>(`/users/${editing.id}`, { roles: d.roles, disabled: d.disabled, email: d.email.trim() === '' ? null : d.email, ...(d.displayName ? { displayName: d.displayName } : {}), ...(d.password ? { password: d.password } : {}) }),
    onSaved: (u, isNew) => onChanged(`User ${u.username} ${isNew ? 'created' : 'saved'}.`),
  });
  const { draft: d, set, error: e } = dlg;

  return (
    <>
      <div className="toolbar">
        <button type="button" className="button button-primary" onClick={() => dlg.open('new')}>
          New user
        </button>
      </div>
      <ListTable
        label="Users"
        rows={users}
        rowKey={(u) => u.id}
        columns={[
          { header: 'Username', className: 'strong', cell: (u) => u.username },
          { header: 'Display name', cell: (u) => u.displayName },
          { header: 'Email', cell: (u) => u.email ?? <span className="muted">—</span> },
          { header: 'Roles', cell: (u) => u.roles.map((r) => r.name).join(', ') || <span className="muted">none</span> },
          { header: 'Status', cell: (u) => (u.disabled ? <span className="badge badge-terminated">disabled</span> : <span className="badge badge-active">enabled</span>) },
          { header: 'Created', className: 'nowrap', cell: (u) => dateTime(u.createdAt) },
          {
            header: '',
            className: 'col-actions',
            cell: (u) => (
              <button type="button" className="button button-small" onClick={() => dlg.open(u)}>
                Edit
              </button>
            ),
          },
        ]}
      />
      <Dialog title={dlg.isNew ? 'New user' : `Edit ${d.username}`} open={dlg.editing !== null} onClose={dlg.close} onSave={dlg.save}>
        <ErrorBanner error={dlg.banner} />
        <div className="grid-2">
          <InputField id="u-name" label="Username" value={d.username} disabled={!dlg.isNew} onChange={(v) => set('username', v)} error={e('username')} />
          <InputField id="u-display" label="Display name" value={d.displayName} onChange={(v) => set('displayName', v)} error={e('displayName')} />
          <InputField id="u-email" label="Email" type="email" value={d.email} onChange={(v) => set('email', v)} error={e('email')} />
          <InputField id="u-password" label={dlg.isNew ? 'Password' : 'New password (optional)'} type="password" autoComplete="new-password" value={d.password} onChange={(v) => set('password', v)} error={e('password')} hint="At least 8 characters." />
        </div>
        <fieldset className="fieldset">
          <legend>Roles</legend>
          {roles.map((r) => (
            <Checkbox key={r.id} label={r.name} checked={d.roles.includes(r.id)} onChange={(v) => set('roles', toggle(d.roles, r.id, v))} />
          ))}
        </fieldset>
        {!dlg.isNew ? <Checkbox label="Disabled (cannot sign in; signs the user out everywhere)" checked={d.disabled} onChange={(v) => set('disabled', v)} /> : null}
      </Dialog>
    </>
  );
}

function RolesTab({ roles, onChanged }: { roles: RoleView[]; onChanged: (notice: string) => void }) {
  const dlg = useEditDialog<RoleView, RoleDraft, RoleView>({
    blank: () => ({ name: '', description: '', permissions: [] }),
    draftOf: (r) => ({ name: r.name, description: r.description, permissions: [...r.permissions] }),
    save: (d, editing) => (editing === 'new' ? post<RoleView>('/roles', d) : patch<RoleView>(`/roles/${editing.id}`, d)),
    onSaved: (r, isNew) => onChanged(`Role ${r.name} ${isNew ? 'created' : 'saved'}.`),
  });
  const { draft: d, set, error: e } = dlg;
  const remove = (r: RoleView) => {
    if (!window.confirm(`Delete the role ${r.name}?`)) return;
    del(`/roles/${r.id}`).then(() => onChanged(`Role ${r.name} deleted.`), dlg.setBanner);
  };

  return (
    <>
      <div className="toolbar">
        <button type="button" className="button button-primary" onClick={() => dlg.open('new')}>
          New role
        </button>
      </div>
      {dlg.editing === null ? <ErrorBanner error={dlg.banner} /> : null}
      <ListTable
        label="Roles"
        rows={roles}
        rowKey={(r) => r.id}
        columns={[
          { header: 'Name', className: 'strong', cell: (r) => (r.builtin ? <>{r.name} <span className="badge">built-in</span></> : r.name) },
          { header: 'Description', cell: (r) => r.description },
          {
            header: 'Permissions',
            cell: (r) => <div className="chips">{r.permissions.length === 0 ? <span className="muted">none</span> : r.permissions.map((p) => <span key={p} className="chip">{p}</span>)}</div>,
          },
          {
            header: '',
            className: 'col-actions nowrap',
            cell: (r) =>
              r.builtin ? null : (
                <>
                  <button type="button" className="button button-small" onClick={() => dlg.open(r)}>
                    Edit
                  </button>
                  <button type="button" className="button button-small button-danger-ghost" onClick={() => remove(r)}>
                    Delete
                  </button>
                </>
              ),
          },
        ]}
      />
      <Dialog title={dlg.isNew ? 'New role' : `Edit role ${d.name}`} open={dlg.editing !== null} onClose={dlg.close} onSave={dlg.save}>
        <ErrorBanner error={dlg.banner} />
        <InputField id="r-name" label="Name" value={d.name} onChange={(v) => set('name', v)} error={e('name')} />
        <InputField id="r-desc" label="Description" value={d.description} onChange={(v) => set('description', v)} error={e('description')} />
        <fieldset className="fieldset">
          <legend>Permissions</legend>
          {PERMISSION_NAMES.map((p) => (
            <Checkbox key={p} label={p} checked={d.permissions.includes(p)} onChange={(v) => set('permissions', toggle(d.permissions, p, v))} />
          ))}
        </fieldset>
      </Dialog>
    </>
  );
}
