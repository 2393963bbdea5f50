import type { FastifyInstance } from 'fastify';
import type { HttpMetrics } from '../metrics.ts';
import { route } from '../route.ts';

export function registerSystemRoutes(app: FastifyInstance, deps: { metrics: HttpMetrics; version: string }): void {
  route(app, { method: 'GET', url: '/api/v1/health', access: 'public', handler: async () => ({ status: 'ok' }) });
  route(app, { method: 'GET', url: '/api/v1/version', access: 'public', handler: async () => ({ version: deps.version }) });
  // Scrapers authenticate with an API token of a user holding settings.administer.
  route(app, {
    method: 'GET',
    url: '/metrics',
    access: 'settings.administer',
    handler: async ({ reply }) => {
      reply.type(deps.metrics.registry.contentType);
      return deps.metrics.registry.metrics();
    },
  });
}
