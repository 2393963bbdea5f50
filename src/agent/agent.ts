import { existsSync, mkdirSync, readdirSync, chmodSync, rmSync, openSync, writeSync, closeSync, constants as fsc } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Logger } from '../adapters/log/logger.ts';
import type { AgentSettings, AgentStatus } from '../protocol/agents.ts';
import { ServerError, type AgentClient } from './agent-client.ts';
import type { Login, LoginSource } from './logins/login.ts';
import type { ProcessCapture, ProcessEvent } from './processes/capture.ts';
import { ProcessTracker } from './process-tracker.ts';
import { readStat } from './proc.ts';
import { SessionLink } from './session-link.ts';
import { ShellRecorder } from './session-shell/shell-recorder.ts';
import { SessionSpool, SpoolBudget } from './spool.ts';
import type { WindowWatcher, WindowChange } from './window/x11-window.ts';
import type { BusDelivery } from './bus-delivery.ts';

export interface AgentOptions {
  client: AgentClient;
  logger: Logger;
  hostName: string;
  version: string;
  /** Spool and state live here (0700). */
  stateDir: string;
  /** The session-shell socket. */
  shellSocket: string;
  logins: LoginSource;
  /** Tried in order: the proc-connector path first, /proc polling as the fallback. */
  captures: ProcessCapture[];
  window?: WindowWatcher;
  /** Session data over the Bus (RabbitMQ) instead of HTTP. */
  bus?: BusDelivery;
  heartbeatMs?: number;
  loginScanMs?: number;
  spoolMaxBytes?: number;
  /** Called when the server says this agent was deactivated (the CLI forgets the credential). */
  onDeactivated?: () => void;
}

type LoginState = {
  login: Login;
  state: 'reporting' | 'joined' | 'ignored';
  link?: SessionLink;
  /** Events that arrived before the server answered the login report. */
  early: Array<(l: SessionLink) => void>;
  lastActivity: number;
  warned: { idle: boolean; max: boolean };
  ending: boolean;
  shells: Set<ShellRecorder>;
};

const MAX_EARLY = 10_000;
/** Login scan interval while process events arrive (they find logins as they start and end). */
const EVENT_SCAN_MS = 5000;

/**
 * The host agent: reports logins, attributes process events (and session-shell keystrokes and the
 * active window) to them, spools everything with sequence numbers and delivers it over HTTP;
 * enforces the inactivity and length limits and carries out message/terminate for sessions it holds.
 */
export class HostAgent {
  private settings: AgentSettings = { enabled: true, recordAllSessions: false, recordKeystrokes: true, inactivityTimeoutMinutes: 0, maxSessionMinutes: 0 };
  private readonly logins = new Map<string, LoginState>();
  private readonly orphans: SessionLink[] = [];
  private readonly tracker = new ProcessTracker();
  private readonly started = new Map<number, { name: string; path: string | null; at: number }>();
  private readonly budget: SpoolBudget;
  private capture: ProcessCapture | undefined;
  private captureError: string | null = null;
  private timers: NodeJS.Timeout[] = [];
  private shellServer: net.Server | undefined;
  private stopped = false;
  private counters = { processStarts: 0, processStops: 0, delivered: 0 };
  private readonly spoolDir: string;
  private activeWindow: WindowChange | undefined;
  private windowOn = false;
  private lastScan = 0;
  private scanTimer: NodeJS.Timeout | undefined;
  /** For tests and the benchmark: every process-start the agent attributed, by pid. */
  readonly seenStarts = new Set<number>();

  constructor(private readonly o: AgentOptions) {
    this.budget = new SpoolBudget(o.spoolMaxBytes ?? 256 * 1024 * 1024);
    this.spoolDir = path.join(o.stateDir, 'spool');
  }

  get status(): AgentStatus {
    return {
      processCapture: this.capture?.kind ?? 'off',
      processCaptureTool: this.capture?.tool ?? null,
      processEventsLost: this.capture?.lost ?? 0,
      processCaptureError: this.captureError,
      logins: this.o.logins.kind,
      window: this.windowOn ? 'x11' : 'off',
      transport: this.o.bus ? 'bus' : 'http',
      activeLogins: this.logins.size,
      heldSessions: [...this.logins.values()].filter((l) => l.link?.spool.meta.held).length,
      spool: { events: this.budget.events, bytes: this.budget.bytes, dropped: this.budget.dropped },
      counters: { ...this.counters },
    };
  }

  async start(): Promise<void> {
    mkdirSync(this.spoolDir, { recursive: true, mode: 0o700 });
    chmodSync(this.o.stateDir, 0o700);
    this.resumeSpools();
    for (const c of this.o.captures) {
      try {
        await c.start((e) => this.onProcess(e), (err) => this.onCaptureFailure(c, err));
        this.capture = c;
        break;
      } catch (err) {
        this.captureError = `${c.kind}: ${err instanceof Error ? err.message : String(err)}`.slice(0, 500);
        this.o.logger.warn({ capture: c.kind, err: this.captureError }, 'process capture unavailable; trying the next one');
      }
    }
    await this.heartbeat().catch((err: unknown) => this.o.logger.warn({ err: String(err) }, 'first heartbeat failed; retrying'));
    this.o.logins.watch?.(() => this.scanSoon());
    this.scanLogins();
    await this.startShellServer();
    if (this.o.window) {
      this.windowOn = await this.o.window.start((w) => this.onWindow(w)).then(() => true, (err: unknown) => {
        this.o.logger.info({ err: String(err) }, 'no X11 display: active-window capture off');
        return false;
      });
    }
    this.timers.push(setInterval(() => void this.heartbeat().catch((err: unknown) => this.o.logger.debug({ err: String(err) }, 'heartbeat failed')), this.o.heartbeatMs ?? 15_000));
    // With process events a new login is found by its first exec (probe) and an ended one by its
    // leader's exit, so the full scan (a stat of every process) is only a safety net then.
    const scanMs = this.o.loginScanMs ?? 1000;
    this.timers.push(setInterval(() => {
      if (this.capture?.kind !== 'proc-connector' || Date.now() - this.lastScan >= Math.max(scanMs, EVENT_SCAN_MS)) this.scanLogins();
    }, scanMs));
    this.timers.push(setInterval(() => this.pumpAll(), 250));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    clearTimeout(this.scanTimer);
    await this.capture?.stop();
    this.o.logins.close?.();
    await this.o.window?.stop();
    this.shellServer?.close();
    for (const l of this.logins.values()) {
      for (const s of l.shells) s.finish();
      l.link?.spool.flush(true);
      l.link?.stopControl();
    }
    for (const o of this.orphans) o.spool.flush(true);
  }

  /** Sends what is spooled now (tests and shutdown use it to drain). */
  async flush(): Promise<void> {
    for (const l of this.links()) await l.pump(0);
  }

  private links(): SessionLink[] {
    return [...[...this.logins.values()].flatMap((l) => (l.link ? [l.link] : [])), ...this.orphans];
  }

  private async heartbeat(): Promise<void> {
    try {
      const res = await this.o.client.heartbeat({ hostName: this.o.hostName, version: this.o.version, addresses: hostAddresses(), status: this.status });
      this.settings = res.settings;
    } catch (err) {
      if (err instanceof ServerError && err.code === 'agent-deactivated') {
        this.o.logger.warn('this agent was deactivated by an administrator; stopping and forgetting its credential');
        await this.stop();
        rmSync(this.spoolDir, { recursive: true, force: true });
        this.o.onDeactivated?.();
        return;
      }
      throw err;
    }
  }

  private link(meta: ConstructorParameters<typeof SessionLink>[0]['meta']): SessionLink {
    const spool = SessionSpool.create(this.spoolDir, meta, this.budget);
    return this.newLink(spool);
  }

  private newLink(spool: SessionSpool): SessionLink {
    const key = spool.meta.loginKey;
    const link = new SessionLink(spool, this.o.client, this.o.logger, {
      onDelivered: (n) => (this.counters.delivered += n),
      onEnded: (status) => {
        const l = this.logins.get(key);
        if (l && status === 'terminated') this.endLogin(l, 'vigil: this session was terminated by an administrator', null);
      },
      onMessage: (text, by) => this.writeTty(key, `\r\n[vigil] message from ${by}: ${text}\r\n`),
      onTerminate: (reason, by) => {
        const l = this.logins.get(key);
        if (l) this.endLogin(l, `\r\n[vigil] this session was terminated by ${by}${reason ? `: ${reason}` : ''}\r\n`, null);
      },
    }, this.o.bus);
    if (spool.meta.held) link.startControl();
    return link;
  }

  /** Spools left by a previous run: their logins are checked by the first scan; the rest are drained. */
  private resumeSpools(): void {
    if (!existsSync(this.spoolDir)) return;
    for (const d of readdirSync(this.spoolDir)) {
      try {
        const spool = SessionSpool.load(path.join(this.spoolDir, d), this.budget);
        this.orphans.push(this.newLink(spool));
      } catch (err) {
        this.o.logger.warn({ err: String(err), dir: d }, 'unreadable spool entry skipped');
      }
    }
  }

  /** A scan shortly after a login leader exited (once it is no longer a leader in /proc). */
  private scanSoon(): void {
    if (this.scanTimer || this.stopped) return;
    this.scanTimer = setTimeout(() => {
      this.scanTimer = undefined;
      this.scanLogins();
    }, 200);
    this.scanTimer.unref();
  }

  private scanLogins(): void {
    if (this.stopped) return;
    this.lastScan = Date.now();
    let current: Login[];
    try {
      current = this.o.logins.scan();
    } catch (err) {
      this.o.logger.warn({ err: String(err) }, 'login scan failed');
      return;
    }
    const keys = new Set(current.map((l) => l.key));
    for (const l of current) if (!this.logins.has(l.key)) this.addLogin(l);
    for (const [key, st] of this.logins) if (!keys.has(key) && !st.ending) this.loginGone(st);
    // Resumed spools whose login is still here are taken back; the others are closed after draining.
    for (let i = this.orphans.length - 1; i >= 0; i--) {
      const o = this.orphans[i]!;
      const st = this.logins.get(o.spool.meta.loginKey);
      if (st && !st.link) {
        st.link = o;
        st.state = 'joined';
        this.orphans.splice(i, 1);
      } else if (!keys.has(o.spool.meta.loginKey) && !o.spool.meta.close) {
        o.spool.markClose({ status: 'ended', reason: 'the login ended while the agent was not running' });
      }
      if (o.done) this.orphans.splice(i, 1);
    }
  }

  private addLogin(login: Login): LoginState {
    const st: LoginState = { login, state: 'reporting', early: [], lastActivity: Date.now(), warned: { idle: false, max: false }, ending: false, shells: new Set() };
    this.logins.set(login.key, st);
    this.tracker.forgetOutside();
    this.tracker.addLeader(login.leaderPid, login.key);
    const resumed = this.orphans.findIndex((o) => o.spool.meta.loginKey === login.key);
    if (resumed >= 0) {
      st.link = this.orphans.splice(resumed, 1)[0];
      st.state = 'joined';
      return st;
    }
    void this.report(st);
    return st;
  }

  private async report(st: LoginState, attempt = 0): Promise<void> {
    const l = st.login;
    try {
      const ans = await this.o.client.login({ key: l.key, user: l.user, tty: l.tty, display: l.display, remoteAddress: l.remoteAddress, remotePort: l.remotePort, startedAt: l.startedAt, leaderPid: l.leaderPid });
      if (!this.logins.has(l.key)) return;
      if (!ans.session) {
        st.state = 'ignored';
        st.early = [];
        return;
      }
      const s = ans.session;
      st.link = this.link({ sessionId: s.id, uploadToken: s.uploadToken, startedAt: s.startedAt, held: s.held, media: s.media, recordKeystrokes: s.recordKeystrokes, loginKey: l.key, eventsAcked: 0, chunksAcked: 0, close: null });
      st.state = 'joined';
      st.link.event(Math.max(l.startedAt, s.startedAt), 'login', `${l.user} on ${l.tty ?? l.display ?? 'no tty'}${l.remoteAddress ? ` from ${l.remoteAddress}` : ''}`, { user: l.user, tty: l.tty, display: l.display, remoteAddress: l.remoteAddress, remotePort: l.remotePort, leaderPid: l.leaderPid, host: this.o.hostName });
      for (const f of st.early) f(st.link);
      st.early = [];
      if (this.activeWindow && l.display) this.onWindow(this.activeWindow);
    } catch (err) {
      if (this.stopped || !this.logins.has(l.key)) return;
      this.o.logger.debug({ err: String(err) }, 'login report failed; retrying');
      setTimeout(() => void this.report(st, attempt + 1), Math.min(10_000, 500 * 2 ** Math.min(attempt, 5))).unref();
    }
  }

  private loginGone(st: LoginState): void {
    this.logins.delete(st.login.key);
    this.tracker.removeLogin(st.login.key);
    for (const s of st.shells) s.finish();
    if (st.link) {
      st.link.event(Date.now(), 'logout', `${st.login.user} logged out`, { user: st.login.user, tty: st.login.tty });
      st.link.spool.markClose(st.link.spool.meta.close ?? { status: 'ended', reason: 'the user logged out' });
      this.orphans.push(st.link); // drained and closed by the pump
    }
  }

  /** Adds an event to a login's session, or queues it until the server answered the login report. */
  private emit(st: LoginState, f: (l: SessionLink) => void): void {
    if (st.state === 'joined' && st.link) f(st.link);
    else if (st.state === 'reporting' && st.early.length < MAX_EARLY) st.early.push(f);
  }

  /** The login a process belongs to; `sid` when the capture read it already (no /proc read then). */
  private loginFor(pid: number, ppid: number, sid?: number | null): LoginState | undefined {
    const known = this.tracker.get(pid);
    if (known) return this.logins.get(known);
    if (this.tracker.isOutside(pid)) {
      // Most execs on a host belong to no login: only a new session leader may start one.
      const s = sid ?? readStat(pid)?.sid;
      if (s !== pid) return undefined;
    }
    const r = this.tracker.resolve(pid, { ppid, sid });
    if (r.key) return this.logins.get(r.key);
    // A process in a session the scan has not seen yet: probe its leader now, so the first
    // commands of a new login are not lost to the scan interval.
    if (r.sid && r.sid > 1) {
      const login = this.o.logins.probe(r.sid);
      if (login) return this.logins.get(login.key) ?? this.addLogin(login);
    }
    // No login: neither this process nor the ancestors walked (their next children skip the walk).
    this.tracker.markOutside(pid);
    for (const a of r.outsideAncestors ?? []) this.tracker.markOutside(a);
    return undefined;
  }

  private onProcess(e: ProcessEvent): void {
    if (e.kind === 'fork') {
      this.tracker.fork(e.pid, e.ppid);
      return;
    }
    if (e.kind === 'exec') {
      const st = this.loginFor(e.pid, e.info.ppid, e.sid);
      if (!st) return;
      this.counters.processStarts += 1;
      this.seenStarts.add(e.pid);
      if (this.seenStarts.size > 100_000) this.seenStarts.clear();
      st.lastActivity = e.at;
      const i = e.info;
      this.started.set(e.pid, { name: i.name, path: i.path, at: e.at });
      const text = i.args.length > 0 ? i.args.join(' ') : i.name;
      this.emit(st, (l) => l.event(e.at, 'process-start', text.slice(0, 8192), { pid: i.pid, ppid: i.ppid || null, name: i.name, path: i.path, cwd: i.cwd, args: i.args.slice(0, 256), user: i.user, uid: i.uid, ...(e.partial ? { partial: true } : {}) }));
      return;
    }
    if (this.tracker.isLeader(e.pid)) this.scanSoon();
    const key = this.tracker.exit(e.pid);
    const started = this.started.get(e.pid);
    if (!started) return;
    this.started.delete(e.pid);
    const st = key ? this.logins.get(key) : undefined;
    if (!st) return;
    this.counters.processStops += 1;
    this.emit(st, (l) => l.event(e.at, 'process-stop', started.path ?? started.name, { pid: e.pid, name: started.name, path: started.path, exitCode: e.exitCode, durationMs: e.at - started.at }));
  }

  private onCaptureFailure(c: ProcessCapture, err: Error): void {
    this.captureError = `${c.kind}: ${err.message}`.slice(0, 500);
    this.o.logger.error({ err: this.captureError }, 'process capture failed; falling back');
    const next = this.o.captures[this.o.captures.indexOf(c) + 1];
    this.capture = undefined;
    if (next && !this.stopped) {
      next.start((e) => this.onProcess(e), (e2) => this.onCaptureFailure(next, e2)).then(() => (this.capture = next), (e2: unknown) => (this.captureError += `; ${String(e2)}`));
    }
  }

  private onWindow(w: WindowChange): void {
    this.activeWindow = w;
    for (const st of this.logins.values()) {
      if (!st.login.display || st.login.display !== w.display) continue;
      st.lastActivity = w.at;
      this.emit(st, (l) => l.event(w.at, 'window', w.title, { title: w.title, app: w.app, pid: w.pid, windowId: w.windowId }));
    }
  }

  private pumpAll(): void {
    const now = Date.now();
    this.enforceLimits(now);
    for (const st of this.logins.values()) for (const s of st.shells) s.tick(now);
    for (const l of this.links()) void l.pump(now);
    for (let i = this.orphans.length - 1; i >= 0; i--) if (this.orphans[i]!.done) this.orphans.splice(i, 1);
  }

  /** Inactivity timeout and maximum length for sessions the agent holds: warn on the terminal, then end the login. */
  private enforceLimits(now: number): void {
    const { inactivityTimeoutMinutes: idle, maxSessionMinutes: max } = this.settings;
    const minute = limitMinuteMs();
    for (const st of this.logins.values()) {
      const link = st.link;
      if (!link || !link.spool.meta.held || st.ending) continue;
      if (max > 0) {
        const end = link.spool.meta.startedAt + max * minute;
        if (now >= end) {
          this.endLogin(st, `\r\n[vigil] the maximum session length (${max} min) was reached; this session ends now\r\n`, 'maximum session length reached');
          continue;
        }
        if (!st.warned.max && now >= end - minute / 2) {
          st.warned.max = true;
          this.writeTty(st.login.key, `\r\n[vigil] this session reaches its maximum length soon and will end\r\n`);
          link.event(now, 'message', 'maximum session length warning', { by: 'vigil', kind: 'max-length' });
        }
      }
      if (idle > 0) {
        const end = st.lastActivity + idle * minute;
        if (now >= end) {
          this.endLogin(st, `\r\n[vigil] no activity for ${idle} min; this session ends now\r\n`, 'inactivity timeout');
          continue;
        }
        if (!st.warned.idle && now >= end - minute / 2) {
          st.warned.idle = true;
          this.writeTty(st.login.key, `\r\n[vigil] this session is idle and will end soon unless you continue\r\n`);
          link.event(now, 'message', 'inactivity warning', { by: 'vigil', kind: 'inactivity' });
        } else if (st.warned.idle && now < end - minute / 2) {
          st.warned.idle = false;
        }
      }
    }
  }

  /** Tells the user, then ends the login: SIGHUP to the session's processes, SIGKILL after 3 s. */
  private endLogin(st: LoginState, notice: string, limitReason: string | null): void {
    if (st.ending) return;
    st.ending = true;
    this.writeTty(st.login.key, notice);
    if (st.link && limitReason) {
      st.link.event(Date.now(), 'terminate', limitReason, { by: 'vigil' });
      st.link.spool.markClose({ status: 'terminated', reason: limitReason });
    }
    const sid = st.login.sid;
    const signalSession = (sig: NodeJS.Signals): void => {
      for (const pid of sessionPids(sid)) {
        try {
          process.kill(pid, sig);
        } catch {
          /* gone already */
        }
      }
    };
    signalSession('SIGHUP');
    setTimeout(() => signalSession('SIGKILL'), 3000).unref();
  }

  private writeTty(key: string, text: string): void {
    const st = this.logins.get(key);
    const tty = st?.login.tty;
    if (!tty) return;
    try {
      const fd = openSync(`/dev/${tty}`, fsc.O_WRONLY | fsc.O_NOCTTY | fsc.O_NONBLOCK);
      try {
        writeSync(fd, text);
      } finally {
        closeSync(fd);
      }
    } catch (err) {
      this.o.logger.debug({ err: String(err), tty }, 'cannot write to the terminal');
    }
  }

  /** The session-shell socket: each connection is one session-shell; records join the login its process belongs to. */
  private async startShellServer(): Promise<void> {
    mkdirSync(path.dirname(this.o.shellSocket), { recursive: true, mode: 0o755 });
    rmSync(this.o.shellSocket, { force: true });
    const server = net.createServer((sock) => this.onShell(sock));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.o.shellSocket, () => resolve());
    });
    // Users' session-shells connect as themselves.
    chmodSync(this.o.shellSocket, 0o666);
    this.shellServer = server;
  }

  private onShell(sock: net.Socket): void {
    let buf = '';
    let rec: ShellRecorder | undefined;
    let st: LoginState | undefined;
    const pendingRecs: Array<{ t: string; d?: string; e?: number; at: number; cols?: number; rows?: number }> = [];
    const apply = (m: { t: string; d?: string; e?: number; at: number; cols?: number; rows?: number }): void => {
      if (!rec) return;
      if (m.t === 'o' && m.d) rec.output(m.at, Buffer.from(m.d, 'base64'));
      else if (m.t === 'i' && m.d) {
        rec.input(m.at, Buffer.from(m.d, 'base64'), m.e === 1);
        if (st) st.lastActivity = Date.now();
      } else if (m.t === 'r' && m.cols && m.rows) rec.resize(m.at, m.cols, m.rows);
      else if (m.t === 'exit') rec.finish();
    };
    const attach = (hello: { pid: number; cols: number; rows: number; term: string }): void => {
      const stat = readStat(hello.pid);
      st = stat ? this.loginFor(hello.pid, stat.ppid) : undefined;
      if (!st) return;
      const login = st;
      const make = (l: SessionLink): void => {
        rec = new ShellRecorder(l, { recordKeystrokes: () => this.settings.recordKeystrokes && l.spool.meta.recordKeystrokes, writeCast: l.spool.meta.held && l.spool.meta.media === 'cast', castStarted: l.spool.meta.chunksAcked > 0 || l.spool.pendingChunks.length > 0 || [...login.shells].length > 0 });
        login.shells.add(rec);
        rec.hello(hello.cols, hello.rows, hello.term);
        for (const m of pendingRecs.splice(0)) apply(m);
      };
      this.emit(st, make);
    };
    sock.on('data', (d) => {
      buf += d.toString('utf8');
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        let m: { t: string; d?: string; e?: number; at: number; pid?: number; cols?: number; rows?: number; term?: string };
        try {
          m = JSON.parse(line) as typeof m;
        } catch {
          continue;
        }
        if (m.t === 'hello' && typeof m.pid === 'number') attach({ pid: m.pid, cols: m.cols ?? 80, rows: m.rows ?? 24, term: m.term ?? 'xterm' });
        else if (rec) apply(m);
        else if (pendingRecs.length < 10_000) pendingRecs.push(m);
      }
    });
    sock.on('error', () => undefined);
    sock.on('close', () => {
      rec?.finish();
      if (rec && st) st.shells.delete(rec);
    });
  }
}

function sessionPids(sid: number): number[] {
  const out: number[] = [];
  for (const e of readdirSync('/proc')) {
    const pid = Number(e);
    if (!Number.isInteger(pid)) continue;
    if (readStat(pid)?.sid === sid) out.push(pid);
  }
  return out;
}

/** Minutes for the limits; tests shorten them (VIGIL_AGENT_MINUTE_MS) to run in seconds. */
function limitMinuteMs(): number {
  const v = Number(process.env.VIGIL_AGENT_MINUTE_MS);
  return Number.isFinite(v) && v > 0 ? v : 60_000;
}

export function hostAddresses(): string[] {
  const out: string[] = [];
  for (const list of Object.values(os.networkInterfaces())) for (const a of list ?? []) if (!a.internal) out.push(a.address);
  return out.slice(0, 64);
}
