import type { Store } from '../../adapters/store/store.ts';
import type { UserView } from '../../protocol/identity.ts';
import type { Clock } from '../clock.ts';
import { ConflictError, NotFoundError, ValidationError } from '../errors.ts';
import { newId } from '../ids.ts';
import type { Permission } from '../permissions.ts';
import { isUniqueViolation } from '../store-errors.ts';
import { hashPassword } from './passwords.ts';
import { parsePermissions } from './roles.service.ts';

type UserRow = { id: string; username: string; display_name: string; email: string | null; disabled: number; created_at: number };

export class UsersService {
  constructor(private readonly store: Store, private readonly clock: Clock) {}

  async list(): Promise<UserView[]> {
    const rows = await this.store.db.selectFrom('users').selectAll().orderBy('username').execute();
    const roles = await this.rolesOf(rows.map((r) => r.id));
    return rows.map((r) => this.view(r, roles.get(r.id) ?? []));
  }

  async get(id: string): Promise<UserView> {
    const row = await this.store.db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) throw new NotFoundError('user');
    return this.view(row, (await this.rolesOf([id])).get(id) ?? []);
  }

  async findByUsername(username: string): Promise<{ id: string; username: string; password_hash: string | null; disabled: number } | undefined> {
    return this.store.db
      .selectFrom('users')
      .select(['id', 'username', 'password_hash', 'disabled'])
      .where('username', '=', username)
      .executeTakeFirst();
  }

  async create(input: { username: string; displayName?: string; email?: string; password: string; roles: string[] }): Promise<UserView> {
    const id = newId();
    const now = this.clock.now();
    const hash = await hashPassword(input.password);
    await this.assertRolesExist(input.roles);
    try {
      await this.store.db.transaction().execute(async (tx) => {
        await tx
          .insertInto('users')
          .values({ id, username: input.username, display_name: input.displayName ?? input.username, email: input.email ?? null, password_hash: hash, disabled: 0, created_at: now, updated_at: now })
          .execute();
        for (const roleId of new Set(input.roles)) await tx.insertInto('user_roles').values({ user_id: id, role_id: roleId }).execute();
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw new ConflictError(`a user named "${input.username}" already exists`, 'username');
      throw err;
    }
    return this.get(id);
  }

  async update(id: string, input: { displayName?: string; email?: string | null; password?: string; roles?: string[]; disabled?: boolean }): Promise<UserView> {
    await this.get(id);
    if (input.roles) await this.assertRolesExist(input.roles);
    const hash = input.password !== undefined ? await hashPassword(input.password) : undefined;
    await this.store.db.transaction().execute(async (tx) => {
      await tx
        .updateTable('users')
        .set({
          ...(input.displayName !== undefined ? { display_name: input.displayName } : {}),
          ...(input.email !== undefined ? { email: input.email } : {}),
          ...(hash !== undefined ? { password_hash: hash } : {}),
          ...(input.disabled !== undefined ? { disabled: input.disabled ? 1 : 0 } : {}),
          updated_at: this.clock.now(),
        })
        .where('id', '=', id)
        .execute();
      if (input.roles) {
        await tx.deleteFrom('user_roles').where('user_id', '=', id).execute();
        for (const roleId of new Set(input.roles)) await tx.insertInto('user_roles').values({ user_id: id, role_id: roleId }).execute();
      }
      // A new password or a disabled account ends every signed-in session of that user.
      if (hash !== undefined || input.disabled) {
        await tx.updateTable('auth_tokens').set({ revoked_at: this.clock.now() }).where('user_id', '=', id).where('kind', '=', 'session').where('revoked_at', 'is', null).execute();
      }
      if (input.disabled) {
        await tx.updateTable('auth_tokens').set({ revoked_at: this.clock.now() }).where('user_id', '=', id).where('revoked_at', 'is', null).execute();
      }
    });
    return this.get(id);
  }

  /** Union of the permissions of the user's roles. */
  async permissionsOf(userId: string): Promise<{ roleIds: string[]; permissions: Set<Permission> }> {
    const rows = await this.store.db
      .selectFrom('user_roles')
      .innerJoin('roles', 'roles.id', 'user_roles.role_id')
      .select(['roles.id', 'roles.permissions'])
      .where('user_roles.user_id', '=', userId)
      .execute();
    const permissions = new Set<Permission>();
    for (const r of rows) for (const p of parsePermissions(r.permissions)) permissions.add(p);
    return { roleIds: rows.map((r) => r.id), permissions };
  }

  private async assertRolesExist(ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    const found = await this.store.db.selectFrom('roles').select('id').where('id', 'in', ids).execute();
    const missing = ids.find((i) => !found.some((f) => f.id === i));
    if (missing) throw new ValidationError(`roles: no role with id ${missing}`, 'roles');
  }

  private async rolesOf(userIds: string[]): Promise<Map<string, Array<{ id: string; name: string; permissions: string }>>> {
    const out = new Map<string, Array<{ id: string; name: string; permissions: string }>>();
    if (userIds.length === 0) return out;
    const rows = await this.store.db
      .selectFrom('user_roles')
      .innerJoin('roles', 'roles.id', 'user_roles.role_id')
      .select(['user_roles.user_id', 'roles.id', 'roles.name', 'roles.permissions'])
      .where('user_roles.user_id', 'in', userIds)
      .orderBy('roles.name')
      .execute();
    for (const r of rows) {
      const list = out.get(r.user_id) ?? [];
      list.push({ id: r.id, name: r.name, permissions: r.permissions });
      out.set(r.user_id, list);
    }
    return out;
  }

  private view(r: UserRow, roles: Array<{ id: string; name: string; permissions: string }>): UserView {
    const perms = new Set<Permission>();
    for (const role of roles) for (const p of parsePermissions(role.permissions)) perms.add(p);
    return {
      id: r.id,
      username: r.username,
      displayName: r.display_name,
      email: r.email,
      disabled: r.disabled === 1,
      roles: roles.map((x) => ({ id: x.id, name: x.name })),
      permissions: [...perms].sort(),
      createdAt: Number(r.created_at),
    };
  }
}
