import type { FastifyInstance } from 'fastify';
import type { ProxyHostKey } from '../../../ssh-proxy/host-key.ts';
import { route } from '../route.ts';

/** The SSH proxy's host key, so users can check the fingerprint `ssh` shows on first connect. */
export function registerSshRoutes(app: FastifyInstance, deps: { hostKey: ProxyHostKey; port: number }): void {
  route(app, {
    method: 'GET',
    url: '/api/v1/ssh-proxy/host-key',
    access: 'authenticated',
    handler: async () => ({ publicKey: deps.hostKey.publicKey, fingerprint: deps.hostKey.fingerprint, port: deps.port }),
  });
}
