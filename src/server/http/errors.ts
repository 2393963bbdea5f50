import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../../core/errors.ts';

interface Rendered {
  status: number;
  code: string;
  message: string;
  details?: Record<string, unknown>;
}

const CONNECTION_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', '57P01', '57P03', '08006', '08001', '08003', 'SQLITE_BUSY']);

/** node-postgres reports a lost or impossible connection by message only. */
const CONNECTION_MESSAGES = /^(Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|the database system is (starting up|shutting down))/;

const FASTIFY_ERRORS: Record<string, Rendered> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { status: 413, code: 'payload-too-large', message: 'request body is larger than this route accepts' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { status: 415, code: 'unsupported-media-type', message: 'send the body as application/json' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { status: 400, code: 'invalid-request', message: 'body: a JSON body is required', details: { field: 'body' } },
  FST_ERR_CTP_INVALID_JSON_BODY: { status: 400, code: 'invalid-json', message: 'body: malformed JSON', details: { field: 'body' } },
};

/** Maps anything thrown in a request to the uniform `{error:{code,message}}` shape; never a stack. */
export function renderError(err: unknown, requestId: string): Rendered {
  if (err instanceof AppError) return { status: err.status, code: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) };
  const e = err as Partial<FastifyError> & { code?: string };
  const known = e.code ? FASTIFY_ERRORS[e.code] : undefined;
  if (known) return known;
  if (err instanceof SyntaxError && e.statusCode === 400) return { status: 400, code: 'invalid-json', message: 'body: malformed JSON', details: { field: 'body' } };
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    return { status: e.statusCode, code: 'bad-request', message: e.message ?? 'bad request' };
  }
  if ((e.code && CONNECTION_CODES.has(e.code)) || (typeof e.message === 'string' && CONNECTION_MESSAGES.test(e.message))) {
    return { status: 503, code: 'unavailable', message: 'the database or broker is unavailable; retry shortly' };
  }
  return { status: 500, code: 'internal', message: `internal error (request ${requestId}); the server log has the details` };
}

export function sendError(req: FastifyRequest, reply: FastifyReply, err: unknown): FastifyReply {
  const r = renderError(err, req.id);
  if (r.status >= 500) req.log.error({ err }, 'request failed');
  else req.log.info({ code: r.code, status: r.status }, 'request refused');
  return reply.code(r.status).send({ error: { code: r.code, message: r.message, ...(r.details ? { details: r.details } : {}) } });
}
