import { useState, type FormEvent } from 'react';
import type { SshKeyView, UserView } from '../../../src/protocol/identity.ts';
import { del, get, post } from '../api.ts';
import { useAuth } from '../auth.tsx';
import { dateTime } from '../format.ts';
import { useLoad } from '../hooks.ts';
import { InputField, SelectField, useFormErrors } from '../ui/form.tsx';
import { ListTable } from '../ui/list-table.tsx';
import { Card, ErrorBanner, Notice, PageHeader } from '../ui/widgets.tsx';

/** SSH public keys for signing in to the SSH proxy: one's own, or any user's for administrators. */
export function SshKeysPage() {
  const auth = useAuth();
  const admin = auth.can('users.administer');
  const [userId, setUserId] = useState(auth.user.id);
  const users = useLoad((signal) => (admin ? get<{ items: UserView[] }>('/users', signal) : Promise.resolve({ items: [auth.user] })), [admin]);
  const keys = useLoad((signal) => get<{ items: SshKeyView[] }>(`/users/${userId}/ssh-keys`, signal), [userId]);
  const [publicKey, setPublicKey] = useState('');
  const [name, setName] = useState('');
  const form = useFormErrors();
  const [notice, setNotice] = useState<string | null>(null);

  const add = (e: FormEvent) => {
    e.preventDefault();
    form.reset();
    post<SshKeyView>(`/users/${userId}/ssh-keys`, { publicKey, ...(name.trim() ? { name: name.trim() } : {}) }).then(
      (k) => {
        setPublicKey('');
        setName('');
        setNotice(`Key ${k.fingerprint} added.`);
        keys.reload();
      },
      form.fail,
    );
  };
  const remove = (k: SshKeyView) => {
    if (!window.confirm(`Remove the key ${k.name || k.fingerprint}?`)) return;
    del(`/users/${userId}/ssh-keys/${k.id}`).then(() => keys.reload(), form.setBanner);
  };
  const list = keys.data?.items ?? [];

  return (
    <div className="page">
      <PageHeader title="SSH keys" subtitle="Public keys that sign in to the SSH proxy (ssh -p 2222 user:secret@vigil)." />
      {notice ? <Notice kind="success">{notice}</Notice> : null}
      <ErrorBanner error={form.banner ?? keys.error} />
      {admin ? (
        <div className="toolbar">
          <SelectField id="k-user" label="User" value={userId} onChange={setUserId} options={(users.data?.items ?? [auth.user]).map((u) => [u.id, u.username] as const)} />
        </div>
      ) : null}
      <ListTable
        label="SSH keys"
        rows={list}
        rowKey={(k) => k.id}
        empty={keys.data ? 'No SSH keys registered.' : undefined}
        columns={[
          { header: 'Name', cell: (k) => k.name || <span className="muted">—</span> },
          { header: 'Algorithm', cell: (k) => k.algorithm },
          { header: 'Fingerprint', className: 'mono', cell: (k) => k.fingerprint },
          { header: 'Added', className: 'nowrap', cell: (k) => dateTime(k.createdAt) },
          {
            header: '',
            className: 'col-actions',
            cell: (k) => (
              <button type="button" className="button button-small button-danger-ghost" onClick={() => remove(k)}>
                Remove
              </button>
            ),
          },
        ]}
      />
      <form onSubmit={add} noValidate>
        <Card title="Add a key" className="form">
          <div className="card-body">
            <InputField id="k-public" label="Public key" rows={3} mono value={publicKey} onChange={setPublicKey} error={form.error('publicKey')} hint="One OpenSSH line: ssh-ed25519 AAAA… comment (ed25519, ECDSA, or RSA ≥ 2048 bits)." />
            <InputField id="k-name" label="Name (optional)" value={name} onChange={setName} error={form.error('name')} />
            <div className="form-actions">
              <button type="submit" className="button button-primary">
                Add key
              </button>
            </div>
          </div>
        </Card>
      </form>
    </div>
  );
}
