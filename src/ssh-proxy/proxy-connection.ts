import type ssh2 from 'ssh2';
import type { Connection } from 'ssh2';
import type { Bus, Json, Subscription } from '../adapters/bus/bus.ts';
import type { Logger } from '../adapters/log/logger.ts';
import type { SessionStatus } from '../adapters/store/schema.ts';
import type { AuditService } from '../core/audit/audit.service.ts';
import type { Clock } from '../core/clock.ts';
import type { SecretsService } from '../core/secrets/secrets.service.ts';
import type { SessionRow } from '../core/sessions/session-view.ts';
import type { SessionsService } from '../core/sessions/sessions.service.ts';
import { LiveOutput } from './live/live-output.ts';
import { controlTopic } from '../core/sessions/session-control.ts';
import { controlMessage, type ControlMessage } from './live/live-topics.ts';
import type { ProxyAuthenticator, ProxyLogin } from './proxy-auth.ts';
import type { RecordingWriter } from './recording/recording-writer.ts';
import { SessionRecorder, type RecorderOptions } from './recording/session-recorder.ts';
import { handleSession, type LiveChannel } from './session-channel.ts';
import { handleDirectTcpip } from './port-forward.ts';
import { SessionLimits, type LimitSettings } from './session-limits.ts';

/** What the proxy reads from the session-recording settings when a session opens. */
export type ProxySettings = LimitSettings & { allowLocalForwarding?: boolean };
import { connectTarget, TargetError } from './target-connection.ts';

export interface ConnectionDeps {
  authenticator: ProxyAuthenticator;
  secrets: Pick<SecretsService, 'revealCredential' | 'pinHostKey'>;
  sessions: Pick<SessionsService, 'open' | 'end' | 'heartbeat'>;
  /** Group commit of every session's recording (one per proxy). */
  writer: RecordingWriter;
  audit: Pick<AuditService, 'record'>;
  bus: Pick<Bus, 'publish' | 'subscribe'>;
  logger: Logger;
  clock: Clock;
  nodeId: string;
  recorder?: RecorderOptions;
  targetReadyTimeoutMs?: number;
  /** Inactivity timeout and maximum session length (read when a session opens). */
  settings?: { get(): Promise<ProxySettings> };
  /** Length of a settings "minute" (60 000; tests shorten it). */
  minuteMs?: number;
}

export interface EndHow {
  status: Exclude<SessionStatus, 'active'>;
  reason: string;
  endedBy: string | null;
  /** Shown to the user before the channels close. */
  notice?: string;
}

const MAX_AUTH_ATTEMPTS = 6;
const CLOSE_GRACE_MS = 3000;

/**
 * One client connection: authentication, the target connection, the Vigil session and its
 * recorder, the session channels, control messages from the bus, and an orderly end.
 */
export class ProxyConnection {
  private login: ProxyLogin | undefined;
  private target: Promise<ssh2.Client> | undefined;
  private targetClient: ssh2.Client | undefined;
  private session: SessionRow | undefined;
  private recorder: SessionRecorder | undefined;
  private live: LiveOutput | undefined;
  private snapshotting = false;
  private snapshotAgain = false;
  private limits: SessionLimits | undefined;
  private control: Subscription | undefined;
  private readonly channels = new Set<LiveChannel>();
  private idle: Array<() => void> = [];
  private ending: Promise<void> | undefined;
  private attempts = 0;
  private allowLocalForwarding = false;
  private readonly log: Logger;

  constructor(
    private readonly deps: ConnectionDeps,
    private readonly conn: Connection,
    private readonly ip: string,
  ) {
    this.log = deps.logger.child({ client: ip });
    conn.on('authentication', (ctx) => {
      if (this.login || ++this.attempts > MAX_AUTH_ATTEMPTS) {
        ctx.reject();
        if (this.attempts > MAX_AUTH_ATTEMPTS) conn.end();
        return;
      }
      deps.authenticator.handle(ctx, ip).then(
        (login) => {
          if (!login) return;
          this.login = login;
          ctx.accept();
        },
        (err: unknown) => {
          this.log.error({ err }, 'ssh authentication failed with an error');
          ctx.reject();
        },
      );
    });
    conn.on('ready', () => {
      this.target = this.start();
      this.target.catch(() => {}); // shown to the user when a channel asks for it
    });
    conn.on('session', (accept, reject) => {
      if (!this.target || this.ending) return reject();
      handleSession(accept(), {
        target: () => this.target!,
        recorder: () => this.recorder,
        track: (ch) => this.track(ch),
        activity: () => this.limits?.activity(),
        logger: this.log,
      });
    });
    // Local forwarding: relayed through the target when the setting allows it, else refused;
    // recorded either way. Other forwarding is refused once the refusal is audited.
    conn.on('tcpip', (accept, reject, info) => {
      if (!this.target || this.ending) return reject();
      handleDirectTcpip(accept, reject, info, {
        target: () => this.target!,
        allowed: () => this.allowLocalForwarding,
        record: (text, details) => this.recorder?.event('port-forward', text, details),
        refused: (details) => this.refused('direct-tcpip', details),
        track: (ch) => this.track(ch),
        activity: () => this.limits?.activity(),
      }).catch((err: unknown) => {
        this.log.error({ err }, 'port forward failed');
        reject();
      });
    });
    conn.on('openssh.streamlocal', (_accept, reject) => void this.refused('direct-streamlocal', {}).then(reject));
    conn.on('request', (_accept, reject, name) => {
      if ((name as string) === 'no-more-sessions@openssh.com') return reject?.();
      void this.refused(name, {}).then(() => reject?.());
    });
    conn.on('error', (err) => this.log.debug({ err }, 'ssh client connection error'));
    conn.on('close', () => void this.end({ status: 'ended', reason: 'the client disconnected', endedBy: null }));
  }

  /** Ends the session: tells the user (if `notice`), closes the channels after their last bytes, stores the recording. */
  end(how: EndHow): Promise<void> {
    this.ending ??= this.finish(how).catch((err: unknown) => this.log.error({ err, session: this.session?.id }, 'ending the ssh session failed'));
    return this.ending;
  }

  private async start(): Promise<ssh2.Client> {
    const login = this.login!;
    const secret = login.secret;
    const actor = { id: login.userId, name: login.username, ip: this.ip };
    let client: ssh2.Client;
    let local: { address: string; port: number } | null;
    this.log.debug({ secretName: secret.name }, 'connecting to the target');
    try {
      const credential = await this.deps.secrets.revealCredential(secret.id);
      ({ client, local } = await connectTarget({ secret, credential, pinHostKey: (line) => this.deps.secrets.pinHostKey(secret.id, line), readyTimeoutMs: this.deps.targetReadyTimeoutMs }));
    } catch (err) {
      const failure = err instanceof TargetError ? err : undefined;
      const action = failure?.failure === 'host-key-mismatch' ? 'ssh.host-key-mismatch' : 'ssh.target-failed';
      await this.deps.audit.record({ actor, action, outcome: 'failure', target: { type: 'secret', id: secret.id }, details: { secret: secret.name, host: `${secret.host}:${secret.port}`, failure: failure?.failure ?? 'error', ...failure?.details } });
      if (!failure) this.log.error({ err }, 'connecting to the target failed');
      throw failure ?? new Error(`vigil: cannot connect to ${secret.name}: internal error`);
    }
    this.targetClient = client;
    this.log.debug({ secretName: secret.name }, 'target connected');
    try {
      this.session = await this.deps.sessions.open({
        kind: 'ssh', component: 'ssh-proxy', user: { id: login.userId, name: login.username },
        secret: { id: secret.id, name: secret.name, recording: secret.recording },
        target: { host: secret.host, user: secret.username }, clientAddress: this.ip, nodeId: this.deps.nodeId, media: 'cast',
        targetSource: local,
      });
    } catch (err) {
      client.end();
      this.log.error({ err }, 'opening the session failed');
      throw new Error('vigil: the session could not be started (recording unavailable); try again later', { cause: err });
    }
    const session = this.session;
    this.log.debug({ session: session.id }, 'session opened');
    await this.deps.audit.record({ actor, action: 'session.launch', target: { type: 'session', id: session.id }, details: { secret: secret.name, via: 'ssh-proxy', method: login.method, recording: session.record_video === 1 } });
    this.live = new LiveOutput(this.deps.bus, session.id, () => this.deps.clock.now() - Number(session.started_at), (err) => this.log.warn({ err }, 'live output publish failed'));
    const live = this.live;
    this.recorder = new SessionRecorder(
      {
        writer: this.deps.writer, clock: this.deps.clock, logger: this.log,
        onFailure: (err, phase) => {
          this.log.error({ err, session: session.id }, 'the recording cannot be stored; ending the session (fail closed)');
          const notice = phase === 'starting' ? 'vigil: this session is recorded and the recording cannot be stored right now; the session cannot start' : 'vigil: this session is recorded and the recording cannot be stored; the session ends now';
          void this.end({ status: 'terminated', reason: 'the recording could not be stored', endedBy: 'vigil', notice });
        },
        onOutput: (data) => live.write(data),
      },
      session,
      this.deps.recorder,
    );
    this.log.debug({ session: session.id }, 'recorder ready');
    if (this.deps.settings) {
      const settings = await this.deps.settings.get();
      this.allowLocalForwarding = settings.allowLocalForwarding === true;
      this.startLimits(settings);
    }
    this.control = await this.deps.bus.subscribe(controlTopic(session.id), (msg) => this.onControl(msg));
    this.log.debug({ session: session.id }, 'control subscribed');
    client.on('error', (err) => this.log.debug({ err }, 'target connection error'));
    client.on('close', () => void this.end({ status: 'ended', reason: 'the target closed the connection', endedBy: null }));
    return client;
  }

  private startLimits(settings: LimitSettings): void {
    this.limits = new SessionLimits({
      settings,
      minuteMs: this.deps.minuteMs ?? 60_000,
      now: () => this.deps.clock.now(),
      warn: (text, kind) => {
        this.notify(text);
        this.recorder?.event('message', text, { by: 'vigil', kind });
      },
      expire: (reason, text) => {
        this.recorder?.event('terminate', reason, { by: 'vigil' });
        void this.end({ status: 'terminated', reason, endedBy: 'vigil', notice: text });
      },
    });
  }

  private onControl(raw: Json): void {
    const parsed = controlMessage.safeParse(raw);
    if (!parsed.success) {
      this.log.warn({ issues: parsed.error.issues.length }, 'ignoring a malformed control message');
      return;
    }
    const msg: ControlMessage = parsed.data;
    switch (msg.type) {
      // The sender (SessionControl) records message and terminate events; the cast gets markers.
      case 'message':
        this.notify(`[Vigil] ${msg.text}`);
        this.recorder?.marker(`message: ${msg.text}`);
        return;
      case 'terminate': {
        const reason = msg.reason?.trim() || 'terminated by an administrator';
        this.recorder?.marker(`terminated: ${reason}`);
        // Not awaited: ending unsubscribes from this very topic, which waits for this handler.
        void this.end({ status: 'terminated', reason, endedBy: msg.by ?? null, notice: `[Vigil] This session was terminated by an administrator: ${reason}` });
        return;
      }
      case 'snapshot-request':
        this.publishSnapshot();
        return;
    }
  }

  /**
   * The screen as of this moment includes output the emulator has not parsed yet: wait for it,
   * holding the live output written meanwhile until the snapshot has gone out. One at a time: a
   * request while one is being made gets a fresh one right after it (two overlapping would each
   * reset the viewers' screens, and the output between them would be drawn twice).
   */
  private publishSnapshot(): void {
    const live = this.live;
    if (!live) return;
    if (this.snapshotting) {
      this.snapshotAgain = true;
      return;
    }
    this.snapshotting = true;
    const release = live.hold();
    const recorder = this.recorder;
    void (recorder ? recorder.snapshot() : Promise.resolve(undefined))
      .then((screen) => live.publish({ type: 'snapshot', at: recorder?.now() ?? 0, ...(screen ?? { cols: 80, rows: 24, data: '' }) }))
      .catch((err: unknown) => this.log.warn({ err }, 'live snapshot failed'))
      .finally(() => {
        release();
        this.snapshotting = false;
        if (this.snapshotAgain) {
          this.snapshotAgain = false;
          this.publishSnapshot();
        }
      });
  }

  private notify(text: string): void {
    for (const ch of this.channels) ch.notify(text);
  }

  private track(ch: LiveChannel): () => void {
    this.channels.add(ch);
    return () => {
      this.channels.delete(ch);
      if (this.channels.size === 0) for (const r of this.idle.splice(0)) r();
    };
  }

  private refused(what: string, details: Record<string, unknown>): Promise<void> {
    const login = this.login;
    return this.deps.audit
      .record({ actor: { id: login?.userId ?? null, name: login?.username ?? null, ip: this.ip }, action: 'ssh.forwarding-refused', outcome: 'failure', ...(this.session ? { target: { type: 'session', id: this.session.id } } : {}), details: { request: what, ...details } })
      .catch((err: unknown) => this.log.warn({ err }, 'audit failed'));
  }

  private async finish(how: EndHow): Promise<void> {
    // A connection that closes while the target is still being reached: let that settle first,
    // so a session it opens is ended too.
    await this.target?.then(
      () => undefined,
      () => undefined,
    );
    this.limits?.stop();
    this.log.debug({ session: this.session?.id, status: how.status, channels: this.channels.size }, 'ending the session');
    if (how.notice) this.notify(how.notice);
    if (this.channels.size > 0) {
      for (const ch of this.channels) ch.abort();
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, CLOSE_GRACE_MS);
        this.idle.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    this.conn.end();
    this.targetClient?.end();
    this.control?.unsubscribe().catch((err: unknown) => this.log.warn({ err }, 'leaving the control topic failed'));
    const session = this.session;
    if (!session) return;
    this.log.debug({ session: session.id }, 'channels closed; storing the end of the recording');
    try {
      await this.recorder?.close();
    } catch (err) {
      this.log.error({ err, session: session.id }, 'storing the end of the recording failed');
    }
    await this.deps.sessions.end(session.id, { status: how.status, reason: how.reason, endedBy: how.endedBy });
    this.log.debug({ session: session.id }, 'session ended');
    this.live?.close(how.status, how.reason);
  }
}
