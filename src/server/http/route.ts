import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodType, ZodTypeDef } from 'zod';
import { ForbiddenError, UnauthorizedError } from '../../core/errors.ts';
import type { Permission, Principal } from '../../core/permissions.ts';
import { parseWith } from './validate.ts';

/**
 * Who may call a route. Every route declares one; the app refuses to register a route without
 * it and the authorization-matrix test checks each against each built-in role.
 * - `public`: anyone; `authenticated`: any signed-in user (the handler may check more);
 * - a permission: signed-in users holding it; `component`: recording components with an upload credential;
 * - `agent`: enrolled host agents with their own credential (`vgn_…`);
 * - `self-or-users.administer`: the user named by the `:id` path parameter, or a users administrator.
 */
export type Access = 'public' | 'authenticated' | 'component' | 'agent' | 'self-or-users.administer' | Permission;

/** An enrolled host agent, set on requests to `agent` routes. */
export interface AgentCaller {
  id: string;
  hostName: string;
  addresses: string[];
}

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: Access;
  }
  interface FastifyRequest {
    principal?: Principal;
    agent?: AgentCaller;
  }
}

type Schema<T> = ZodType<T, ZodTypeDef, unknown>;

export interface RouteContext<B, Q, P> {
  req: FastifyRequest;
  reply: FastifyReply;
  body: B;
  query: Q;
  params: P;
  /** The signed-in caller; defined on every route whose access is not `public`/`component`. */
  principal: Principal;
  ip: string;
}

export interface RouteSpec<B, Q, P> {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  url: string;
  access: Access;
  body?: Schema<B>;
  query?: Schema<Q>;
  params?: Schema<P>;
  /** Status for a successful answer (default 200; 204 sends no body). */
  status?: number;
  bodyLimit?: number;
  handler(ctx: RouteContext<B, Q, P>): Promise<unknown>;
}

export function route<B = undefined, Q = undefined, P = undefined>(app: FastifyInstance, spec: RouteSpec<B, Q, P>): void {
  app.route({
    method: spec.method,
    url: spec.url,
    config: { access: spec.access },
    ...(spec.bodyLimit ? { bodyLimit: spec.bodyLimit } : {}),
    handler: async (req, reply) => {
      const body = spec.body ? parseWith(spec.body, req.body ?? {}, 'body') : (undefined as B);
      const query = spec.query ? parseWith(spec.query, req.query, 'query') : (undefined as Q);
      const params = spec.params ? parseWith(spec.params, req.params, 'path') : (undefined as P);
      const result = await spec.handler({ req, reply, body, query, params, principal: req.principal!, ip: req.ip });
      if (reply.sent) return reply;
      if (spec.status === 204) return reply.code(204).send();
      return reply.code(spec.status ?? 200).send(result);
    },
  });
}

/** The access check, run before validation so an anonymous caller learns nothing about the shape. */
export function checkAccess(access: Access, principal: Principal | undefined, params: unknown): void {
  if (access === 'public' || access === 'component' || access === 'agent') return;
  if (!principal) throw new UnauthorizedError();
  if (access === 'authenticated') return;
  if (access === 'self-or-users.administer') {
    const id = (params as { id?: unknown } | undefined)?.id;
    if (id !== principal.userId && !principal.permissions.has('users.administer')) throw new ForbiddenError();
    return;
  }
  if (!principal.permissions.has(access)) throw new ForbiddenError();
}
