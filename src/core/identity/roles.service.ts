import type { Store } from '../../adapters/store/store.ts';
import type { RoleView } from '../../protocol/identity.ts';
import type { Clock } from '../clock.ts';
import { ConflictError, NotFoundError, ValidationError } from '../errors.ts';
import { newId } from '../ids.ts';
import { BUILTIN_ROLES, PERMISSIONS, type Permission } from '../permissions.ts';
import { isUniqueViolation } from '../store-errors.ts';

type RoleRow = { id: string; name: string; description: string; builtin: number; permissions: string };

export const toRoleView = (r: RoleRow): RoleView => ({
  id: r.id,
  name: r.name,
  description: r.description,
  builtin: r.builtin === 1,
  permissions: parsePermissions(r.permissions),
});

export function parsePermissions(json: string): Permission[] {
  const list = JSON.parse(json) as string[];
  return list.filter((p): p is Permission => (PERMISSIONS as readonly string[]).includes(p));
}

export class RolesService {
  constructor(private readonly store: Store, private readonly clock: Clock) {}

  /** Creates the built-in roles if missing and keeps their permissions current. */
  async ensureBuiltins(): Promise<void> {
    const now = this.clock.now();
    for (const r of BUILTIN_ROLES) {
      const existing = await this.store.db.selectFrom('roles').select('id').where('name', '=', r.name).executeTakeFirst();
      const permissions = JSON.stringify(r.permissions);
      if (existing) {
        await this.store.db.updateTable('roles').set({ permissions, builtin: 1, description: r.description }).where('id', '=', existing.id).execute();
      } else {
        await this.store.db
          .insertInto('roles')
          .values({ id: newId(), name: r.name, description: r.description, builtin: 1, permissions, created_at: now, updated_at: now })
          .execute();
      }
    }
  }

  async list(): Promise<RoleView[]> {
    const rows = await this.store.db.selectFrom('roles').selectAll().orderBy('builtin', 'desc').orderBy('name').execute();
    return rows.map(toRoleView);
  }

  async get(id: string): Promise<RoleView> {
    const row = await this.store.db.selectFrom('roles').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) throw new NotFoundError('role');
    return toRoleView(row);
  }

  async byName(name: string): Promise<RoleView | undefined> {
    const row = await this.store.db.selectFrom('roles').selectAll().where('name', '=', name).executeTakeFirst();
    return row && toRoleView(row);
  }

  async create(input: { name: string; description: string; permissions: Permission[] }): Promise<RoleView> {
    const now = this.clock.now();
    const id = newId();
    try {
      await this.store.db
        .insertInto('roles')
        .values({ id, name: input.name, description: input.description, builtin: 0, permissions: JSON.stringify([...new Set(input.permissions)]), created_at: now, updated_at: now })
        .execute();
    } catch (err) {
      if (isUniqueViolation(err)) throw new ConflictError(`a role named "${input.name}" already exists`, 'name');
      throw err;
    }
    return this.get(id);
  }

  async update(id: string, input: { name?: string; description?: string; permissions?: Permission[] }): Promise<RoleView> {
    const role = await this.get(id);
    if (role.builtin) throw new ValidationError('built-in roles cannot be changed; create a custom role instead', 'id');
    try {
      await this.store.db
        .updateTable('roles')
        .set({
          ...(input.name !== undefined ? { name: input.name } : {}),
          ...(input.description !== undefined ? { description: input.description } : {}),
          ...(input.permissions !== undefined ? { permissions: JSON.stringify([...new Set(input.permissions)]) } : {}),
          updated_at: this.clock.now(),
        })
        .where('id', '=', id)
        .execute();
    } catch (err) {
      if (isUniqueViolation(err)) throw new ConflictError(`a role named "${input.name}" already exists`, 'name');
      throw err;
    }
    return this.get(id);
  }

  async remove(id: string): Promise<RoleView> {
    const role = await this.get(id);
    if (role.builtin) throw new ValidationError('built-in roles cannot be deleted', 'id');
    await this.store.db.transaction().execute(async (tx) => {
      await tx.deleteFrom('secret_access').where('principal_type', '=', 'role').where('principal_id', '=', id).execute();
      await tx.deleteFrom('roles').where('id', '=', id).execute();
    });
    return role;
  }
}
