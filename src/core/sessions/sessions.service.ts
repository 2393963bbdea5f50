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
  /** SSH proxy: the local end of its connection to the target. */
  targetSource?: { address: string; port: number } | null;
  /** Media this component will upload when recording: cast (terminal) or webm (desktop). */
  media: 'cast' | 'webm' | null;
  /** Recording flags of a session without a secret (agent `host` sessions); a secret's flags win. */
  recording?: { video: boolean; keystrokes: boolean };
}

export interface SessionsOptions {
  /** A session whose component has not heartbeaten for this long is interrupted. */
  heartbeatTimeoutMs: number;
  /**
   * A session held in-process by a server node (SSH proxy; `node_id` set) is interrupted once that
   * node's cluster beat is older than this, or the node stopped — much sooner than the per-session
   * heartbeat timeout. Unset: only per-session heartbeats count.
   */
  nodeSilentAfterMs?: number;
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
    private readonly opts: SessionsOptions = { heartbeatTimeoutMs: 60_000 },
  ) {}

  /** Runs after a session ends for any reason (finalise media, notify viewers). */
  onEnded(hook: SessionEndedHook): void {
    this.endedHooks.push(hook);
  }

  async open(input: OpenSessionInput): Promise<SessionRow> {
    const s = await this.settings.get();
    const flags = input.secret?.recording ?? input.recording;
    const recording = s.enabled && !!flags?.video;
    const keystrokes = s.enabled && s.recordKeystrokes && !!flags?.keystrokes;
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
      target_source_address: input.targetSource ? plainAddress(input.targetSource.address) : null,
      target_source_port: input.targetSource?.port ?? null,
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
    // A component's `at` comes from its own clock: never after now, never before the start.
    const now = this.clock.now();
    const before = await this.row(sessionId);
    const at = Math.max(Number(before.started_at), Math.min(how.at ?? now, now));
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

  /**
   * Marks `interrupted` every active session whose holder is gone: its server node stopped beating
   * (see ClusterNodes) or its component has not heartbeaten in time. Safe to run on every node at
   * once: ending is a conditional update, so each session ends once.
   */
  async sweepInterrupted(which: { byNode: boolean; byHeartbeat: boolean } = { byNode: true, byHeartbeat: true }): Promise<string[]> {
    const now = this.clock.now();
    const out: string[] = [];
    if (which.byNode && this.opts.nodeSilentAfterMs !== undefined) {
      const nodeCutoff = now - this.opts.nodeSilentAfterMs;
      const orphaned = await this.store.db
        .selectFrom('sessions')
        .innerJoin('cluster_nodes', 'cluster_nodes.id', 'sessions.node_id')
        .select(['sessions.id as id', 'sessions.last_heartbeat_at as lastHeartbeat', 'cluster_nodes.id as node', 'cluster_nodes.hostname as host', 'cluster_nodes.last_seen_at as lastSeen'])
        .where('sessions.status', '=', 'active')
        .where((eb) => eb.or([eb('cluster_nodes.last_seen_at', '<', nodeCutoff), eb('cluster_nodes.stopped_at', 'is not', null)]))
        .execute();
      for (const s of orphaned) {
        const at = Math.max(Number(s.lastHeartbeat), Number(s.lastSeen));
        const row = await this.end(s.id, { status: 'interrupted', reason: `the Vigil node holding the session (${s.host}, ${s.node}) stopped answering`, endedBy: null, at: Math.min(at, now) });
        if (row.status === 'interrupted') out.push(s.id);
      }
    }
    if (!which.byHeartbeat) return out;
    const cutoff = now - this.opts.heartbeatTimeoutMs;
    const stale = await this.store.db.selectFrom('sessions').select(['id', 'last_heartbeat_at']).where('status', '=', 'active').where('last_heartbeat_at', '<', cutoff).execute();
    for (const s of stale) {
      const row = await this.end(s.id, { status: 'interrupted', reason: 'the recording component stopped sending heartbeats', endedBy: null, at: Number(s.last_heartbeat_at) });
      if (row.status === 'interrupted') out.push(s.id);
    }
    return out;
  }

  /**
   * The session a login on a target host belongs to: active, launched within `sinceMs` for one of
   * the host's names/addresses and the login's user, not held by an agent and not yet joined by
   * another login. The oldest such session wins (logins follow launches in order).
   */
  /**
   * The launched session a host login belongs to. An SSH proxy session whose connection to the
   * target left from the login's client address and port (SSH_CLIENT) is it, exactly, even with
   * several sessions to the same host and user. Otherwise the oldest recent session for this
   * host and user that no login joined yet — but not a proxy session that reached the target
   * from the login's client address on another port: that one is another connection.
   */
  async findLaunchedForLogin(q: { hosts: string[]; user: string; sinceMs: number; remoteAddress?: string | null; remotePort?: number | null }): Promise<SessionRow | undefined> {
    if (q.hosts.length === 0) return undefined;
    const candidates = this.store.db
      .selectFrom('sessions')
      .selectAll()
      .where('status', '=', 'active')
      .where('component', '!=', 'agent')
      .where('target_host', 'in', q.hosts)
      .where('target_user', '=', q.user)
      .where('started_at', '>=', this.clock.now() - q.sinceMs)
      .where(({ not, exists, selectFrom }) => not(exists(selectFrom('agent_logins').select('login_key').whereRef('agent_logins.session_id', '=', 'sessions.id'))))
      .orderBy('started_at')
      .limit(1);
    const address = q.remoteAddress ? plainAddress(q.remoteAddress) : null;
    if (!address || !q.remotePort) return candidates.executeTakeFirst();
    const exact = await candidates.where('target_source_address', '=', address).where('target_source_port', '=', q.remotePort).executeTakeFirst();
    if (exact) return exact;
    return candidates.where((eb) => eb.or([eb('target_source_address', 'is', null), eb('target_source_address', '!=', address)])).executeTakeFirst();
  }

  async touchActivity(sessionId: string, atMs: number): Promise<void> {
    await this.store.db.updateTable('sessions').set({ last_activity_at: atMs }).where('id', '=', sessionId).where('last_activity_at', '<', atMs).execute();
  }
}

/** An IPv4 address without its IPv6-mapped prefix, so both ends of a connection spell it alike. */
function plainAddress(a: string): string {
  return a.startsWith('::ffff:') && a.includes('.') ? a.slice(7) : a;
}
