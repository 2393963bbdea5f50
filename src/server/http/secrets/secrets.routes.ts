import type { FastifyInstance } from 'fastify';
import { actorOf, type AuditService } from '../../../core/audit/audit.service.ts';
import type { SecretsService } from '../../../core/secrets/secrets.service.ts';
import { idParams } from '../../../protocol/common.ts';
import { createSecretRequest, updateSecretRequest } from '../../../protocol/secrets.ts';
import { route } from '../route.ts';

/**
 * Secrets. Anyone signed in may list and read the secrets they may launch (others are "not
 * found"); administering them takes `secrets.administer`. No response ever holds a credential,
 * and the audit log records which fields changed, never their values.
 */
export function registerSecretsRoutes(app: FastifyInstance, deps: { secrets: SecretsService; audit: AuditService }): void {
  const { secrets, audit } = deps;

  route(app, {
    method: 'GET',
    url: '/api/v1/secrets',
    access: 'authenticated',
    handler: async ({ principal }) => ({ items: await secrets.list(principal) }),
  });

  route(app, {
    method: 'POST',
    url: '/api/v1/secrets',
    access: 'secrets.administer',
    body: createSecretRequest,
    status: 201,
    handler: async ({ body, principal, ip }) => {
      const secret = await secrets.create(body);
      await audit.record({
        actor: actorOf(principal, ip),
        action: 'secret.create',
        target: { type: 'secret', id: secret.id },
        details: { name: secret.name, kind: secret.kind, host: secret.host, port: secret.port, username: secret.username, credential: secret.credential.type, recording: secret.recording, access: secret.access },
      });
      return secret;
    },
  });

  route(app, {
    method: 'GET',
    url: '/api/v1/secrets/:id',
    access: 'authenticated',
    params: idParams,
    handler: async ({ params, principal }) => secrets.get(principal, params.id),
  });

  route(app, {
    method: 'PATCH',
    url: '/api/v1/secrets/:id',
    access: 'secrets.administer',
    params: idParams,
    body: updateSecretRequest,
    handler: async ({ params, body, principal, ip }) => {
      const { secret, changed } = await secrets.update(params.id, body);
      if (changed.length > 0) {
        await audit.record({
          actor: actorOf(principal, ip),
          action: 'secret.update',
          target: { type: 'secret', id: secret.id },
          details: { name: secret.name, fields: changed },
        });
      }
      return secret;
    },
  });

  route(app, {
    method: 'DELETE',
    url: '/api/v1/secrets/:id',
    access: 'secrets.administer',
    params: idParams,
    status: 204,
    handler: async ({ params, principal, ip }) => {
      const secret = await secrets.remove(params.id);
      await audit.record({
        actor: actorOf(principal, ip),
        action: 'secret.delete',
        target: { type: 'secret', id: secret.id },
        details: { name: secret.name, kind: secret.kind, host: secret.host },
      });
    },
  });
}
