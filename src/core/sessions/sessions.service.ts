import type { Store } from '../../adapters/store/store.ts';
import type { SessionKind, SessionStatus } from '../../adapters/store/schema.ts';
import type { SessionView } from '../../protocol/sessions.ts';
import type { SessionRecordingSettings } from '../../protocol/settings.ts';
import type { Clock } from '../clock.ts';
import { ConflictError, NotFoundError } from '../errors.ts';
import { newId } from '../ids.ts';
import { hashToken, newToken } from '../identity/tokens.ts';
import { toSessionView, type SessionRow } from './session-view.ts';

export interface OpenSessionInput {
  kind: SessionKind;
  component: 'launcher' | 'ssh-proxy' | 'agent';
  user: { id: string | null; name: string };
  secret: { id: string; name: string; recording: { video: boolean; keystrokes: boolean } } | null;
  target: { host: string; user: string };
  clientAddress: string | null;
  nodeId: string | null;
  /** Media this component will upload when recording: cast (terminal) or webm (desktop). */
  media: 'cast' | 'webm' | null;
}

export type SessionEndedHook = (session: SessionRow) => Promise<void>;

const LAUNCH_GRANT_TTL_MS = 2 * 60_000;
const UPLOAD_CREDENTIAL_TTL_MS = 7 * 86_400_000;

/**
 * Session lifecycle: open (launched or detected), heartbeat, end, and `interrupted` when the
 * component holding it goes silent. Launch grants and upload credentials are bound to one session.
 */
export class SessionsService {
  private readonly endedHooks: SessionEndedHook[] = [];

  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly settings: { get(): Promise<SessionRecordingSettings> },
    private readonly opts: { heartbeatTimeoutMs: number } = { heartbeatTimeoutMs: 60_000 },
  ) {}

  /** Runs after a session ends for any reason (finalise media, notify viewers). */
  onEnded(hook: SessionEndedHook): void {
    this.endedHooks.push(hook);
  }

  async open(input: OpenSessionInput): Promise<SessionRow> {
    const s = await this.settings.get();
    const recording = s.enabled && !!input.secret?.recording.video;
    const keystrokes = s.enabled && s.recordKeystrokes && !!input.secret?.recording.keystrokes;
    const now = this.clock.now();
    const row: SessionRow = {
      id: newId(),
      kind: input.kind,
      status: 'active',
      user_id: input.user.id,
      username: input.user.name,
      secret_id: input.secret?.id ?? null,
      secret_name: input.secret?.name ?? null,
      target_host: input.target.host,
      target_user: input.target.user,
      client_address: input.clientAddress,
      component: input.component,
      node_id: input.nodeId,
      started_at: now,
      ended_at: null,
      last_activity_at: now,
      last_heartbeat_at: now,
      end_reason: null,
      ended_by: null,
      record_video: recording ? 1 : 0,
      record_keystrokes: keystrokes ? 1 : 0,
      media: recording ? input.media : null,
      recording_state: recording && input.media ? 'recording' : 'none',
      storage: s.storage === 'directory' ? 'share' : 'database',
      chunk_count: 0,
      bytes: 0,
      chain_head: null,
      duration_ms: null,
      processing_state: null,
      processing_progress: null,
      processing_error: null,
      archived_at: null,
      deleted_at: null,
    };
    await this.store.db.insertInto('sessions').values(row).execute();
    return row;
  }

  async row(id: string): Promise<SessionRow> {
    const row = await this.store.db.selectFrom('sessions').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) throw new NotFoundError('session');
    return row;
  }

  async view(id: string): Promise<SessionView> {
    const row = await this.row(id);
    const mp4 = await this.store.db.selectFrom('recording_files').select('format').where('session_id', '=', id).where('format', '=', 'mp4').executeTakeFirst();
    return toSessionView(row, !!mp4);
  }

  /** A one-time grant the launcher redeems for the target credentials and an upload credential. */
  async createLaunchGrant(sessionId: string): Promise<{ grant: string; expiresAt: number }> {
    const grant = newToken('vgu');
    const now = this.clock.now();
    const expiresAt = now + LAUNCH_GRANT_TTL_MS;
    await this.store.db.insertInto('session_grants').values({ id: newId(), session_id: sessionId, kind: 'launch', token_hash: hashToken(grant), created_at: now, expires_at: expiresAt, used_at: null, revoked_at: null }).execute();
    return { grant, expiresAt };
  }

  /**
   * Redeems a launch grant exactly once (an atomic conditional update). Returns the session
   * row and a fresh upload credential bound to it, or throws when the grant is unknown, used or expired.
   */
  async redeemLaunchGrant(grant: string): Promise<{ session: SessionRow; uploadToken: string }> {
    const now = this.clock.now();
    const res = await this.store.db
      .updateTable('session_grants')
      .set({ used_at: now })
      .where('token_hash', '=', hashToken(grant))
      .where('kind', '=', 'launch')
      .where('used_at', 'is', null)
      .where('revoked_at', 'is', null)
      .where('expires_at', '>', now)
      .executeTakeFirst();
    if (Number(res.numUpdatedRows) !== 1) throw new ConflictError('this launch grant is unknown, expired or already used; launch the secret again');
    const g = await this.store.db.selectFrom('session_grants').select('session_id').where('token_hash', '=', hashToken(grant)).executeTakeFirstOrThrow();
    const session = await this.row(g.session_id);
    if (session.status !== 'active') throw new ConflictError('the session of this launch grant has already ended');
    return { session, uploadToken: await this.issueUploadCredential(session.id) };
  }

  /** A credential that lets a recording component upload to (and heartbeat, close) one session only. */
  async issueUploadCredential(sessionId: string): Promise<string> {
    const token = newToken('vgu');
    const now = this.clock.now();
    await this.store.db.insertInto('session_grants').values({ id: newId(), session_id: sessionId, kind: 'upload', token_hash: hashToken(token), created_at: now, expires_at: now + UPLOAD_CREDENTIAL_TTL_MS, used_at: null, revoked_at: null }).execute();
    return token;
  }

  /** True when `token` is a live upload credential for `sessionId`. */
  async checkUploadCredential(token: string, sessionId: string): Promise<boolean> {
    if (!/^vgu_[A-Za-z0-9_-]{20,100}$/.test(token)) return false;
    const row = await this.store.db
      .selectFrom('session_grants')
      .select(['session_id', 'expires_at', 'revoked_at'])
      .where('token_hash', '=', hashToken(token))
      .where('kind', '=', 'upload')
      .executeTakeFirst();
    return !!row && row.session_id === sessionId && row.revoked_at === null && Number(row.expires_at) > this.clock.now();
  }

  async heartbeat(sessionId: string): Promise<SessionRow> {
    await this.store.db.updateTable('sessions').set({ last_heartbeat_at: this.clock.now() }).where('id', '=', sessionId).where('status', '=', 'active').execute();
    return this.row(sessionId);
  }

  /**
   * Ends an active session (idempotent: ending an ended session changes nothing and returns it).
   * Upload credentials stay valid for a while so a component can still flush what it spooled.
   */
  async end(sessionId: string, how: { status: Exclude<SessionStatus, 'active'>; reason: string | null; endedBy: string | null; at?: number }): Promise<SessionRow> {
    const at = how.at ?? this.clock.now();
    const before = await this.row(sessionId);
    if (before.status !== 'active') return before;
    const res = await this.store.db
      .updateTable('sessions')
      .set({
        status: how.status,
        ended_at: at,
        duration_ms: Math.max(0, at - Number(before.started_at)),
        end_reason: how.reason,
        ended_by: how.endedBy,
        recording_state: before.recording_state === 'recording' ? (how.status === 'interrupted' ? 'partial' : 'complete') : before.recording_state,
      })
      .where('id', '=', sessionId)
      .where('status', '=', 'active')
      .executeTakeFirst();
    const after = await this.row(sessionId);
    if (Number(res.numUpdatedRows) === 1) {
      for (const hook of this.endedHooks) await hook(after);
    }
    return after;
  }

  /** Marks `interrupted` every active session whose component has not heartbeaten in time. */
  async sweepInterrupted(): Promise<string[]> {
    const cutoff = this.clock.now() - this.opts.heartbeatTimeoutMs;
    const stale = await this.store.db.selectFrom('sessions').select(['id', 'last_heartbeat_at']).where('status', '=', 'active').where('last_heartbeat_at', '<', cutoff).execute();
    const out: string[] = [];
    for (const s of stale) {
      const row = await this.end(s.id, { status: 'interrupted', reason: 'the recording component stopped sending heartbeats', endedBy: null, at: Number(s.last_heartbeat_at) });
      if (row.status === 'interrupted') out.push(s.id);
    }
    return out;
  }

  async touchActivity(sessionId: string, atMs: number): Promise<void> {
    await this.store.db.updateTable('sessions').set({ last_activity_at: atMs }).where('id', '=', sessionId).where('last_activity_at', '<', atMs).execute();
  }
}
