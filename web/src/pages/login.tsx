import { useState, type FormEvent } from 'react';
import type { UserView } from '../../../src/protocol/identity.ts';
import { errorText, login } from '../api.ts';
import { Logo } from '../ui/icons.tsx';

export function LoginPage({ onSignedIn }: { onSignedIn: (u: UserView) => void }) {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    login(username, password).then(
      (r) => {
        if (window.location.pathname === '/login') history.replaceState(null, '', '/');
        onSignedIn(r.user);
      },
      (err: unknown) => {
        setError(errorText(err));
        setBusy(false);
      },
    );
  };

  return (
    <div className="login">
      <form className="login-card" onSubmit={submit} aria-label="Sign in">
        <div className="login-brand">
          <Logo width={36} height={36} />
          <div>
            <div className="login-title">Vigil</div>
            <div className="login-sub">Privileged session recording</div>
          </div>
        </div>
        <label htmlFor="username">Username</label>
        <input id="username" name="username" autoComplete="username" value={username} onChange={(e) => setUsername(e.target.value)} autoFocus required />
        <label htmlFor="password">Password</label>
        <input id="password" name="password" type="password" autoComplete="current-password" value={password} onChange={(e) => setPassword(e.target.value)} required />
        {error ? (
          <div className="field-error" role="alert">
            {error}
          </div>
        ) : null}
        <button type="submit" className="button button-primary" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </div>
  );
}
