import type { FastifyInstance } from 'fastify';
import type { Store } from '../../../adapters/store/store.ts';
import { actorOf, type AuditService } from '../../../core/audit/audit.service.ts';
import { AppError, NotFoundError } from '../../../core/errors.ts';
import type { CastIndexService } from '../../../core/recording/cast-index.service.ts';
import { parseRange } from '../../../core/recording/recording-reader.ts';
import { canPlay } from '../../../core/sessions/session-access.ts';
import type { SessionsService } from '../../../core/sessions/sessions.service.ts';
import { idParams } from '../../../protocol/common.ts';
import { route } from '../route.ts';
import { viewingAudit } from './viewing-audit.ts';

/**
 * Fast seeking in terminal recordings: the seek index (keyframes with cast offsets) and the
 * serialized screens it names. A player fetches the index, one keyframe and one Range of the cast.
 */
export function registerRecordingIndexRoutes(app: FastifyInstance, deps: { store: Store; sessions: SessionsService; castIndex: CastIndexService; audit: AuditService }): void {
  const mayPlay = async (principal: Parameters<typeof canPlay>[1], id: string) => {
    const row = await deps.sessions.row(id);
    if (!(await canPlay(deps.store, principal, row.secret_id))) throw new NotFoundError('session');
    if (row.media !== 'cast') throw new AppError(400, 'invalid-request', 'this session has no terminal recording');
  };

  route(app, {
    method: 'GET',
    url: '/api/v1/sessions/:id/recording/index',
    access: 'authenticated',
    params: idParams,
    handler: async ({ params, principal, ip, reply }) => {
      await mayPlay(principal, params.id);
      const index = await deps.castIndex.index(params.id);
      // Opening a recording through its index is one viewing; the keyframes and the cast's Range
      // requests that follow belong to it (ViewingAudit).
      await viewingAudit(deps.audit).record(actorOf(principal, ip), 'recording.view', params.id, { format: 'cast' });
      reply.header('cache-control', 'private, no-store');
      return index;
    },
  });

  route(app, {
    method: 'GET',
    url: '/api/v1/sessions/:id/recording/keyframes',
    access: 'authenticated',
    params: idParams,
    handler: async ({ params, principal, ip, req, reply }) => {
      await mayPlay(principal, params.id);
      // The saved screens are the recording too: reading them alone is a viewing.
      await viewingAudit(deps.audit).record(actorOf(principal, ip), 'recording.view', params.id, { format: 'cast' });
      const kf = await deps.castIndex.keyframes(params.id);
      const range = parseRange(req.headers.range, kf.size);
      if (range === 'invalid') {
        reply.header('content-range', `bytes */${kf.size}`);
        throw new AppError(416, 'range-not-satisfiable', `range ${req.headers.range} is outside the keyframes' ${kf.size} bytes`);
      }
      reply.header('accept-ranges', 'bytes').header('content-type', 'application/octet-stream').header('cache-control', 'private, no-store');
      if (kf.size === 0) return reply.code(200).header('content-length', '0').send('');
      const { start, end } = range ?? { start: 0, end: kf.size - 1 };
      if (range) reply.code(206).header('content-range', `bytes ${start}-${end}/${kf.size}`);
      return reply.send(await kf.read(start, end));
    },
  });
}
