import ssh2 from 'ssh2';
import type { ConnectConfig } from 'ssh2';
import { fingerprintOf } from '../adapters/ssh/public-key.ts';
import type { Credential } from '../core/secrets/secret-cipher.ts';
import type { SecretView } from '../protocol/secrets.ts';

export type TargetFailure = 'unreachable' | 'credentials-refused' | 'host-key-mismatch' | 'no-credential';

/** Why the target could not be reached, with the one line the user is shown (never a credential). */
export class TargetError extends Error {
  constructor(
    readonly failure: TargetFailure,
    readonly userMessage: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(userMessage);
    this.name = 'TargetError';
  }
}

export interface TargetConnectOptions {
  secret: Pick<SecretView, 'name' | 'host' | 'port' | 'username'>;
  credential: Credential | null;
  /** Trust on first use: pins `type base64` unless a key is pinned, returns the pinned fingerprint. */
  pinHostKey(hostKeyLine: string): Promise<string>;
  readyTimeoutMs?: number;
}

export interface TargetConnection {
  client: ssh2.Client;
  hostKeyFingerprint: string;
  /** The local end of the TCP connection: the target's sshd sees it as the client (SSH_CLIENT). */
  local: { address: string; port: number } | null;
}

/** Connects and authenticates to the secret's target with its stored credential. */
export function connectTarget(opts: TargetConnectOptions): Promise<TargetConnection> {
  const { secret, credential } = opts;
  const where = `${secret.host}:${secret.port}`;
  if (!credential) return Promise.reject(new TargetError('no-credential', `vigil: secret "${secret.name}" has no stored credential; ask an administrator`));
  return new Promise((resolve, reject) => {
    const client = new ssh2.Client();
    let presented: string | undefined;
    let mismatch: { pinned: string; presented: string } | undefined;
    let pinError: unknown;
    const config: ConnectConfig = {
      host: secret.host,
      port: secret.port,
      username: secret.username,
      readyTimeout: opts.readyTimeoutMs ?? 15_000,
      keepaliveInterval: 15_000,
      keepaliveCountMax: 3,
      hostVerifier: (key: Buffer, verify: (ok: boolean) => void) => {
        presented = fingerprintOf(key);
        const type = key.subarray(4, 4 + key.readUInt32BE(0)).toString('latin1');
        opts.pinHostKey(`${type} ${key.toString('base64')}`).then(
          (pinned) => {
            if (pinned !== presented) mismatch = { pinned, presented: presented! };
            verify(pinned === presented);
          },
          (err: unknown) => {
            pinError = err;
            verify(false);
          },
        );
      },
      ...(credential.type === 'password'
        ? { password: credential.value, tryKeyboard: true }
        : { privateKey: credential.value, ...(credential.passphrase !== undefined ? { passphrase: credential.passphrase } : {}) }),
    };
    if (credential.type === 'password') {
      // Targets that only offer keyboard-interactive get the password for every prompt.
      client.on('keyboard-interactive', (_name, _instructions, _lang, prompts, finish) => finish(prompts.map(() => credential.value)));
    }
    const fail = (err: Error & { level?: string; code?: string }): void => {
      // ssh2 may emit a second error (e.g. the socket closing after a failed handshake); one with
      // no listener would crash the process.
      client.on('error', () => undefined);
      client.removeListener('ready', onReady);
      client.end();
      if (mismatch) {
        reject(new TargetError('host-key-mismatch', `vigil: the host key of ${secret.name} (${where}) has changed: it presented ${mismatch.presented} but ${mismatch.pinned} is pinned; the session is refused — ask an administrator to check the target and re-pin its key`, mismatch));
      } else if (pinError) {
        reject(pinError instanceof Error ? pinError : new Error(String(pinError)));
      } else if (err.level === 'client-authentication') {
        reject(new TargetError('credentials-refused', `vigil: ${secret.name} (${where}) refused the stored credentials for ${secret.username}; ask an administrator to update the secret`));
      } else {
        const why = err.code === 'ECONNREFUSED' ? 'connection refused' : err.code === 'ENOTFOUND' || err.code === 'EAI_AGAIN' ? 'unknown host' : /timed out/i.test(err.message) ? 'timed out' : (err.code ?? err.message);
        reject(new TargetError('unreachable', `vigil: cannot connect to ${secret.name} (${where}): ${why}`, { error: why }));
      }
    };
    const onReady = (): void => {
      client.removeListener('error', fail);
      client.setNoDelay(true); // interactive echo: no Nagle delay (see ssh-proxy.ts)
      // ssh2 keeps its socket private; its local end is what the target sees as the client.
      const sock = (client as unknown as { _sock?: { localAddress?: string; localPort?: number } })._sock;
      const local = sock?.localAddress && sock.localPort ? { address: sock.localAddress, port: sock.localPort } : null;
      resolve({ client, hostKeyFingerprint: presented ?? '', local });
    };
    client.once('ready', onReady);
    client.once('error', fail);
    client.connect(config);
  });
}
