import type { FastifyInstance } from 'fastify';
import type { ClusterNodes } from '../../../core/cluster/cluster-nodes.ts';
import { route } from '../route.ts';

export function registerClusterRoutes(app: FastifyInstance, deps: { nodes: ClusterNodes }): void {
  // The nodes of the cluster as the shared database knows them: up, silent (beats stopped; its
  // sessions are interrupted) or stopped cleanly.
  route(app, { method: 'GET', url: '/api/v1/cluster/nodes', access: 'settings.administer', handler: async () => ({ nodes: await deps.nodes.list() }) });
}
