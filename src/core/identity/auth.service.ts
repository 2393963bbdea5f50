import type { Store } from '../../adapters/store/store.ts';
import type { ApiTokenView, UserView } from '../../protocol/identity.ts';
import type { AuditService } from '../audit/audit.service.ts';
import type { Clock } from '../clock.ts';
import { LockedError, NotFoundError, UnauthorizedError } from '../errors.ts';
import { newId } from '../ids.ts';
import type { Principal } from '../permissions.ts';
import { generatePassword, hashPassword, verifyPassword } from './passwords.ts';
import { hashToken, newToken } from './tokens.ts';
import type { UsersService } from './users.service.ts';

export interface AuthPolicy {
  /** Failed logins within `lockoutWindowMs` that lock the account (default 5 in 15 minutes). */
  maxFailures: number;
  lockoutWindowMs: number;
  sessionTtlMs: number;
}
export const DEFAULT_AUTH_POLICY: AuthPolicy = { maxFailures: 5, lockoutWindowMs: 15 * 60_000, sessionTtlMs: 12 * 3600_000 };

/** Passwords, lockout, sign-in sessions and API tokens. The SSH proxy shares the same lockout. */
export class AuthService {
  constructor(
    private readonly store: Store,
    private readonly users: UsersService,
    private readonly audit: AuditService,
    private readonly clock: Clock,
    private readonly policy: AuthPolicy = DEFAULT_AUTH_POLICY,
  ) {}

  /**
   * Checks a password for `username`, counting failures toward the lockout. Returns the user id.
   * `channel` says where the attempt came from (web, ssh) for the audit log.
   */
  async verifyCredentials(username: string, password: string, ip: string, channel: 'web' | 'ssh'): Promise<string> {
    if (await this.isLocked(username)) {
      await this.audit.record({ actor: { id: null, name: username, ip }, action: 'auth.login', outcome: 'failure', details: { channel, reason: 'locked' } });
      throw new LockedError('this account is locked after repeated failed sign-ins; try again later or ask an administrator');
    }
    const user = await this.users.findByUsername(username);
    const ok = await verifyPassword(password, user?.password_hash ?? null);
    if (!user || !ok || user.disabled === 1) {
      await this.recordFailure(username, ip, channel, !user ? 'unknown-user' : user.disabled === 1 ? 'disabled' : 'bad-password');
      throw new UnauthorizedError('wrong username or password');
    }
    await this.store.db.deleteFrom('login_failures').where('username', '=', username).execute();
    return user.id;
  }

  async recordFailure(username: string, ip: string, channel: 'web' | 'ssh', reason: string): Promise<void> {
    const now = this.clock.now();
    await this.store.db.insertInto('login_failures').values({ username, ip, at: now }).execute();
    await this.audit.record({ actor: { id: null, name: username, ip }, action: 'auth.login', outcome: 'failure', details: { channel, reason } });
    const failures = await this.countFailures(username);
    if (failures === this.policy.maxFailures) {
      await this.audit.record({ actor: { id: null, name: username, ip }, action: 'auth.lockout', outcome: 'failure', details: { channel, failures, windowMinutes: this.policy.lockoutWindowMs / 60_000 } });
    }
  }

  async isLocked(username: string): Promise<boolean> {
    return (await this.countFailures(username)) >= this.policy.maxFailures;
  }

  private async countFailures(username: string): Promise<number> {
    const row = await this.store.db
      .selectFrom('login_failures')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('username', '=', username)
      .where('at', '>', this.clock.now() - this.policy.lockoutWindowMs)
      .executeTakeFirst();
    return Number(row?.n ?? 0);
  }

  async login(username: string, password: string, ip: string): Promise<{ token: string; tokenId: string; expiresAt: number; user: UserView }> {
    const userId = await this.verifyCredentials(username, password, ip, 'web');
    const token = newToken('vgs');
    const now = this.clock.now();
    const tokenId = newId();
    const expiresAt = now + this.policy.sessionTtlMs;
    await this.store.db
      .insertInto('auth_tokens')
      .values({ id: tokenId, user_id: userId, token_hash: hashToken(token), kind: 'session', name: 'sign-in', created_at: now, expires_at: expiresAt, revoked_at: null, last_used_at: now })
      .execute();
    const user = await this.users.get(userId);
    await this.audit.record({ actor: { id: userId, name: user.username, ip }, action: 'auth.login', details: { channel: 'web' } });
    return { token, tokenId, expiresAt, user };
  }

  /** Resolves a bearer or cookie token to the caller; undefined when unknown, revoked or expired. */
  async authenticate(token: string, via: 'cookie' | 'bearer'): Promise<Principal | undefined> {
    if (!/^vg[sa]_[A-Za-z0-9_-]{20,100}$/.test(token)) return undefined;
    const now = this.clock.now();
    const row = await this.store.db
      .selectFrom('auth_tokens')
      .innerJoin('users', 'users.id', 'auth_tokens.user_id')
      .select(['auth_tokens.id as tokenId', 'auth_tokens.kind', 'auth_tokens.expires_at', 'auth_tokens.revoked_at', 'auth_tokens.last_used_at', 'users.id as userId', 'users.username', 'users.disabled'])
      .where('auth_tokens.token_hash', '=', hashToken(token))
      .executeTakeFirst();
    if (!row || row.revoked_at !== null || row.disabled === 1) return undefined;
    if (row.expires_at !== null && Number(row.expires_at) <= now) return undefined;
    if (row.last_used_at === null || now - Number(row.last_used_at) > 60_000) {
      await this.store.db.updateTable('auth_tokens').set({ last_used_at: now }).where('id', '=', row.tokenId).execute();
    }
    const { roleIds, permissions } = await this.users.permissionsOf(row.userId);
    return { userId: row.userId, username: row.username, roleIds, permissions, via: row.kind === 'api' ? 'api-token' : via, tokenId: row.tokenId };
  }

  async logout(principal: Principal, ip: string): Promise<void> {
    await this.store.db.updateTable('auth_tokens').set({ revoked_at: this.clock.now() }).where('id', '=', principal.tokenId).execute();
    await this.audit.record({ actor: { id: principal.userId, name: principal.username, ip }, action: 'auth.logout' });
  }

  async createApiToken(principal: Principal, name: string, expiresInDays: number, ip: string): Promise<ApiTokenView & { token: string }> {
    const token = newToken('vga');
    const now = this.clock.now();
    const id = newId();
    const expiresAt = now + expiresInDays * 86_400_000;
    await this.store.db
      .insertInto('auth_tokens')
      .values({ id, user_id: principal.userId, token_hash: hashToken(token), kind: 'api', name, created_at: now, expires_at: expiresAt, revoked_at: null, last_used_at: null })
      .execute();
    await this.audit.record({ actor: { id: principal.userId, name: principal.username, ip }, action: 'token.create', target: { type: 'token', id }, details: { name, expiresAt } });
    return { id, name, kind: 'api', createdAt: now, expiresAt, lastUsedAt: null, token };
  }

  async listTokens(userId: string): Promise<ApiTokenView[]> {
    const rows = await this.store.db
      .selectFrom('auth_tokens')
      .select(['id', 'name', 'kind', 'created_at', 'expires_at', 'last_used_at'])
      .where('user_id', '=', userId)
      .where('revoked_at', 'is', null)
      .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', this.clock.now())]))
      .orderBy('created_at', 'desc')
      .execute();
    return rows.map((r) => ({ id: r.id, name: r.name, kind: r.kind, createdAt: Number(r.created_at), expiresAt: r.expires_at === null ? null : Number(r.expires_at), lastUsedAt: r.last_used_at === null ? null : Number(r.last_used_at) }));
  }

  async revokeToken(principal: Principal, tokenId: string, ip: string): Promise<void> {
    const res = await this.store.db
      .updateTable('auth_tokens')
      .set({ revoked_at: this.clock.now() })
      .where('id', '=', tokenId)
      .where('user_id', '=', principal.userId)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    if (Number(res.numUpdatedRows) === 0) throw new NotFoundError('token');
    await this.audit.record({ actor: { id: principal.userId, name: principal.username, ip }, action: 'token.revoke', target: { type: 'token', id: tokenId } });
  }

  /**
   * Makes sure user `admin` exists with the Administrator role. Returns the generated password when
   * one had to be made (printed once by the caller), undefined otherwise.
   */
  async bootstrapAdmin(adminPassword: string | undefined, administratorRoleId: string): Promise<string | undefined> {
    const existing = await this.users.findByUsername('admin');
    if (existing) return undefined;
    const password = adminPassword ?? generatePassword();
    const now = this.clock.now();
    const id = newId();
    await this.store.db.transaction().execute(async (tx) => {
      await tx.insertInto('users').values({ id, username: 'admin', display_name: 'Administrator', email: null, password_hash: await hashPassword(password), disabled: 0, created_at: now, updated_at: now }).execute();
      await tx.insertInto('user_roles').values({ user_id: id, role_id: administratorRoleId }).execute();
    });
    await this.audit.record({ actor: { id: null, name: 'system' }, action: 'user.create', target: { type: 'user', id }, details: { username: 'admin', bootstrap: true } });
    return adminPassword ? undefined : password;
  }
}
