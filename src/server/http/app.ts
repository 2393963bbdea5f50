import cookie from '@fastify/cookie';
import websocket from '@fastify/websocket';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from '../../adapters/log/logger.ts';
import { ForbiddenError, NotFoundError, UnauthorizedError } from '../../core/errors.ts';
import type { AuthService } from '../../core/identity/auth.service.ts';
import { sendError } from './errors.ts';
import { HttpMetrics } from './metrics.ts';
import { checkAccess, type AgentCaller } from './route.ts';
import { securityHeaders } from './security-headers.ts';

export const SESSION_COOKIE = 'vigil_session';
export const CSRF_COOKIE = 'vigil_csrf';
export const CSRF_HEADER = 'x-vigil-csrf';

export interface AppOptions {
  logger: Logger;
  auth: AuthService;
  secureCookies: boolean;
  trustProxy: boolean;
  /** Default JSON body limit; routes that take media raise their own. */
  bodyLimit?: number;
  metrics?: HttpMetrics;
  /** Checks a recording component's upload credential for the session in the `:id` path parameter. */
  componentAuth?: (token: string, sessionId: string) => Promise<boolean>;
  /** Checks a host agent's own credential; null when unknown (may throw for a deactivated agent). */
  agentAuth?: (token: string) => Promise<AgentCaller | null>;
  /** Registers the routes of each domain; the composition root decides which run on this node. */
  routes: Array<(app: FastifyInstance) => void>;
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * The HTTP edge: authentication, the per-route access check, CSRF for cookie sessions, security
 * headers, metrics and the uniform error shape. Domains add routes through `route()`.
 */
export async function buildApp(opts: AppOptions): Promise<{ app: FastifyInstance; metrics: HttpMetrics; routes: Array<{ method: string; url: string; access: string }> }> {
  const metrics = opts.metrics ?? new HttpMetrics();
  const app = Fastify({
    loggerInstance: opts.logger as unknown as FastifyBaseLogger,
    trustProxy: opts.trustProxy,
    bodyLimit: opts.bodyLimit ?? 1024 * 1024,
    routerOptions: { ignoreTrailingSlash: true },
    genReqId: () => crypto.randomUUID(),
  });
  await app.register(cookie);
  await app.register(websocket, { options: { maxPayload: 1024 * 1024 } });

  const declared: Array<{ method: string; url: string; access: string }> = [];
  app.addHook('onRoute', (r) => {
    const access = r.config?.access;
    if (!access) throw new Error(`route ${String(r.method)} ${r.url} declares no access rule`);
    for (const m of [r.method].flat()) if (m !== 'HEAD') declared.push({ method: m, url: r.url, access });
  });

  const headers = securityHeaders(opts.secureCookies);
  app.addHook('onRequest', async (req, reply) => {
    reply.headers(headers);
    if (req.url.startsWith('/api/')) reply.header('cache-control', 'no-store');
    const bearer = /^Bearer (.+)$/i.exec(req.headers.authorization ?? '')?.[1];
    const cookieToken = req.cookies[SESSION_COOKIE];
    const access = req.routeOptions.config?.access;
    if (access === 'agent') {
      const agent = bearer && opts.agentAuth ? await opts.agentAuth(bearer.trim()) : null;
      if (!agent) throw new UnauthorizedError('a valid agent credential is required');
      req.agent = agent;
      return;
    }
    if (bearer) req.principal = await opts.auth.authenticate(bearer.trim(), 'bearer');
    else if (cookieToken) req.principal = await opts.auth.authenticate(cookieToken, 'cookie');
    if (!access) return; // 404s fall through to the not-found handler
    if (access === 'component') {
      const sessionId = (req.params as { id?: string }).id ?? '';
      if (!bearer || !opts.componentAuth || !(await opts.componentAuth(bearer.trim(), sessionId))) throw new UnauthorizedError('a valid upload credential for this session is required');
      return;
    }
    checkAccess(access, req.principal, req.params);
    if (req.principal?.via === 'cookie' && !SAFE_METHODS.has(req.method)) {
      const expected = req.cookies[CSRF_COOKIE];
      if (!expected || req.headers[CSRF_HEADER] !== expected) throw new ForbiddenError(`missing or wrong ${CSRF_HEADER} header (cookie sessions must echo the ${CSRF_COOKIE} cookie)`);
    }
  });

  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unmatched';
    metrics.requests.inc({ method: req.method, route, status: String(reply.statusCode) });
    metrics.duration.observe({ method: req.method, route }, reply.elapsedTime / 1000);
  });

  app.setErrorHandler((err, req, reply) => sendError(req, reply, err));
  app.setNotFoundHandler((req, reply) => sendError(req, reply, new NotFoundError(`route ${req.method} ${req.url.split('?')[0]}`)));

  for (const register of opts.routes) register(app);
  await app.ready();
  return { app, metrics, routes: declared };
}
