import type { Selectable } from 'kysely';
import type { SessionsTable } from '../../adapters/store/schema.ts';
import type { SessionView } from '../../protocol/sessions.ts';

export type SessionRow = Selectable<SessionsTable>;

/** A sessions row as the API shows it. `mp4` says whether a converted MP4 exists. */
export function toSessionView(r: SessionRow, mp4 = false): SessionView {
  return {
    id: r.id,
    kind: r.kind,
    status: r.status,
    user: { id: r.user_id, name: r.username },
    secret: { id: r.secret_id, name: r.secret_name },
    target: { host: r.target_host, user: r.target_user },
    clientAddress: r.client_address,
    component: r.component,
    startedAt: Number(r.started_at),
    endedAt: r.ended_at === null ? null : Number(r.ended_at),
    lastActivityAt: Number(r.last_activity_at),
    durationMs: r.duration_ms === null ? null : Number(r.duration_ms),
    endReason: r.end_reason,
    endedBy: r.ended_by,
    recording: {
      video: r.record_video === 1,
      keystrokes: r.record_keystrokes === 1,
      media: r.media,
      state: r.recording_state,
      storage: r.storage,
      chunks: Number(r.chunk_count),
      bytes: Number(r.bytes),
      integrity: r.chain_head,
      mp4,
      processing: { state: r.processing_state, progress: r.processing_progress === null ? null : Number(r.processing_progress), error: r.processing_error },
    },
  };
}
