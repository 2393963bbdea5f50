import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { actorOf, type AuditService } from '../../../core/audit/audit.service.ts';
import type { RolesService } from '../../../core/identity/roles.service.ts';
import type { SshKeysService } from '../../../core/identity/ssh-keys.service.ts';
import type { UsersService } from '../../../core/identity/users.service.ts';
import { id, idParams } from '../../../protocol/common.ts';
import { createRoleRequest, createUserRequest, sshKeyRequest, updateRoleRequest, updateUserRequest } from '../../../protocol/identity.ts';
import { route } from '../route.ts';

const keyParams = z.object({ id, keyId: id }).strict();

export function registerUsersRoutes(
  app: FastifyInstance,
  deps: { users: UsersService; roles: RolesService; sshKeys: SshKeysService; audit: AuditService },
): void {
  route(app, { method: 'GET', url: '/api/v1/users', access: 'users.administer', handler: async () => ({ items: await deps.users.list() }) });

  route(app, {
    method: 'POST',
    url: '/api/v1/users',
    access: 'users.administer',
    body: createUserRequest,
    status: 201,
    handler: async ({ body, principal, ip }) => {
      const user = await deps.users.create(body);
      await deps.audit.record({ actor: actorOf(principal, ip), action: 'user.create', target: { type: 'user', id: user.id }, details: { username: user.username, roles: user.roles.map((r) => r.name) } });
      return user;
    },
  });

  route(app, {
    method: 'GET',
    url: '/api/v1/users/:id',
    access: 'self-or-users.administer',
    params: idParams,
    handler: async ({ params }) => {
      return deps.users.get(params.id);
    },
  });

  route(app, {
    method: 'PATCH',
    url: '/api/v1/users/:id',
    access: 'users.administer',
    params: idParams,
    body: updateUserRequest,
    handler: async ({ params, body, principal, ip }) => {
      const user = await deps.users.update(params.id, body);
      const fields = Object.keys(body).filter((k) => body[k as keyof typeof body] !== undefined);
      await deps.audit.record({ actor: actorOf(principal, ip), action: 'user.update', target: { type: 'user', id: user.id }, details: { username: user.username, fields, ...(body.roles ? { roles: user.roles.map((r) => r.name) } : {}), ...(body.disabled !== undefined ? { disabled: body.disabled } : {}) } });
      return user;
    },
  });

  route(app, {
    method: 'GET',
    url: '/api/v1/users/:id/ssh-keys',
    access: 'self-or-users.administer',
    params: idParams,
    handler: async ({ params }) => {
      return { items: await deps.sshKeys.list(params.id) };
    },
  });

  route(app, {
    method: 'POST',
    url: '/api/v1/users/:id/ssh-keys',
    access: 'self-or-users.administer',
    params: idParams,
    body: sshKeyRequest,
    status: 201,
    handler: async ({ params, body, principal, ip }) => {
      const key = await deps.sshKeys.add(params.id, body.publicKey, body.name);
      await deps.audit.record({ actor: actorOf(principal, ip), action: 'ssh-key.add', target: { type: 'user', id: params.id }, details: { keyId: key.id, fingerprint: key.fingerprint, algorithm: key.algorithm } });
      return key;
    },
  });

  route(app, {
    method: 'DELETE',
    url: '/api/v1/users/:id/ssh-keys/:keyId',
    access: 'self-or-users.administer',
    params: keyParams,
    status: 204,
    handler: async ({ params, principal, ip }) => {
      await deps.sshKeys.remove(params.id, params.keyId);
      await deps.audit.record({ actor: actorOf(principal, ip), action: 'ssh-key.remove', target: { type: 'user', id: params.id }, details: { keyId: params.keyId } });
    },
  });

  route(app, { method: 'GET', url: '/api/v1/roles', access: 'users.administer', handler: async () => ({ items: await deps.roles.list() }) });

  route(app, {
    method: 'POST',
    url: '/api/v1/roles',
    access: 'users.administer',
    body: createRoleRequest,
    status: 201,
    handler: async ({ body, principal, ip }) => {
      const role = await deps.roles.create(body);
      await deps.audit.record({ actor: actorOf(principal, ip), action: 'role.create', target: { type: 'role', id: role.id }, details: { name: role.name, permissions: role.permissions } });
      return role;
    },
  });

  route(app, {
    method: 'PATCH',
    url: '/api/v1/roles/:id',
    access: 'users.administer',
    params: idParams,
    body: updateRoleRequest,
    handler: async ({ params, body, principal, ip }) => {
      const role = await deps.roles.update(params.id, body);
      await deps.audit.record({ actor: actorOf(principal, ip), action: 'role.update', target: { type: 'role', id: role.id }, details: { name: role.name, permissions: role.permissions } });
      return role;
    },
  });

  route(app, {
    method: 'DELETE',
    url: '/api/v1/roles/:id',
    access: 'users.administer',
    params: idParams,
    status: 204,
    handler: async ({ params, principal, ip }) => {
      const role = await deps.roles.remove(params.id);
      await deps.audit.record({ actor: actorOf(principal, ip), action: 'role.delete', target: { type: 'role', id: role.id }, details: { name: role.name } });
    },
  });
}
