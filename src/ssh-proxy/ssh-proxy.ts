import type { AddressInfo } from 'node:net';
import ssh2 from 'ssh2';
import type { Connection } from 'ssh2';
import type { Bus } from '../adapters/bus/bus.ts';
import type { Logger } from '../adapters/log/logger.ts';
import type { AuditService } from '../core/audit/audit.service.ts';
import type { Clock } from '../core/clock.ts';
import type { AuthService } from '../core/identity/auth.service.ts';
import type { SshKeysService } from '../core/identity/ssh-keys.service.ts';
import type { UsersService } from '../core/identity/users.service.ts';
import type { IngestService } from '../core/recording/ingest.service.ts';
import type { SecretsService } from '../core/secrets/secrets.service.ts';
import type { SessionsService } from '../core/sessions/sessions.service.ts';
import { loadOrCreateHostKey, type ProxyHostKey } from './host-key.ts';
import { ProxyAuthenticator } from './proxy-auth.ts';
import { ProxyConnection } from './proxy-connection.ts';
import { RecordingWriter } from './recording/recording-writer.ts';
import type { RecorderOptions } from './recording/session-recorder.ts';
import type { ProxySettings } from './proxy-connection.ts';

export interface SshProxyDeps {
  auth: Pick<AuthService, 'verifyCredentials' | 'recordFailure' | 'isLocked'>;
  users: Pick<UsersService, 'findByUsername' | 'permissionsOf'>;
  sshKeys: Pick<SshKeysService, 'keysOf'>;
  secrets: Pick<SecretsService, 'byName' | 'canLaunch' | 'revealCredential' | 'pinHostKey'>;
  sessions: Pick<SessionsService, 'open' | 'end' | 'heartbeat'>;
  /** Recordings are stored by group commit (`batch`): one transaction per flush tick for all sessions. */
  ingest: Pick<IngestService, 'batch'>;
  audit: Pick<AuditService, 'record'>;
  bus: Pick<Bus, 'publish' | 'subscribe'>;
  logger: Logger;
  clock: Clock;
  nodeId: string;
  /** Where the proxy's host key lives (created on first start). */
  dataDir: string;
  /** Tuning, mainly for tests: flush/heartbeat intervals and the echo window. */
  recorder?: RecorderOptions;
  targetReadyTimeoutMs?: number;
  /** The session-recording settings (inactivity timeout, maximum session length); the SettingsService fits. */
  settings?: { get(): Promise<ProxySettings> };
  /** Length of a settings "minute" (60 000; tests shorten it). */
  minuteMs?: number;
}

/**
 * The recording SSH proxy: `ssh -p 2222 <vigil-user>:<secret-name>@<vigil-host> [command]`.
 * Users authenticate as themselves; the proxy logs in to the target with the secret's credential
 * (which never reaches the client) and records the session.
 */
export class SshProxy {
  private readonly hostKey: ProxyHostKey;
  private readonly server: ssh2.Server;
  private readonly connections = new Set<ProxyConnection>();
  private readonly log: Logger;
  private closing: Promise<void> | undefined;

  constructor(private readonly deps: SshProxyDeps) {
    this.log = deps.logger.child({ component: 'ssh-proxy' });
    this.hostKey = loadOrCreateHostKey(deps.dataDir);
    const authenticator = new ProxyAuthenticator(deps);
    const writer = new RecordingWriter(deps.ingest);
    this.server = new ssh2.Server({ hostKeys: [this.hostKey.privateKey], ident: 'Vigil', keepaliveInterval: 15_000, keepaliveCountMax: 3 }, (conn, info) => {
      if (this.closing) {
        conn.end();
        return;
      }
      // Keystrokes and echoes are tiny packets: no Nagle delay behind an unacknowledged one (as OpenSSH does for interactive sessions).
      (conn as Connection & { setNoDelay(on: boolean): unknown }).setNoDelay(true); // in ssh2's Connection, missing from its types
      const c = new ProxyConnection({ ...deps, authenticator, writer, logger: this.log }, conn, info.ip);
      this.connections.add(c);
      conn.on('close', () => this.connections.delete(c));
    });
    this.server.on('error', (err: Error) => this.log.error({ err }, 'ssh proxy listener error'));
  }

  /** `SHA256:…` of the proxy's host key, as `ssh` prints it on first connect. */
  get hostKeyFingerprint(): string {
    return this.hostKey.fingerprint;
  }

  /** `ssh-ed25519 AAAA…`, for a known_hosts line. */
  get hostPublicKey(): string {
    return this.hostKey.publicKey;
  }

  get activeConnections(): number {
    return this.connections.size;
  }

  /** Starts listening; resolves with the port actually bound (useful with port 0). */
  listen(port: number, host = '0.0.0.0'): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.removeListener('error', reject);
        const bound = (this.server.address() as AddressInfo).port;
        this.log.info({ port: bound, host, fingerprint: this.hostKey.fingerprint }, 'ssh proxy listening');
        resolve(bound);
      });
    });
  }

  /** Stops accepting connections and ends every session cleanly (recordings stored, sessions `ended`). */
  close(): Promise<void> {
    this.closing ??= (async () => {
      const stopped = new Promise<void>((resolve) => this.server.close(() => resolve()));
      await Promise.all([...this.connections].map((c) => c.end({ status: 'ended', reason: 'the Vigil SSH proxy shut down', endedBy: 'vigil', notice: 'vigil: the SSH proxy is shutting down; this session ends now' })));
      await stopped;
    })();
    return this.closing;
  }
}
