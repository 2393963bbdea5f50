import ssh2 from 'ssh2';
import type { AuthContext, KeyboardAuthContext, PublicKeyAuthContext } from 'ssh2';
import type { AuditService } from '../core/audit/audit.service.ts';
import { LockedError, UnauthorizedError } from '../core/errors.ts';
import type { AuthService } from '../core/identity/auth.service.ts';
import type { SshKeysService } from '../core/identity/ssh-keys.service.ts';
import type { UsersService } from '../core/identity/users.service.ts';
import type { SecretsService } from '../core/secrets/secrets.service.ts';
import type { SecretView } from '../protocol/secrets.ts';

export interface ProxyAuthDeps {
  auth: Pick<AuthService, 'verifyCredentials' | 'recordFailure' | 'isLocked'>;
  users: Pick<UsersService, 'findByUsername' | 'permissionsOf'>;
  sshKeys: Pick<SshKeysService, 'keysOf'>;
  secrets: Pick<SecretsService, 'byName' | 'canLaunch'>;
  audit: Pick<AuditService, 'record'>;
}

/** Who got in, with which secret: the outcome of a successful authentication. */
export interface ProxyLogin {
  userId: string;
  username: string;
  roleIds: string[];
  secret: SecretView;
  method: 'password' | 'keyboard-interactive' | 'publickey';
}

const METHODS = ['publickey', 'keyboard-interactive', 'password'] as const;

/** `<vigil-user>:<secret-name>`; the secret name may itself contain colons. */
export function parseLogin(username: string): { user: string; secret: string } {
  const i = username.indexOf(':');
  return i <= 0 ? { user: username, secret: '' } : { user: username.slice(0, i), secret: username.slice(i + 1) };
}

/**
 * Authenticates SSH clients as Vigil users for one secret. Every refusal looks the same to the
 * client (a plain "try another method"), whatever the cause: unknown user, wrong password,
 * unknown secret or no permission to launch it. Each refusal that tested a credential is audited
 * and counts toward the same lockout as web sign-ins.
 */
export class ProxyAuthenticator {
  constructor(private readonly deps: ProxyAuthDeps) {}

  /**
   * Answers one authentication request. Refusals are answered here; a success resolves to the
   * login and the caller accepts (`ctx.accept()`) once it has stored it — ssh2 emits `ready` at once.
   */
  async handle(ctx: AuthContext, ip: string): Promise<ProxyLogin | undefined> {
    const { user, secret } = parseLogin(ctx.username);
    const reject = (): undefined => {
      ctx.reject([...METHODS]);
      return undefined;
    };
    switch (ctx.method) {
      case 'password':
        return (await this.withPassword(user, ctx.password, secret, ip, 'password')) ?? reject();
      case 'keyboard-interactive': {
        const password = await askPassword(ctx);
        if (password === undefined) return reject();
        return (await this.withPassword(user, password, secret, ip, 'keyboard-interactive')) ?? reject();
      }
      case 'publickey': {
        const outcome = await this.withPublicKey(user, secret, ip, ctx);
        return outcome === 'offered' ? undefined : (outcome ?? reject());
      }
      case 'none':
      case 'hostbased':
      default:
        return reject();
    }
  }

  private async withPassword(user: string, password: string, secretName: string, ip: string, method: ProxyLogin['method']): Promise<ProxyLogin | undefined> {
    let userId: string;
    try {
      userId = await this.deps.auth.verifyCredentials(user, password, ip, 'ssh');
    } catch (err) {
      if (err instanceof UnauthorizedError || err instanceof LockedError) return undefined;
      throw err;
    }
    return this.grant(userId, user, secretName, ip, method);
  }

  /** `offered`: a registered key was offered without a signature and answered "sign with it". */
  private async withPublicKey(user: string, secretName: string, ip: string, ctx: PublicKeyAuthContext): Promise<ProxyLogin | 'offered' | undefined> {
    const row = await this.deps.users.findByUsername(user);
    // A key that is merely offered (no signature yet) is answered without counting a failure:
    // clients offer every key they hold, one after the other.
    const key = row && row.disabled !== 1 ? await this.registeredKey(row.id, ctx) : undefined;
    if (!ctx.signature || !ctx.blob) {
      if (!key) return undefined;
      ctx.accept(); // "this key would do; now sign with it" (SSH_MSG_USERAUTH_PK_OK)
      return 'offered';
    }
    if (!row || !key) return undefined;
    if (await this.deps.auth.isLocked(user)) {
      await this.deps.audit.record({ actor: { id: null, name: user, ip }, action: 'auth.login', outcome: 'failure', details: { channel: 'ssh', reason: 'locked', method: 'publickey' } });
      return undefined;
    }
    if (key.verify(ctx.blob, ctx.signature, ctx.hashAlgo) !== true) {
      await this.deps.auth.recordFailure(user, ip, 'ssh', 'bad-signature');
      return undefined;
    }
    return this.grant(row.id, user, secretName, ip, 'publickey');
  }

  private async registeredKey(userId: string, ctx: PublicKeyAuthContext): Promise<ssh2.ParsedKey | undefined> {
    for (const k of await this.deps.sshKeys.keysOf(userId)) {
      const blob = Buffer.from(k.publicKey.split(' ')[1] ?? '', 'base64');
      if (!blob.equals(ctx.key.data)) continue;
      const parsed = ssh2.utils.parseKey(k.publicKey);
      const key = Array.isArray(parsed) ? parsed[0] : parsed;
      if (key && !(key instanceof Error)) return key;
    }
    return undefined;
  }

  /** The user is who they say; now the secret must exist and be granted to them. */
  private async grant(userId: string, user: string, secretName: string, ip: string, method: ProxyLogin['method']): Promise<ProxyLogin | undefined> {
    const { roleIds } = await this.deps.users.permissionsOf(userId);
    const secret = secretName ? await this.deps.secrets.byName(secretName) : undefined;
    const allowed = !!secret && secret.kind === 'ssh' && (await this.deps.secrets.canLaunch({ userId, roleIds }, secret.id));
    if (!secret || !allowed) {
      const reason = !secret ? 'unknown-secret' : secret.kind !== 'ssh' ? 'not-an-ssh-secret' : 'secret-not-granted';
      await this.deps.audit.record({ actor: { id: userId, name: user, ip }, action: 'ssh.secret-denied', outcome: 'failure', details: { secret: secretName, reason, method } });
      await this.deps.auth.recordFailure(user, ip, 'ssh', reason);
      return undefined;
    }
    await this.deps.audit.record({ actor: { id: userId, name: user, ip }, action: 'auth.login', target: { type: 'secret', id: secret.id }, details: { channel: 'ssh', method, secret: secret.name } });
    return { userId, username: user, roleIds, secret, method };
  }
}

function askPassword(ctx: KeyboardAuthContext): Promise<string | undefined> {
  return new Promise((resolve) => {
    ctx.once('abort', () => resolve(undefined));
    ctx.prompt([{ prompt: 'Password: ', echo: false }], 'Vigil', (answers) => resolve(answers[0]));
  });
}
