import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { AuditService } from '../../../core/audit/audit.service.ts';
import { limit, timeParam } from '../../../protocol/common.ts';
import { route } from '../route.ts';

const auditQuery = z
  .object({
    actor: z.string().max(256).optional(),
    action: z.string().max(128).regex(/^[a-z0-9.*-]+$/, 'letters, digits, dot, dash; a trailing .* matches a prefix').optional(),
    targetType: z.string().max(64).optional(),
    targetId: z.string().max(256).optional(),
    outcome: z.enum(['success', 'failure']).optional(),
    from: timeParam.optional(),
    to: timeParam.optional(),
    cursor: z.string().regex(/^\d{1,18}$/, 'must be a cursor returned by a previous page').transform(Number).optional(),
    limit,
  })
  .strict();

export function registerAuditRoutes(app: FastifyInstance, deps: { audit: AuditService }): void {
  route(app, { method: 'GET', url: '/api/v1/audit', access: 'audit.view', query: auditQuery, handler: async ({ query }) => deps.audit.list(query) });
}
