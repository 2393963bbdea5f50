import type { FastifyInstance } from 'fastify';
import { actorOf, type AuditService } from '../../../core/audit/audit.service.ts';
import type { AgentsService } from '../../../core/agents/agents.service.ts';
import { idParams } from '../../../protocol/common.ts';
import { createEnrollmentTokenBody, enrollBody, heartbeatBody, loginReport } from '../../../protocol/agents.ts';
import { route } from '../route.ts';
import type { RateLimiter } from '../rate-limit.ts';
import { TooManyRequestsError } from '../../../core/errors.ts';

/**
 * Administrators create enrollment tokens, list and deactivate agents (`settings.administer`);
 * agents enroll with a token (public: the token is the credential) and then call the `agent`
 * routes with their own credential. Session data goes through the ingestion routes.
 */
export function registerAgentsRoutes(app: FastifyInstance, deps: { agents: AgentsService; audit: AuditService; enrollLimiter: RateLimiter }): void {
  route(app, {
    method: 'POST',
    url: '/api/v1/agents/enrollment-tokens',
    access: 'settings.administer',
    body: createEnrollmentTokenBody,
    status: 201,
    handler: async ({ body, principal, ip }) => deps.agents.createEnrollmentToken(actorOf(principal, ip), body.expiresInMinutes),
  });

  route(app, {
    method: 'GET',
    url: '/api/v1/agents',
    access: 'settings.administer',
    handler: async () => ({ items: await deps.agents.list() }),
  });

  route(app, {
    method: 'GET',
    url: '/api/v1/agents/:id',
    access: 'settings.administer',
    params: idParams,
    handler: async ({ params }) => deps.agents.get(params.id),
  });

  route(app, {
    method: 'POST',
    url: '/api/v1/agents/:id/deactivate',
    access: 'settings.administer',
    params: idParams,
    handler: async ({ params, principal, ip }) => deps.agents.deactivate(params.id, actorOf(principal, ip)),
  });

  route(app, {
    method: 'POST',
    url: '/api/v1/agents/enroll',
    access: 'public',
    body: enrollBody,
    status: 201,
    handler: async ({ body, ip }) => {
      if (!deps.enrollLimiter.hit(ip)) throw new TooManyRequestsError();
      return deps.agents.enroll(body, ip);
    },
  });

  route(app, {
    method: 'POST',
    url: '/api/v1/agent/heartbeat',
    access: 'agent',
    body: heartbeatBody,
    handler: async ({ req, body }) => ({ agentId: req.agent!.id, settings: await deps.agents.heartbeat(req.agent!, body) }),
  });

  route(app, {
    method: 'POST',
    url: '/api/v1/agent/logins',
    access: 'agent',
    body: loginReport,
    handler: async ({ req, body }) => deps.agents.reportLogin(req.agent!, body),
  });
}
