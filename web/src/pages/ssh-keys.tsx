import { useState, type FormEvent } from 'react';
import type { SshKeyView, UserView } from '../../../src/protocol/identity.ts';
import { del, get, post } from '../api.ts';
import { useAuth } from '../auth.tsx';
import { dateTime } from '../format.ts';
import { useLoad } from '../hooks.ts';
import { Empty, ErrorBanner, Field, Notice, PageHeader, splitError } from '../ui/widgets.tsx';

/** SSH public keys for signing in to the SSH proxy: one's own, or any user's for administrators. */
export function SshKeysPage() {
  const auth = useAuth();
  const admin = auth.can('users.administer');
  const [userId, setUserId] = useState(auth.user.id);
  const users = useLoad((signal) => (admin ? get<{ items: UserView[] }>('/users', signal) : Promise.resolve({ items: [auth.user] })), [admin]);
  const keys = useLoad((signal) => get<{ items: SshKeyView[] }>(`/users/${userId}/ssh-keys`, signal), [userId]);
  const [publicKey, setPublicKey] = useState('');
  const [name, setName] = useState('');
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [banner, setBanner] = useState<unknown>(null);
  const [notice, setNotice] = useState<string | null>(null);

  const add = (e: FormEvent) => {
    e.preventDefault();
    setErrors({});
    setBanner(null);
    post<SshKeyView>(`/users/${userId}/ssh-keys`, { publicKey, ...(name.trim() ? { name: name.trim() } : {}) }).then(
      (k) => {
        setPublicKey('');
        setName('');
        setNotice(`Key ${k.fingerprint} added.`);
        keys.reload();
      },
      (err: unknown) => {
        const s = splitError(err);
        setErrors(s.fields);
        setBanner(s.banner);
      },
    );
  };
  const remove = (k: SshKeyView) => {
    if (!window.confirm(`Remove the key ${k.name || k.fingerprint}?`)) return;
    del(`/users/${userId}/ssh-keys/${k.id}`).then(() => keys.reload(), (err: unknown) => setBanner(err));
  };
  const list = keys.data?.items ?? [];

  return (
    <div className="page">
      <PageHeader title="SSH keys" subtitle="Public keys that sign in to the SSH proxy (ssh -p 2222 user:secret@vigil)." />
      {notice ? <Notice kind="success">{notice}</Notice> : null}
      <ErrorBanner error={banner ?? keys.error} />
      {admin ? (
        <div className="toolbar">
          <Field label="User" htmlFor="k-user">
            <select id="k-user" value={userId} onChange={(e) => setUserId(e.target.value)}>
              {(users.data?.items ?? [auth.user]).map((u) => (
                <option key={u.id} value={u.id}>
                  {u.username}
                </option>
              ))}
            </select>
          </Field>
        </div>
      ) : null}
      {keys.data && list.length === 0 ? <Empty>No SSH keys registered.</Empty> : null}
      {list.length > 0 ? (
        <table className="table" aria-label="SSH keys">
          <thead>
            <tr>
              <th>Name</th>
              <th>Algorithm</th>
              <th>Fingerprint</th>
              <th>Added</th>
              <th className="col-actions" />
            </tr>
          </thead>
          <tbody>
            {list.map((k) => (
              <tr key={k.id}>
                <td>{k.name || <span className="muted">—</span>}</td>
                <td>{k.algorithm}</td>
                <td className="mono">{k.fingerprint}</td>
                <td className="nowrap">{dateTime(k.createdAt)}</td>
                <td className="col-actions">
                  <button type="button" className="button button-small button-danger-ghost" onClick={() => remove(k)}>
                    Remove
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      <form className="card form" onSubmit={add} noValidate>
        <div className="card-head">
          <h2>Add a key</h2>
        </div>
        <div className="card-body">
          <Field label="Public key" htmlFor="k-public" error={errors.publicKey || undefined} hint="One OpenSSH line: ssh-ed25519 AAAA… comment (ed25519, ECDSA, or RSA ≥ 2048 bits).">
            <textarea id="k-public" rows={3} className="mono" spellCheck={false} value={publicKey} onChange={(e) => setPublicKey(e.target.value)} />
          </Field>
          <Field label="Name (optional)" htmlFor="k-name" error={errors.name || undefined}>
            <input id="k-name" value={name} onChange={(e) => setName(e.target.value)} />
          </Field>
          <div className="form-actions">
            <button type="submit" className="button button-primary">
              Add key
            </button>
          </div>
        </div>
      </form>
    </div>
  );
}
