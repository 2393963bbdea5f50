import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { TooManyRequestsError } from '../../../core/errors.ts';
import type { AuthService } from '../../../core/identity/auth.service.ts';
import type { UsersService } from '../../../core/identity/users.service.ts';
import { idParams } from '../../../protocol/common.ts';
import { apiTokenRequest, loginRequest } from '../../../protocol/identity.ts';
import { CSRF_COOKIE, SESSION_COOKIE } from '../app.ts';
import type { HttpMetrics } from '../metrics.ts';
import { RateLimiter } from '../rate-limit.ts';
import { route } from '../route.ts';

export function registerAuthRoutes(
  app: FastifyInstance,
  deps: { auth: AuthService; users: UsersService; secureCookies: boolean; metrics?: HttpMetrics; loginLimiter?: RateLimiter },
): void {
  // Per client address, on top of the per-account lockout: slows password spraying across accounts.
  const limiter = deps.loginLimiter ?? new RateLimiter(20, 60_000);
  const cookieOpts = { path: '/', sameSite: 'strict' as const, secure: deps.secureCookies };

  route(app, {
    method: 'POST',
    url: '/api/v1/auth/login',
    access: 'public',
    body: loginRequest,
    bodyLimit: 16 * 1024,
    handler: async ({ body, ip, reply }) => {
      if (!limiter.hit(ip)) throw new TooManyRequestsError('too many sign-in attempts from this address; wait a minute');
      let result;
      try {
        result = await deps.auth.login(body.username, body.password, ip);
      } catch (err) {
        deps.metrics?.loginFailures.inc();
        throw err;
      }
      const csrfToken = randomBytes(24).toString('base64url');
      const maxAge = Math.floor((result.expiresAt - Date.now()) / 1000);
      reply.setCookie(SESSION_COOKIE, result.token, { ...cookieOpts, httpOnly: true, maxAge });
      reply.setCookie(CSRF_COOKIE, csrfToken, { ...cookieOpts, httpOnly: false, maxAge });
      return { token: result.token, csrfToken, expiresAt: result.expiresAt, user: result.user };
    },
  });

  route(app, {
    method: 'POST',
    url: '/api/v1/auth/logout',
    access: 'authenticated',
    status: 204,
    handler: async ({ principal, ip, reply }) => {
      await deps.auth.logout(principal, ip);
      reply.clearCookie(SESSION_COOKIE, cookieOpts).clearCookie(CSRF_COOKIE, cookieOpts);
    },
  });

  route(app, {
    method: 'GET',
    url: '/api/v1/auth/me',
    access: 'authenticated',
    handler: async ({ principal }) => deps.users.get(principal.userId),
  });

  route(app, {
    method: 'GET',
    url: '/api/v1/auth/tokens',
    access: 'authenticated',
    handler: async ({ principal }) => ({ items: await deps.auth.listTokens(principal.userId) }),
  });

  route(app, {
    method: 'POST',
    url: '/api/v1/auth/tokens',
    access: 'authenticated',
    body: apiTokenRequest,
    status: 201,
    handler: async ({ principal, body, ip }) => deps.auth.createApiToken(principal, body.name, body.expiresInDays, ip),
  });

  route(app, {
    method: 'DELETE',
    url: '/api/v1/auth/tokens/:id',
    access: 'authenticated',
    params: idParams,
    status: 204,
    handler: async ({ principal, params, ip }) => {
      await deps.auth.revokeToken(principal, params.id, ip);
    },
  });
}

