import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ADMIN_PASSWORD, Api, startTestServer, type TestServer } from '../test/helpers/server.ts';
import { TCK } from './proc-stats.ts';
import { recordResult } from './record.ts';
import { PTY_DRIVER } from '../test/helpers/pty-login.ts';

/**
 * `npm run bench -- agent [--seconds 10] [--rate 200] [--runs N]`: the host agent as operators run it
 * (`vigil agent run`, its own process) against an in-process server (SQLite). Measures the share
 * of short-lived processes captured at `rate` execs/s (proc connector and /proc polling), the
 * agent's CPU (its node process plus helper) idle and under load, and events/s delivered.
 */
const ROOT = path.resolve(import.meta.dirname, '..');
const VIGIL = path.join(ROOT, 'bin', 'vigil.js');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const GEN = `
import os, sys, time
rate, seconds = float(sys.argv[1]), float(sys.argv[2])
n = int(rate * seconds) if rate > 0 else int(seconds)
start = time.monotonic()
pids = []
for i in range(n):
    if rate > 0:
        d = start + i / rate - time.monotonic()
        if d > 0: time.sleep(d)
    pids.append(os.posix_spawn('/bin/true', ['/bin/true'], os.environ))
    if len(pids) > 64:
        for p in pids: os.waitpid(p, 0)
        pids = []
for p in pids: os.waitpid(p, 0)
print('GEN-DONE %d %.3f' % (n, time.monotonic() - start), flush=True)
`;

/** CPU ticks of the agent's node process and of its children (the capture helper), separately. */
function cpuTicks(pid: number): { node: number; helper: number } {
  const ticks = (p: number): number => {
    try {
      const s = readFileSync(`/proc/${p}/stat`, 'utf8');
      const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
      return Number(f[11]) + Number(f[12]);
    } catch {
      return 0; /* gone */
    }
  };
  let helper = 0;
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const s = readFileSync(`/proc/${e}/stat`, 'utf8');
      if (Number(s.slice(s.lastIndexOf(')') + 2).split(' ')[1]) === pid) helper += ticks(Number(e));
    } catch { /* gone */ }
  }
  return { node: ticks(pid), helper };
}

/** Share of one core over `ms`: node + helper, and each. */
async function cpuShare(pid: number, ms: number): Promise<Cpu> {
  const a = cpuTicks(pid);
  const t0 = Date.now();
  await sleep(ms);
  const b = cpuTicks(pid);
  const secs = (Date.now() - t0) / 1000;
  const node = (b.node - a.node) / TCK / secs;
  const helper = (b.helper - a.helper) / TCK / secs;
  return { total: node + helper, node, helper };
}

interface Cpu {
  total: number;
  node: number;
  helper: number;
}

const cpuText = (c: Cpu): string => `${(100 * c.total).toFixed(1)} % (node ${(100 * c.node).toFixed(1)} % + helper ${(100 * c.helper).toFixed(1)} %)`;

interface Run {
  captured: number;
  detailed: number;
  spawned: number;
  idleCpu: Cpu;
  loadCpu: Cpu;
  deliveredPerSec: number;
  burst: number;
}

async function runAgent(t: TestServer, admin: Api, capture: string, rate: number, seconds: number, burst: number, profileDir: string | undefined): Promise<Run> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'vigil-agent-bench-'));
  const tok = await admin.post('/api/v1/agents/enrollment-tokens', {});
  writeFileSync(path.join(dir, 'token'), tok.body.token);
  const env = { ...process.env, VIGIL_LOG_LEVEL: 'warn' };
  await new Promise<void>((resolve, reject) => spawn(process.execPath, [VIGIL, 'agent', 'enroll', '--server', t.base, '--token-file', path.join(dir, 'token'), '--state-dir', dir], { env, stdio: 'ignore' }).on('exit', (c) => (c === 0 ? resolve() : reject(new Error('enroll failed')))));
  // `--prof DIR`: the agent writes a V8 CPU profile there when it stops (summarise with bench/cpu-profile.ts).
  const prof = profileDir ? ['--cpu-prof', '--cpu-prof-interval=2000', `--cpu-prof-dir=${path.resolve(profileDir, capture)}`] : [];
  const nodeFlags = (process.env.VIGIL_BENCH_AGENT_NODE_FLAGS ?? '').split(' ').filter(Boolean); // experiments with V8 flags
  const agent: ChildProcess = spawn(process.execPath, [...nodeFlags, ...prof, VIGIL, 'agent', 'run', '--state-dir', dir, '--socket', path.join(dir, 's.sock'), '--capture', capture], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((r) => agent.stdout!.once('data', () => r()));
  const term = spawn('python3', ['-c', PTY_DRIVER, 'bash', '--norc', '--noprofile', '-i'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let leader = 0;
  term.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  term.stderr!.on('data', (d: Buffer) => (leader = Number(/PID (\d+)/.exec(d.toString())?.[1] ?? leader)));
  const genFile = path.join(dir, 'gen.py');
  writeFileSync(genFile, GEN);
  try {
    let sessionId: string | null = null;
    for (let i = 0; i < 200 && !sessionId; i++) {
      await sleep(100);
      const rows = await t.server.store.db.selectFrom('agent_logins').selectAll().execute();
      sessionId = rows.find((r) => leader && r.login_key.split(':')[1] === String(leader))?.session_id ?? null;
    }
    if (!sessionId) throw new Error('the bench login was not detected');
    const idleCpu = await cpuShare(agent.pid!, 10_000);
    const count = async () => {
      const rows = await t.server.store.db.selectFrom('activity_events').select(['type', 'text']).where('session_id', '=', sessionId).where('source', '=', 'agent').execute();
      const starts = rows.filter((r) => r.type === 'process-start');
      return { all: rows.length, trues: starts.filter((r) => r.text === '/bin/true' || r.text === 'true' || r.text === '?').length, detailed: starts.filter((r) => r.text === '/bin/true').length };
    };
    term.stdin!.write(`python3 ${genFile} ${rate} ${seconds}\n`);
    const loadCpu = await cpuShare(agent.pid!, seconds * 1000);
    for (let i = 0; i < 100 && !/GEN-DONE/.test(out); i++) await sleep(100);
    let prev = -1;
    let c = await count();
    while (c.all !== prev) {
      prev = c.all;
      await sleep(2000);
      c = await count();
    }
    const spawned = Math.round(rate * seconds);
    const before = await count();
    // Throughput: `burst` processes as fast as the shell spawns them, timed until the server holds their events.
    out = '';
    const t0 = Date.now();
    term.stdin!.write(`python3 ${genFile} 0 ${burst}\n`);
    let last = before.all;
    let lastChange = Date.now();
    for (;;) {
      await sleep(200);
      const now = (await count()).all;
      if (now !== last) {
        last = now;
        lastChange = Date.now();
      } else if (/GEN-DONE/.test(out) && Date.now() - lastChange > 1500) break;
      if (Date.now() - t0 > 120_000) break;
    }
    const deliveredPerSec = (last - before.all) / ((lastChange - t0) / 1000);
    return { captured: c.trues, detailed: c.detailed, spawned, idleCpu, loadCpu, deliveredPerSec, burst: last - before.all };
  } finally {
    term.kill('SIGKILL');
    if (leader) try { process.kill(leader, 'SIGKILL'); } catch { /* gone */ }
    const exited = new Promise((r) => agent.once('exit', r));
    agent.kill('SIGTERM');
    await Promise.race([exited, sleep(5000)]);
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function run(args: string[]): Promise<void> {
  const opt = (name: string, def: number) => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? Number(args[i + 1]) : def;
  };
  const seconds = opt('seconds', 10);
  const rate = opt('rate', 200);
  const burst = opt('burst', 3000);
  const str = (name: string): string | undefined => (args.includes(`--${name}`) ? args[args.indexOf(`--${name}`) + 1] : undefined);
  const profileDir = str('prof');
  // `--only proc-connector`: one capture, printed but not recorded (the table needs both).
  const only = str('only');
  const captures = only ? [only] : ['proc-connector', 'proc-polling'];
  const t = await startTestServer();
  try {
    const admin = await Api.login(t.base, 'admin', ADMIN_PASSWORD);
    const cur = (await admin.get('/api/v1/settings/session-recording')).body;
    await admin.put('/api/v1/settings/session-recording', { ...cur, recordAllSessions: true });
    // `--runs N`: the proc-connector measurement N times (its run-to-run noise on a shared machine is
    // ±1–2 points); the table shows the run with the median CPU at `rate`, the text lists every run.
    const runs = Math.max(1, opt('runs', 1));
    const results: Record<string, Run> = {};
    const all: Array<Run & { load: string }> = [];
    for (const capture of captures) {
      const repeat = capture === 'proc-connector' ? runs : 1;
      const mine: Array<Run & { load: string }> = [];
      for (let i = 0; i < repeat; i++) {
        const load = os.loadavg()[0]!.toFixed(2);
        const r = { ...(await runAgent(t, admin, capture, rate, seconds, burst, profileDir)), load };
        mine.push(r);
        console.log(`${capture}: captured ${r.captured}/${r.spawned} (${((100 * r.captured) / r.spawned).toFixed(1)} %), full details ${r.detailed}; CPU idle ${cpuText(r.idleCpu)}, at ${rate}/s ${cpuText(r.loadCpu)} of one core; delivered ${r.deliveredPerSec.toFixed(0)} events/s (burst of ${r.burst} events); load before ${load}`);
      }
      const sorted = [...mine].sort((a, b) => a.loadCpu.total - b.loadCpu.total);
      results[capture] = sorted[Math.floor((sorted.length - 1) / 2)]!;
      if (capture === 'proc-connector') all.push(...mine);
    }
    if (only) return;
    const pc = results['proc-connector']!;
    const pp = results['proc-polling']!;
    const perRun = all.length > 1 ? [`The proc-connector measurement ran ${all.length} times (\`--runs ${all.length}\`); the table shows the median run. Agent CPU at ${rate} execs/s in each run, in order: ${all.map((r) => `${cpuText(r.loadCpu)} (load average ${r.load} before; captured ${r.captured}/${r.spawned}, full path ${r.detailed})`).join('; ')}.`, ''] : [];
    const pct = (a: number, b: number) => `${((100 * a) / b).toFixed(1)} %`;
    recordResult('agent', [
      `Measured ${new Date().toISOString().slice(0, 16)}Z on ${os.cpus().length} cores (shared with other engineers' test runs; load average ${os.loadavg().map((l) => l.toFixed(2)).join(' / ')} at the end). \`npm run bench -- agent\`: \`vigil agent run\` as its own process against an in-process server (SQLite), a pty login, \`/bin/true\` spawned at ${rate}/s for ${seconds} s (${pc.spawned} processes).`,
      '',
      '| measure | goal | proc connector (vigil-proc-connector) | /proc polling (100 ms) |',
      '|---|---|---|---|',
      `| short-lived processes captured at ${rate} execs/s | 100 % (proc connector) | ${pct(pc.captured, pc.spawned)} (${pc.captured}/${pc.spawned}; with full path ${pct(pc.detailed, pc.spawned)}) | ${pct(pp.captured, pp.spawned)} (${pp.captured}/${pp.spawned}) |`,
      `| agent CPU, idle (node + helper) | < 5 % of one core | ${cpuText(pc.idleCpu)} | ${cpuText(pp.idleCpu)} |`,
      `| agent CPU at ${rate} execs/s | < 5 % of one core | ${cpuText(pc.loadCpu)} | ${cpuText(pp.loadCpu)} |`,
      `| events delivered to the server (burst, start + stop per process) | — | ${pc.deliveredPerSec.toFixed(0)} events/s (${pc.burst} events) | ${pp.deliveredPerSec.toFixed(0)} events/s (${pp.burst} events) |`,
      '',
      ...perRun,
      '"Idle" is this shared machine without the benchmark\'s own load: the agent still receives every exec of the other engineers\' processes (it must look at each to decide whether it belongs to a login), so idle CPU includes that background.',
      '',
      'Where the time goes at 200 execs/s (2026-12-02, `perf record` on the helper and on the agent\'s main thread, `perf stat` for system calls, per-thread CPU from /proc; this machine is a PVM guest, where every system call, context switch and page fault costs several times what it costs on bare metal): the helper wakes once per exec (SCHED_FIFO: it must read /proc before a short-lived process exits) and makes 7 system calls for it (6.95 per exec measured standalone, 8.0 before) — `recv`, one `recvmmsg` for the queued forks, cmdline open + read + close, exe and cwd readlink; parent, real uid and session come from its table of processes kept from fork, setuid and setsid events, so `/proc/PID/status`, the dearest /proc file to generate, is no longer read per exec (only for a process whose fork the helper never saw). Most of the helper\'s remaining time is the wake-up itself and the cmdline read. In node about half the CPU is the main thread (handling the helper\'s lines: parsing, attribution, one `JSON.stringify` per event into the spool; the events POST every 500 ms over node:http; the 250 ms delivery round) and about half V8\'s background threads (parallel scavenges, concurrent marking and compilation), which on this guest cost as much as the work they do; pending events are kept only as their spooled lines, not as objects that outlive the young generation. Runs of the same code vary by ±1–2 points on this shared machine (other engineers\' test runs; the agent also records their pty logins, since "record all sessions" is on).',
    ]);
  } finally {
    await t.stop();
  }
}
