// Child process of `npm run bench -- ssh`: a real sshd target plus a Vigil server (embedded
// store) whose own SSH proxy is measured. Prints one JSON line with ports and key paths, then
// stays up until stdin closes (or SIGTERM). Running it as its own process lets the bench read the
// proxy's CPU and RSS from /proc/<pid>.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { monitorEventLoopDelay, performance, PerformanceObserver } from 'node:perf_hooks';
import readline from 'node:readline';
import { ADMIN_PASSWORD, Api, startTestServer } from '../test/helpers/server.ts';
import { startSshd } from '../test/helpers/sshd.ts';
import { tempDir } from '../test/helpers/stores.ts';
import type { SqliteStore } from '../src/adapters/store/sqlite/sqlite-store.ts';

const tmp = tempDir('vigil-bench-ssh-');
const sshd = await startSshd();
const t = await startTestServer({ VIGIL_SSH_PORT: '0' });
const admin = await Api.login(t.base, 'admin', ADMIN_PASSWORD);
const roles = Object.fromEntries((await admin.get('/api/v1/roles')).body.items.map((r: { name: string; id: string }) => [r.name, r.id]));
const user = await admin.post('/api/v1/users', { username: 'bench', password: 'bench-password-123', roles: [roles.User] });
if (user.status !== 201) throw new Error(`user: ${JSON.stringify(user.body)}`);
const key = path.join(tmp.dir, 'bench_ed25519');
execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'bench', '-f', key]);
const pub = fs.readFileSync(`${key}.pub`, 'utf8');
const reg = await admin.post(`/api/v1/users/${user.body.id}/ssh-keys`, { publicKey: pub });
if (reg.status !== 201) throw new Error(`ssh key: ${JSON.stringify(reg.body)}`);
sshd.authorize(pub); // the same key logs in directly, so both paths use the same client auth
const target = { kind: 'ssh', host: '127.0.0.1', port: sshd.port, username: sshd.user, password: sshd.password, access: { users: [user.body.id], roles: [] } };
for (const [name, rec] of [['rec', { video: true, keystrokes: true }], ['norec', { video: false, keystrokes: false }]] as const) {
  const res = await admin.post('/api/v1/secrets', { name, ...target, recording: rec });
  if (res.status !== 201) throw new Error(`secret ${name}: ${JSON.stringify(res.body)}`);
}

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await t.stop().catch(() => undefined);
  await sshd.stop().catch(() => undefined);
  tmp.remove();
  process.exit(0);
};
process.on('SIGTERM', () => void stop());
process.stdin.on('end', () => void stop());
// `eld` on stdin: prints this process's event-loop delay since the last `eld` (ms) and resets it.
const eld = monitorEventLoopDelay({ resolution: 1 });
eld.enable();
// `--trace` (VIGIL_BENCH_TRACE=1): garbage collections of this process, in wall-clock ms, printed on `trace`.
const gcs: Array<[number, number, number]> = [];
/** The proxy's group commits: [start, ms the event loop was held (statements up to COMMIT), ms until durable (WAL flushed)]. */
const commits: Array<[number, number, number]> = [];
/** The store's WAL flushes (fdatasync on the thread pool): [start, ms]. */
const flushes: Array<[number, number]> = [];
/** performance.now() → process.hrtime (CLOCK_MONOTONIC, the same in every process on this host), for traces across processes. */
const gcOffset = Number(process.hrtime.bigint()) / 1e6 - performance.now();
if (process.env.VIGIL_BENCH_TRACE === '1') {
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) gcs.push([e.startTime + gcOffset, e.duration, ((e as unknown as { detail?: { kind?: number } }).detail?.kind ?? 0)]);
  }).observe({ entryTypes: ['gc'] });
  (globalThis as { __vigilTrace?: unknown[] }).__vigilTrace = [];
  const wal = (t.server.store as Partial<SqliteStore>).wal;
  let lastCommitAt = 0;
  if (wal) {
    const committed = wal.committed.bind(wal);
    wal.committed = () => {
      lastCommitAt = performance.now();
      committed();
    };
    wal.onFlush = (start, ms) => void flushes.push([start + gcOffset, ms]);
  }
  // The proxy's group commits. Their statements run synchronously on this event loop up to the
  // COMMIT (with better-sqlite3 every step resolves at once, in microtasks); the WAL flush after
  // it runs on the thread pool while the loop goes on.
  const ingest = t.server.services.ingest;
  const batch = ingest.batch.bind(ingest);
  ingest.batch = (items) => {
    const t0 = performance.now();
    const p = batch(items);
    const done = (): void => void commits.push([t0 + gcOffset, (lastCommitAt > t0 ? lastCommitAt : performance.now()) - t0, performance.now() - t0]);
    p.then(done, done);
    return p;
  };
}
readline.createInterface({ input: process.stdin }).on('line', (l) => {
  if (l.trim() === 'trace') {
    const io = (globalThis as { __vigilTrace?: unknown[] }).__vigilTrace ?? [];
    process.stdout.write(`${JSON.stringify({ trace: { gc: gcs, io, commits, flushes } })}\n`);
    return;
  }
  if (l.trim() !== 'eld') return;
  const ms = (ns: number) => Math.round(ns / 1e4) / 100;
  process.stdout.write(`${JSON.stringify({ eld: { p50: ms(eld.percentile(50)), p99: ms(eld.percentile(99)), max: ms(eld.max) } })}\n`);
  eld.reset();
});
process.stdout.write(`${JSON.stringify({ proxyPort: t.server.sshPort, sshdPort: sshd.port, key, targetUser: sshd.user, dataDir: tmp.dir })}\n`);
