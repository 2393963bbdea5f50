/**
 * A deterministic, realistic corpus for the `search` benchmark: sessions of privileged users on
 * servers and desktops with keystrokes, commands, screen output, processes and windows. The same
 * seed yields the same rows, so the SQLite and PostgreSQL corpora are identical.
 *
 * Term frequencies are shaped on purpose: ticket ids (`OPS-12345`) and build directories
 * (`build-3fa9c1`) are rare, `/etc/passwd` and `rm -rf /var` are uncommon, service names and
 * `systemctl` are common, and two-letter commands (`ls`, `cd`) are everywhere.
 */

export interface CorpusSize {
  sessions: number;
  events: number;
}

export interface SessionRow {
  id: string;
  kind: 'ssh' | 'desktop' | 'host';
  status: 'active' | 'ended' | 'terminated' | 'interrupted';
  user_id: string;
  username: string;
  secret_id: string | null;
  secret_name: string | null;
  target_host: string;
  target_user: string;
  client_address: string;
  component: string;
  started_at: number;
  ended_at: number | null;
  duration_ms: number | null;
}

export interface EventRow {
  id: number;
  session_id: string;
  source: string;
  seq: number;
  at_ms: number;
  type: string;
  text: string;
  details: string | null;
}

/** The last session starts shortly before this instant; sessions span the year before it. */
export const CORPUS_END = Date.UTC(2025, 5, 1);
export const CORPUS_SPAN_MS = 365 * 86_400_000;

export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  /** mulberry32: fast, good enough for synthetic data. */
  next(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(a: readonly T[]): T {
    return a[this.int(a.length)]!;
  }
  /** Zipf-like pick: low indexes are much more likely. */
  skewed<T>(a: readonly T[]): T {
    return a[Math.floor(a.length * this.next() ** 2.5)]!;
  }
  hex(n: number): string {
    let s = '';
    for (let i = 0; i < n; i++) s += '0123456789abcdef'[this.int(16)];
    return s;
  }
}

function uuid(r: Rng): string {
  const h = r.hex(32);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

const FIRST = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace', 'heidi', 'ivan', 'judy', 'mallory', 'nina', 'oscar', 'peggy', 'rupert', 'sybil', 'trent', 'ursula', 'victor', 'wendy'];
const LAST = ['smith', 'jones', 'garcia', 'miller', 'davis', 'lopez', 'wilson', 'moore', 'taylor', 'thomas', 'white', 'harris', 'martin', 'clark', 'lewis', 'walker', 'young', 'king', 'wright', 'scott'];
const ROLES = ['db', 'web', 'app', 'cache', 'queue', 'auth', 'mail', 'vpn', 'backup', 'build', 'dc', 'files', 'jump', 'k8s', 'log'];
const ENVS = ['prod', 'stage', 'dev', 'dr'];
const TARGET_USERS = ['root', 'admin', 'deploy', 'postgres', 'ubuntu', 'Administrator', 'ec2-user', 'oracle'];
export const SERVICES = ['nginx', 'postgresql', 'redis', 'rabbitmq', 'sshd', 'docker', 'kubelet', 'haproxy', 'grafana', 'prometheus', 'elasticsearch', 'keycloak', 'vault', 'consul', 'cron', 'rsyslog', 'mysqld', 'tomcat', 'jenkins', 'postfix'];
const NAMESPACES = ['prod', 'staging', 'payments', 'search', 'monitoring', 'ingress', 'default', 'kube-system'];
const TABLES = ['orders', 'customers', 'invoices', 'sessions', 'audit_log', 'payments', 'products', 'shipments'];
const APPS_LINUX = ['/usr/bin/bash', '/usr/bin/vim', '/usr/bin/ssh', '/usr/bin/sudo', '/usr/bin/python3', '/usr/bin/curl', '/usr/bin/tar', '/usr/bin/rsync', '/usr/sbin/tcpdump', '/usr/bin/top', '/usr/bin/less', '/usr/bin/journalctl', '/usr/bin/firefox', '/usr/bin/gnome-terminal'];
const APPS_WINDOWS = ['C:\\Windows\\System32\\mmc.exe', 'C:\\Windows\\System32\\cmd.exe', 'C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe', 'C:\\Windows\\regedit.exe', 'C:\\Program Files\\Microsoft SQL Server Management Studio 19\\Common7\\IDE\\Ssms.exe', 'C:\\Windows\\explorer.exe', 'C:\\Program Files (x86)\\Microsoft\\Edge\\Application\\msedge.exe', 'C:\\Windows\\System32\\eventvwr.exe', 'C:\\Windows\\System32\\taskmgr.exe', 'C:\\Windows\\System32\\notepad.exe'];
const WINDOWS = ['Event Viewer', 'Active Directory Users and Computers', 'Group Policy Management', 'Services', 'Task Manager', 'Registry Editor', 'Windows PowerShell', 'Microsoft SQL Server Management Studio', 'Grafana - Microsoft Edge', 'Jenkins - Microsoft Edge', 'DNS Manager', 'Server Manager', 'Notepad - hosts', 'Command Prompt'];
const EXCEPTIONS = ['java.net.ConnectException', 'psycopg2.OperationalError', 'redis.exceptions.TimeoutError', 'NullPointerException', 'ECONNRESET', 'upstream timed out'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const FILES = ['backups', 'releases', 'config.yml', 'app.log', 'id_rsa.pub', 'docker-compose.yml', 'Makefile', 'README.md', 'data', 'tmp'];
const SHORT_CMDS = ['ls', 'ls -la', 'cd ..', 'df -h', 'free -m', 'uptime', 'whoami', 'id', 'top', 'htop', 'pwd', 'history', 'exit', 'clear', 'w', 'date'];

export interface Catalog {
  users: Array<{ id: string; name: string; addresses: string[] }>;
  secrets: Array<{ id: string; name: string; host: string; user: string; kind: 'ssh' | 'desktop' }>;
  agentHosts: string[];
}

export function catalog(seed = 7): Catalog {
  const r = new Rng(seed);
  const users = [];
  for (const f of FIRST) for (const l of LAST) users.push({ id: uuid(r), name: `${f}.${l}`, addresses: [1, 2].map(() => `10.${r.int(40)}.${r.int(256)}.${1 + r.int(254)}`) });
  const secrets = [];
  for (let i = 0; i < 300; i++) {
    const role = ROLES[i % ROLES.length]!;
    const env = ENVS[Math.floor(i / ROLES.length) % ENVS.length]!;
    const n = String(Math.floor(i / (ROLES.length * ENVS.length)) + 1).padStart(2, '0');
    const desktop = role === 'dc' || role === 'files' || (role === 'jump' && i % 2 === 0);
    secrets.push({ id: uuid(r), name: `${role}-${env}-${n}`, host: `${role}${n}.${env}.corp.example`, user: desktop ? 'CORP\\Administrator' : r.pick(TARGET_USERS), kind: desktop ? 'desktop' as const : 'ssh' as const });
  }
  const agentHosts = Array.from({ length: 500 }, (_, i) => `host${String(i).padStart(3, '0')}.corp.example`);
  return { users, secrets, agentHosts };
}

function command(r: Rng): string {
  const svc = r.skewed(SERVICES);
  const x = r.next();
  if (x < 0.22) return r.pick(SHORT_CMDS);
  if (x < 0.30) return `sudo systemctl restart ${svc}`;
  if (x < 0.36) return `systemctl status ${svc}`;
  if (x < 0.42) return `tail -n 200 /var/log/${svc}/error.log`;
  if (x < 0.48) return `grep -i error /var/log/${svc}/${svc}.log | tail`;
  if (x < 0.53) return `cd /opt/${svc}/releases/${2020 + r.int(6)}${String(1 + r.int(12)).padStart(2, '0')}`;
  if (x < 0.57) return `git checkout feature/OPS-${10000 + r.int(90000)}`;
  if (x < 0.61) return `kubectl -n ${r.pick(NAMESPACES)} get pods -o wide`;
  if (x < 0.64) return `psql -U app -d ${r.pick(TABLES)}db -c "select count(*) from ${r.pick(TABLES)}"`;
  if (x < 0.68) return `vim /etc/${svc}/${svc}.conf`;
  if (x < 0.70) return `rm -rf /var/tmp/build-${r.hex(6)}`;
  if (x < 0.72) return `docker logs --tail 100 ${svc}-${r.int(9)}`;
  if (x < 0.74) return `journalctl -u ${svc} --since "1 hour ago"`;
  if (x < 0.76) return `curl -s http://localhost:${8000 + r.int(100)}/health`;
  if (x < 0.78) return `ps aux | grep ${svc}`;
  if (x < 0.80) return `scp backup-${r.hex(8)}.tar.gz backup@backup01.prod.corp.example:/backups/`;
  if (x < 0.802) return 'cat /etc/passwd';
  if (x < 0.803) return 'sudo cat /etc/shadow';
  if (x < 0.804) return `passwd ${r.pick(FIRST)}`;
  if (x < 0.805) return `rm -rf /var/lib/${svc}/data`;
  if (x < 0.83) return `openssl x509 -in /etc/ssl/certs/${svc}.pem -noout -dates`;
  if (x < 0.86) return `chmod 640 /etc/${svc}/${r.pick(FILES)}`;
  if (x < 0.90) return `less /var/log/${svc}/access.log`;
  return `ansible-playbook site.yml --limit ${r.pick(ROLES)}-${r.pick(ENVS)} --tags ${svc}`;
}

function output(r: Rng, host: string): string {
  const svc = r.skewed(SERVICES);
  const x = r.next();
  const ts = `2025-${String(1 + r.int(12)).padStart(2, '0')}-${String(1 + r.int(28)).padStart(2, '0')}T${String(r.int(24)).padStart(2, '0')}:${String(r.int(60)).padStart(2, '0')}:${String(r.int(60)).padStart(2, '0')}Z`;
  if (x < 0.3) return `${ts} ${host} ${svc}[${1000 + r.int(60000)}]: GET /api/v1/${r.pick(TABLES)}/${r.int(1e6)} ${r.pick([200, 200, 200, 201, 304, 404, 500])} ${r.int(900)}ms req=${r.hex(12)}`;
  if (x < 0.5) return `${r.pick(['drwxr-xr-x', '-rw-r--r--', '-rw-------', 'lrwxrwxrwx'])} ${1 + r.int(9)} root root ${r.int(99999)} ${r.pick(MONTHS)} ${1 + r.int(28)} ${String(r.int(24)).padStart(2, '0')}:${String(r.int(60)).padStart(2, '0')} ${r.pick(FILES)}`;
  if (x < 0.6) return `● ${svc}.service - ${svc} daemon\n   Loaded: loaded (/lib/systemd/system/${svc}.service; enabled)\n   Active: active (running) since ${ts}; ${r.int(90)} days ago`;
  if (x < 0.7) return `${ts} ERROR ${r.pick(EXCEPTIONS)}: connection refused (${r.pick(ROLES)}${r.int(20)}.prod.corp.example:${1000 + r.int(9000)})`;
  if (x < 0.8) return `${r.pick(FIRST)} ${1000 + r.int(60000)} ${(r.next() * 30).toFixed(1)} ${(r.next() * 10).toFixed(1)} ${r.pick(APPS_LINUX)} --config /etc/${svc}/${svc}.conf`;
  if (x < 0.9) return `NAME READY STATUS RESTARTS AGE\n${svc}-${r.hex(10)}-${r.hex(5)} 1/1 Running ${r.int(5)} ${r.int(90)}d`;
  return `Filesystem Size Used Avail Use% Mounted on\n/dev/sda${1 + r.int(4)} ${r.int(500)}G ${r.int(400)}G ${r.int(100)}G ${r.int(100)}% /${r.pick(['', 'var', 'home', 'data'])}`;
}

/** Generates the sessions, started in time order over CORPUS_SPAN_MS before CORPUS_END. */
export function generateSessions(size: CorpusSize, cat: Catalog, seed = 11): SessionRow[] {
  const r = new Rng(seed);
  const out: SessionRow[] = [];
  const step = CORPUS_SPAN_MS / size.sessions;
  for (let i = 0; i < size.sessions; i++) {
    const started = Math.floor(CORPUS_END - CORPUS_SPAN_MS + i * step + r.next() * step);
    const user = r.skewed(cat.users);
    const kx = r.next();
    const kind = kx < 0.15 ? 'host' : 'secret';
    const secret = kind === 'secret' ? r.skewed(cat.secrets) : null;
    const duration = Math.floor(60_000 + Math.exp(r.next() * 5) * 30_000); // 1 min … ~75 min
    const recent = i >= size.sessions - Math.max(1, Math.floor(size.sessions / 500));
    const sx = r.next();
    const status = recent && sx < 0.5 ? 'active' : sx < 0.9 ? 'ended' : sx < 0.95 ? 'interrupted' : 'terminated';
    const ended = status === 'active' ? null : started + duration;
    out.push({
      id: uuid(r),
      kind: secret ? secret.kind : 'host',
      status,
      user_id: user.id,
      username: user.name,
      secret_id: secret?.id ?? null,
      secret_name: secret?.name ?? null,
      target_host: secret?.host ?? r.pick(cat.agentHosts),
      target_user: secret?.user ?? user.name.split('.')[0]!,
      client_address: r.pick(user.addresses),
      component: secret ? (secret.kind === 'ssh' ? 'ssh-proxy' : 'launcher') : 'agent',
      started_at: started,
      ended_at: ended,
      duration_ms: ended === null ? null : duration,
    });
  }
  return out;
}

interface Cursor {
  s: SessionRow;
  n: number;
  k: number;
  seqs: Map<string, number>;
  duration: number;
}

/**
 * Streams events in ingestion order: up to 16 sessions are recorded at once and each delivers its
 * events in small batches, so a session's events are interleaved with others' as in production.
 */
export function* generateEvents(size: CorpusSize, sessions: SessionRow[], seed = 13): Generator<EventRow[]> {
  const r = new Rng(seed);
  const perSession = size.events / sessions.length;
  let next = 0;
  let id = 1;
  const open: Cursor[] = [];
  const refill = () => {
    while (open.length < 16 && next < sessions.length) {
      const s = sessions[next++]!;
      open.push({ s, n: Math.max(1, Math.round(perSession * (0.2 + 1.6 * r.next()))), k: 0, seqs: new Map(), duration: s.duration_ms ?? 3_600_000 });
    }
  };
  let emitted = 0;
  refill();
  while (open.length > 0 && emitted < size.events) {
    const batch: EventRow[] = [];
    for (let b = 0; b < 64 && open.length > 0; b++) {
      const i = r.int(open.length);
      const c = open[i]!;
      const take = 1 + r.int(12);
      for (let j = 0; j < take && c.k < c.n; j++, c.k++) batch.push(makeEvent(r, c, id++));
      if (c.k >= c.n) {
        open.splice(i, 1);
        refill();
      }
    }
    emitted += batch.length;
    yield batch;
  }
}

function makeEvent(r: Rng, c: Cursor, id: number): EventRow {
  const s = c.s;
  const at = Math.floor((c.duration * (c.k + r.next())) / c.n);
  const ev = (source: string, type: string, text: string, details: string | null = null): EventRow => {
    const seq = c.seqs.get(source) ?? 0;
    c.seqs.set(source, seq + 1);
    return { id, session_id: s.id, source, seq, at_ms: at, type, text, details };
  };
  const x = r.next();
  if (s.kind === 'ssh') {
    if (x < 0.3) return ev('proxy', 'keystrokes', command(r));
    if (x < 0.45) return ev('proxy', 'command', command(r));
    return ev('proxy', 'output', output(r, s.target_host));
  }
  if (s.kind === 'desktop') {
    if (x < 0.35) return ev('launcher', 'screen-change', '', `{"magnitude":${r.next().toFixed(2)}}`);
    if (x < 0.55) return ev('agent', 'window', `${r.pick(WINDOWS)} - ${s.target_host}`);
    if (x < 0.75) {
      const app = r.pick(APPS_WINDOWS);
      return ev('agent', x < 0.65 ? 'process-start' : 'process-stop', app, JSON.stringify({ path: app, pid: 1000 + r.int(60000) }));
    }
    return ev('agent', 'keystrokes', r.next() < 0.5 ? command(r) : `Get-Service ${r.skewed(SERVICES)} | Restart-Service`);
  }
  if (x < 0.3) {
    const app = r.pick(APPS_LINUX);
    return ev('agent', x < 0.15 ? 'process-start' : 'process-stop', `${app} ${command(r)}`, JSON.stringify({ path: app, pid: 1000 + r.int(60000) }));
  }
  if (x < 0.55) return ev('agent', 'keystrokes', command(r));
  if (x < 0.75) return ev('agent', 'command', command(r));
  return ev('agent', 'output', output(r, s.target_host));
}
