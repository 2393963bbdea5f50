import { useCallback, useEffect, useMemo, useState, type ReactNode } from 'react';
import type { UserView } from '../../src/protocol/identity.ts';
import { logout, me, setUnauthorizedHandler } from './api.ts';
import { AuthContext, type Auth, type Permission } from './auth.tsx';
import { LoginPage } from './pages/login.tsx';
import { AgentsPage } from './pages/agents.tsx';
import { AuditPage } from './pages/audit.tsx';
import { MonitoringPage } from './pages/monitoring.tsx';
import { RecordingPage } from './pages/recording.tsx';
import { SecretsPage } from './pages/secrets.tsx';
import { SettingsPage } from './pages/settings.tsx';
import { SshKeysPage } from './pages/ssh-keys.tsx';
import { UsersPage } from './pages/users.tsx';
import { WatchLivePage } from './pages/watch-live.tsx';
import { Link, match, navigate, useLocation } from './router.tsx';
import { Logo } from './ui/icons.tsx';
import { Empty } from './ui/widgets.tsx';

interface NavItem {
  to: string;
  label: string;
  /** Shown when the user holds any of these (none listed: every signed-in user). */
  any?: Permission[];
}

const MONITORING: Permission[] = ['session-monitoring.view', 'session-recording.view', 'session-recording.audit'];

const NAV: NavItem[] = [
  { to: '/', label: 'Session Monitoring', any: MONITORING },
  { to: '/secrets', label: 'Secrets' },
  { to: '/users', label: 'Users and roles', any: ['users.administer'] },
  { to: '/ssh-keys', label: 'SSH keys' },
  { to: '/agents', label: 'Agents', any: ['settings.administer'] },
  { to: '/audit', label: 'Audit log', any: ['audit.view'] },
  { to: '/settings', label: 'Settings', any: ['settings.administer'] },
];

export function App() {
  const [user, setUser] = useState<UserView | null | undefined>(undefined);

  useEffect(() => {
    setUnauthorizedHandler(() => setUser(null));
    // Not signed in (401) or the server unreachable: either way the sign-in page comes first.
    me().then(setUser, () => setUser(null));
  }, []);

  const signOut = useCallback(() => {
    // Signed out locally even if the server could not be told (the cookie expires on its own).
    void logout()
      .catch(() => undefined)
      .finally(() => {
        setUser(null);
        navigate('/login', { replace: true });
      });
  }, []);

  const auth = useMemo<Auth | null>(() => (user ? { user, can: (p) => user.permissions.includes(p), signOut } : null), [user, signOut]);

  if (user === undefined) return <div className="boot">Loading…</div>;
  if (!auth) return <LoginPage onSignedIn={(u) => setUser(u)} />;
  return (
    <AuthContext.Provider value={auth}>
      <Shell />
    </AuthContext.Provider>
  );
}

function Shell() {
  const loc = useLocation();
  useEffect(() => {
    if (loc.path === '/login') navigate('/', { replace: true });
  }, [loc.path]);
  return (
    <AuthContext.Consumer>
      {(auth) => {
        const a = auth!;
        const items = NAV.filter((n) => !n.any || n.any.some((p) => a.can(p)));
        return (
          <div className="shell">
            <aside className="sidebar">
              <div className="brand">
                <Logo />
                <span>Vigil</span>
              </div>
              <nav aria-label="Main">
                {items.map((n) => (
                  <Link key={n.to} to={n.to} className={`nav-item${isActive(n.to, loc.path) ? ' nav-active' : ''}`}>
                    {n.label}
                  </Link>
                ))}
              </nav>
              <div className="sidebar-foot">
                <div className="who" title={a.user.username}>
                  <span className="who-name">{a.user.displayName || a.user.username}</span>
                  <span className="who-roles">{a.user.roles.map((r) => r.name).join(', ') || 'No roles'}</span>
                </div>
                <button type="button" className="button button-ghost" onClick={a.signOut}>
                  Sign out
                </button>
              </div>
            </aside>
            <main className="content">{route(loc.path, loc.query, a)}</main>
          </div>
        );
      }}
    </AuthContext.Consumer>
  );
}

function isActive(to: string, path: string): boolean {
  if (to === '/') return path === '/' || path.startsWith('/sessions');
  return path === to || path.startsWith(`${to}/`);
}

function NoAccess() {
  return (
    <div className="page">
      <Empty>You do not have permission to see this page.</Empty>
    </div>
  );
}

function guard(a: Auth, any: Permission[] | undefined, page: ReactNode): ReactNode {
  return !any || any.some((p) => a.can(p)) ? page : <NoAccess />;
}

function route(path: string, query: URLSearchParams, a: Auth): ReactNode {
  let m: Record<string, string> | null;
  if (path === '/' || path === '/login') {
    if (!MONITORING.some((p) => a.can(p))) return <Welcome />;
    return <MonitoringPage />;
  }
  if ((m = match('/sessions/:id/live', path))) return guard(a, ['session-monitoring.view'], <WatchLivePage id={m.id!} />);
  if ((m = match('/sessions/:id/recording', path))) {
    const at = Number(query.get('at'));
    return guard(a, ['session-recording.view', 'session-recording.audit'], <RecordingPage id={m.id!} startAt={Number.isFinite(at) && query.has('at') ? at : null} q={query.get('q') ?? ''} />);
  }
  if (path === '/secrets') return <SecretsPage />;
  if (path === '/users') return guard(a, ['users.administer'], <UsersPage />);
  if (path === '/ssh-keys') return <SshKeysPage />;
  if (path === '/agents') return guard(a, ['settings.administer'], <AgentsPage />);
  if (path === '/audit') return guard(a, ['audit.view'], <AuditPage />);
  if (path === '/settings') return guard(a, ['settings.administer'], <SettingsPage />);
  return (
    <div className="page">
      <Empty>This page does not exist.</Empty>
    </div>
  );
}

function Welcome() {
  return (
    <div className="page">
      <header className="page-header">
        <div>
          <h1>Welcome to Vigil</h1>
          <p className="subtitle">Your account has no monitoring or administration permissions.</p>
        </div>
      </header>
      <Empty>
        Use <Link to="/secrets">Secrets</Link> to see the secrets you may launch, and <Link to="/ssh-keys">SSH keys</Link> to register your public keys.
      </Empty>
    </div>
  );
}
