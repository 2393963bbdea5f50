import { randomBytes } from 'node:crypto';
import type { Store } from '../../adapters/store/store.ts';
import type { AgentsTable } from '../../adapters/store/schema.ts';
import type { AgentSettings, AgentStatus, AgentView, LoginAnswer, LoginReport } from '../../protocol/agents.ts';
import type { SessionRecordingSettings } from '../../protocol/settings.ts';
import type { AuditActor, AuditService } from '../audit/audit.service.ts';
import type { Clock } from '../clock.ts';
import { AppError, ConflictError, NotFoundError } from '../errors.ts';
import { hashToken } from '../identity/tokens.ts';
import { newId } from '../ids.ts';
import type { SessionsService } from '../sessions/sessions.service.ts';

/** Enrollment tokens (`vge_`) are one-time; an agent's own credential (`vgn_`) is stored as a hash. */
const agentToken = (prefix: 'vge' | 'vgn'): string => `${prefix}_${randomBytes(32).toString('base64url')}`;
const TOKEN_SHAPE = /^vg[en]_[A-Za-z0-9_-]{20,100}$/;

/** A launched session is joined by a login that appears within this window after the launch. */
export const MATCH_WINDOW_MS = 10 * 60_000;
/** An agent is shown online when it heartbeat within this time. */
export const ONLINE_MS = 90_000;

export class AgentDeactivatedError extends AppError {
  constructor() {
    super(401, 'agent-deactivated', 'this agent has been deactivated; enroll it again with a new token');
  }
}

export interface AgentPrincipal {
  id: string;
  hostName: string;
  addresses: string[];
}

/**
 * Host agents: enrollment with a one-time token, the agent's own credential, heartbeats that carry
 * status out and settings back, deactivation, and logins matched to launched sessions or opened as
 * `host` sessions when *record all sessions* is on.
 */
export class AgentsService {
  /** Agents whose heartbeat claimed another identity, audited once (per server process). */
  private readonly identityWarned = new Set<string>();

  constructor(
    private readonly store: Store,
    private readonly sessions: SessionsService,
    private readonly settings: { get(): Promise<SessionRecordingSettings> },
    private readonly audit: AuditService,
    private readonly clock: Clock,
  ) {}

  async createEnrollmentToken(actor: AuditActor, expiresInMinutes: number): Promise<{ id: string; token: string; expiresAt: number }> {
    const token = agentToken('vge');
    const now = this.clock.now();
    const row = { id: newId(), token_hash: hashToken(token), created_by: actor.name, created_at: now, expires_at: now + expiresInMinutes * 60_000, used_at: null, agent_id: null };
    await this.store.db.insertInto('agent_enrollment_tokens').values(row).execute();
    await this.audit.record({ actor, action: 'agent.enrollment-token.create', target: { type: 'agent-enrollment-token', id: row.id }, details: { expiresAt: row.expires_at } });
    return { id: row.id, token, expiresAt: row.expires_at };
  }

  /** Redeems an enrollment token exactly once and returns the new agent's credential. */
  async enroll(input: { token: string; hostName: string; version: string; addresses: string[] }, ip: string | null): Promise<{ agentId: string; credential: string }> {
    const now = this.clock.now();
    const agentId = newId();
    const res = TOKEN_SHAPE.test(input.token)
      ? await this.store.db
          .updateTable('agent_enrollment_tokens')
          .set({ used_at: now, agent_id: agentId })
          .where('token_hash', '=', hashToken(input.token))
          .where('used_at', 'is', null)
          .where('expires_at', '>', now)
          .executeTakeFirst()
      : { numUpdatedRows: 0n };
    if (Number(res.numUpdatedRows) !== 1) {
      await this.audit.record({ actor: { id: null, name: `agent@${input.hostName}`, ip }, action: 'agent.enroll', outcome: 'failure', details: { hostName: input.hostName, reason: 'unknown, expired or used token' } });
      throw new ConflictError('this enrollment token is unknown, expired or already used; ask an administrator for a new one', 'token');
    }
    const credential = agentToken('vgn');
    await this.store.db
      .insertInto('agents')
      .values({ id: agentId, host_name: input.hostName, version: input.version, credential_hash: hashToken(credential), state: 'active', status: null, addresses: JSON.stringify(input.addresses), enrolled_at: now, last_seen_at: now, deactivated_at: null, deactivated_by: null })
      .execute();
    await this.audit.record({ actor: { id: null, name: `agent@${input.hostName}`, ip }, action: 'agent.enroll', target: { type: 'agent', id: agentId }, details: { hostName: input.hostName, version: input.version } });
    return { agentId, credential };
  }

  /** The agent a credential belongs to; throws `agent-deactivated` for a deactivated one, so it can forget it. */
  async authenticate(credential: string): Promise<AgentPrincipal | null> {
    if (!TOKEN_SHAPE.test(credential) || !credential.startsWith('vgn_')) return null;
    const row = await this.store.db.selectFrom('agents').select(['id', 'host_name', 'addresses', 'state']).where('credential_hash', '=', hashToken(credential)).executeTakeFirst();
    if (!row) return null;
    if (row.state !== 'active') throw new AgentDeactivatedError();
    return { id: row.id, hostName: row.host_name, addresses: parseList(row.addresses) };
  }

  /**
   * Status out, settings back. The host's identity — its name and addresses, which decide the
   * launched sessions its logins join — is what it enrolled as: a heartbeat cannot change it, or
   * an agent on one compromised host could claim another host's sessions (and their recordings).
   * A heartbeat that reports another name or other addresses is audited once per agent and
   * server process; a host that was really renamed or readdressed is enrolled again.
   */
  async heartbeat(agent: AgentPrincipal, hb: { hostName: string; version: string; addresses: string[]; status: AgentStatus }): Promise<AgentSettings> {
    // `agent` is what authenticating this request read from the agents table: the enrolled identity.
    const agentId = agent.id;
    if (!this.identityWarned.has(agentId)) {
      const enrolled = agent.addresses;
      const same = agent.hostName === hb.hostName && enrolled.length === hb.addresses.length && enrolled.every((a) => hb.addresses.includes(a));
      if (!same) {
        this.identityWarned.add(agentId);
        try {
          await this.audit.record({
            actor: { id: null, name: `agent@${agent.hostName}` },
            action: 'agent.identity-mismatch',
            outcome: 'failure',
            target: { type: 'agent', id: agentId },
            details: { enrolledHostName: agent.hostName, enrolledAddresses: enrolled, reportedHostName: hb.hostName, reportedAddresses: hb.addresses },
          });
        } catch (err) {
          this.identityWarned.delete(agentId); // not audited: the next heartbeat tries again
          throw err;
        }
      }
    }
    await this.store.db
      .updateTable('agents')
      .set({ version: hb.version, status: JSON.stringify(hb.status), last_seen_at: this.clock.now() })
      .where('id', '=', agentId)
      .execute();
    return this.agentSettings();
  }

  async agentSettings(): Promise<AgentSettings> {
    const s = await this.settings.get();
    return { enabled: s.enabled, recordAllSessions: s.recordAllSessions, recordKeystrokes: s.recordKeystrokes, inactivityTimeoutMinutes: s.inactivityTimeoutMinutes, maxSessionMinutes: s.maxSessionMinutes };
  }

  async list(): Promise<AgentView[]> {
    const rows = await this.store.db.selectFrom('agents').selectAll().orderBy('host_name').orderBy('enrolled_at').execute();
    return rows.map((r) => this.toView(r));
  }

  async get(id: string): Promise<AgentView> {
    const row = await this.store.db.selectFrom('agents').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) throw new NotFoundError('agent');
    return this.toView(row);
  }

  /** The agent's credential stops working at once; at its next heartbeat it stops and forgets it. */
  async deactivate(id: string, actor: AuditActor): Promise<AgentView> {
    const before = await this.get(id);
    if (before.state === 'active') {
      await this.store.db.updateTable('agents').set({ state: 'deactivated', deactivated_at: this.clock.now(), deactivated_by: actor.name }).where('id', '=', id).where('state', '=', 'active').execute();
      await this.audit.record({ actor, action: 'agent.deactivate', target: { type: 'agent', id }, details: { hostName: before.hostName } });
    }
    return this.get(id);
  }

  /**
   * A login on the agent's host. Idempotent per login key (an agent restart re-reports its
   * logins and gets the same session and a fresh upload credential). Joins a session launched
   * for this host and user; otherwise opens a `host` session when record-all is on.
   */
  async reportLogin(agent: AgentPrincipal, login: LoginReport): Promise<LoginAnswer> {
    const existing = await this.store.db.selectFrom('agent_logins').selectAll().where('agent_id', '=', agent.id).where('login_key', '=', login.key).executeTakeFirst();
    if (existing) {
      if (!existing.session_id) return { session: null, reason: 'record-all-off' };
      const s = await this.sessions.row(existing.session_id);
      return { session: { id: s.id, held: existing.held === 1, uploadToken: await this.sessions.issueUploadCredential(s.id), startedAt: Number(s.started_at), recordKeystrokes: s.record_keystrokes === 1, media: s.media }, reason: null };
    }
    const settings = await this.settings.get();
    const hosts = [...new Set([agent.hostName, ...agent.addresses])];
    let session = await this.sessions.findLaunchedForLogin({ hosts, user: login.user, sinceMs: MATCH_WINDOW_MS, remoteAddress: login.remoteAddress, remotePort: login.remotePort });
    let held = false;
    let reason: string | null = null;
    if (!session && settings.enabled && settings.recordAllSessions) {
      session = await this.sessions.open({
        kind: 'host', component: 'agent', user: { id: null, name: login.user }, secret: null,
        target: { host: agent.hostName, user: login.user }, clientAddress: login.remoteAddress, nodeId: null, media: 'cast',
        recording: { video: true, keystrokes: true },
      });
      held = true;
    } else if (!session) {
      reason = settings.enabled ? 'record-all-off' : 'recording-off';
    }
    const now = this.clock.now();
    const inserted = await this.store.db
      .insertInto('agent_logins')
      .values({ agent_id: agent.id, login_key: login.key, session_id: session?.id ?? null, held: held ? 1 : 0, user_name: login.user, tty: login.tty, remote_address: login.remoteAddress, created_at: now, ended_at: null })
      .onConflict((oc) => oc.columns(['agent_id', 'login_key']).doNothing())
      .executeTakeFirst();
    if (Number(inserted.numInsertedOrUpdatedRows ?? 0n) !== 1) {
      // A concurrent report of the same login won: answer with its session.
      if (held && session) await this.sessions.end(session.id, { status: 'ended', reason: 'duplicate login report', endedBy: 'vigil' });
      return this.reportLogin(agent, login);
    }
    if (!session) return { session: null, reason };
    if (held) {
      await this.audit.record({ actor: { id: null, name: `agent@${agent.hostName}` }, action: 'session.detect', target: { type: 'session', id: session.id }, details: { user: login.user, tty: login.tty, remoteAddress: login.remoteAddress } });
    }
    return { session: { id: session.id, held, uploadToken: await this.sessions.issueUploadCredential(session.id), startedAt: Number(session.started_at), recordKeystrokes: session.record_keystrokes === 1, media: session.media }, reason: null };
  }

  private toView(r: AgentsTable): AgentView {
    const lastSeen = Number(r.last_seen_at);
    return {
      id: r.id, hostName: r.host_name, version: r.version, state: r.state,
      online: r.state === 'active' && this.clock.now() - lastSeen < ONLINE_MS,
      status: r.status ? (JSON.parse(r.status) as AgentStatus) : null,
      addresses: parseList(r.addresses), enrolledAt: Number(r.enrolled_at), lastSeenAt: lastSeen,
      deactivatedAt: r.deactivated_at === null ? null : Number(r.deactivated_at), deactivatedBy: r.deactivated_by,
    };
  }
}

function parseList(s: string | null): string[] {
  if (!s) return [];
  const v: unknown = JSON.parse(s);
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}
