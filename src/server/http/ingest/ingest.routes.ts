import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { ValidationError } from '../../../core/errors.ts';
import type { IngestService } from '../../../core/recording/ingest.service.ts';
import type { SessionsService } from '../../../core/sessions/sessions.service.ts';
import { id } from '../../../protocol/common.ts';
import { eventBatch, MAX_CHUNK_BYTES, MAX_EVENTS_PER_BATCH, MAX_EVENT_TEXT } from '../../../protocol/sessions.ts';
import { route } from '../route.ts';

const sessionParams = z.object({ id }).strict();
const chunkParams = z.object({ id, seq: z.coerce.number().int().min(0).max(2 ** 31 - 1) }).strict();
const closeBody = z
  .object({
    status: z.enum(['ended', 'terminated']).default('ended'),
    reason: z.string().max(1000).optional(),
    /** When the component decided the end (ms from the session start, like event times): a limit or a terminate, before its uploads. */
    at: z.number().int().min(0).max(10 * 365 * 86_400_000).optional(),
  })
  .strict();

/**
 * Routes for recording components (launcher, agent, remote proxies), authenticated by the upload
 * credential of one session (`Authorization: Bearer vgu_…`), checked at the edge for `:id`.
 */
export function registerIngestRoutes(app: FastifyInstance, deps: { ingest: IngestService; sessions: SessionsService; refinalize?: (sessionId: string) => Promise<void> }): void {
  app.addContentTypeParser('application/octet-stream', { parseAs: 'buffer', bodyLimit: MAX_CHUNK_BYTES }, (_req, body, done) => done(null, body));

  route(app, {
    method: 'POST',
    url: '/api/v1/ingest/sessions/:id/events',
    access: 'component',
    params: sessionParams,
    body: eventBatch,
    bodyLimit: MAX_EVENTS_PER_BATCH * 256 + 4 * MAX_EVENT_TEXT,
    handler: async ({ params, body }) => deps.ingest.events(params.id, body.source, body.events),
  });

  route(app, {
    method: 'PUT',
    url: '/api/v1/ingest/sessions/:id/chunks/:seq',
    access: 'component',
    params: chunkParams,
    bodyLimit: MAX_CHUNK_BYTES,
    handler: async ({ params, req }) => {
      if (!Buffer.isBuffer(req.body)) throw new ValidationError('body: send the chunk as application/octet-stream', 'body');
      if (req.body.length === 0) throw new ValidationError('body: a chunk must not be empty', 'body');
      return deps.ingest.chunk(params.id, params.seq, req.body);
    },
  });

  route(app, {
    method: 'POST',
    url: '/api/v1/ingest/sessions/:id/heartbeat',
    access: 'component',
    params: sessionParams,
    handler: async ({ params }) => {
      const s = await deps.sessions.heartbeat(params.id);
      // The component learns here that the session was ended elsewhere (terminated, interrupted).
      return { status: s.status };
    },
  });

  route(app, {
    method: 'POST',
    url: '/api/v1/ingest/sessions/:id/close',
    access: 'component',
    params: sessionParams,
    body: closeBody,
    handler: async ({ params, body }) => {
      const before = await deps.sessions.row(params.id);
      const at = body.at === undefined ? undefined : Number(before.started_at) + body.at;
      const s = await deps.sessions.end(params.id, { status: body.status, reason: body.reason ?? null, endedBy: null, ...(at !== undefined ? { at } : {}) });
      // Ended elsewhere first (terminated by an administrator, interrupted while unreachable): the
      // component has since uploaded what it spooled, so the finalised WebM is rebuilt if stale.
      if (before.status !== 'active' && before.media === 'webm' && deps.refinalize) await deps.refinalize(params.id);
      return { status: s.status };
    },
  });
}
