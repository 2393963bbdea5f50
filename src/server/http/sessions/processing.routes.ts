import type { FastifyInstance } from 'fastify';
import type { Store } from '../../../adapters/store/store.ts';
import { actorOf, type AuditService } from '../../../core/audit/audit.service.ts';
import { ConflictError, NotFoundError } from '../../../core/errors.ts';
import type { VideoProcessing } from '../../../core/recording/video-processing.ts';
import { canPlay } from '../../../core/sessions/session-access.ts';
import { idParams } from '../../../protocol/common.ts';
import { route } from '../route.ts';

/**
 * `POST /sessions/{id}/processing`: queue the H.264/MP4 conversion of a desktop recording. Only
 * a caller who may play the recording may ask (others get "not found", as for playback); the
 * answer is 202 with the processing state, which `GET /sessions/{id}` keeps showing.
 */
export function registerProcessingRoutes(app: FastifyInstance, deps: { store: Store; processing: VideoProcessing; audit: AuditService }): void {
  route(app, {
    method: 'POST',
    url: '/api/v1/sessions/:id/processing',
    access: 'session-recording.view',
    params: idParams,
    status: 202,
    handler: async ({ params, principal, ip }) => {
      const s = await deps.store.db.selectFrom('sessions').select(['id', 'secret_id', 'media', 'storage']).where('id', '=', params.id).executeTakeFirst();
      if (!s || !(await canPlay(deps.store, principal, s.secret_id))) throw new NotFoundError('session');
      if (s.media !== 'webm') throw new ConflictError('this session has no video recording to convert');
      const status = await deps.processing.request(s.id);
      await deps.audit.record({
        actor: actorOf(principal, ip),
        action: 'recording.processing-request',
        target: { type: 'session', id: s.id },
        details: { state: status.state },
      });
      return { state: status.state, progress: status.progress };
    },
  });
}
