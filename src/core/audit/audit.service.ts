import type { Store } from '../../adapters/store/store.ts';
import type { Clock } from '../clock.ts';
import type { Principal } from '../permissions.ts';

export interface AuditActor {
  id: string | null;
  name: string | null;
  ip?: string | null;
  /** How the actor authenticated; actions taken with an API token say so in the entry. */
  via?: Principal['via'];
}

/** The audit actor for a signed-in caller. */
export const actorOf = (p: Principal, ip: string | null): AuditActor => ({ id: p.userId, name: p.username, ip, via: p.via });

export interface AuditInput {
  actor: AuditActor;
  action: string;
  target?: { type: string; id: string | null };
  outcome?: 'success' | 'failure';
  details?: Record<string, unknown>;
}

export interface AuditEntry {
  id: number;
  at: number;
  actor: { id: string | null; name: string | null };
  action: string;
  target: { type: string; id: string | null } | null;
  outcome: 'success' | 'failure';
  ip: string | null;
  details: Record<string, unknown> | null;
}

export interface AuditQuery {
  actor?: string;
  action?: string;
  targetType?: string;
  targetId?: string;
  outcome?: 'success' | 'failure';
  from?: number;
  to?: number;
  cursor?: number;
  limit: number;
}

/** Append-only record of who did what. Entries never hold credentials or keystroke text. */
export class AuditService {
  constructor(private readonly store: Store, private readonly clock: Clock) {}

  async record(e: AuditInput): Promise<void> {
    await this.store.db
      .insertInto('audit_log')
      .values({
        at: this.clock.now(),
        actor_id: e.actor.id,
        actor_name: e.actor.name,
        action: e.action,
        target_type: e.target?.type ?? null,
        target_id: e.target?.id ?? null,
        outcome: e.outcome ?? 'success',
        ip: e.actor.ip ?? null,
        details: this.details(e),
      })
      .execute();
  }

  private details(e: AuditInput): string | null {
    const d = e.actor.via === 'api-token' ? { ...e.details, via: 'api-token' } : e.details;
    return d ? JSON.stringify(d) : null;
  }

  /** Newest first; `nextCursor` pages on toward older entries. */
  async list(q: AuditQuery): Promise<{ items: AuditEntry[]; nextCursor: string | null }> {
    let query = this.store.db.selectFrom('audit_log').selectAll();
    if (q.actor) query = query.where((eb) => eb.or([eb('actor_id', '=', q.actor!), eb('actor_name', '=', q.actor!)]));
    if (q.action) query = q.action.endsWith('.*') ? query.where('action', 'like', `${q.action.slice(0, -1)}%`) : query.where('action', '=', q.action);
    if (q.targetType) query = query.where('target_type', '=', q.targetType);
    if (q.targetId) query = query.where('target_id', '=', q.targetId);
    if (q.outcome) query = query.where('outcome', '=', q.outcome);
    if (q.from !== undefined) query = query.where('at', '>=', q.from);
    if (q.to !== undefined) query = query.where('at', '<', q.to);
    if (q.cursor !== undefined) query = query.where('id', '<', q.cursor);
    const rows = await query.orderBy('id', 'desc').limit(q.limit + 1).execute();
    const page = rows.slice(0, q.limit);
    return {
      items: page.map((r) => ({
        id: Number(r.id),
        at: Number(r.at),
        actor: { id: r.actor_id, name: r.actor_name },
        action: r.action,
        target: r.target_type ? { type: r.target_type, id: r.target_id } : null,
        outcome: r.outcome,
        ip: r.ip,
        details: r.details ? (JSON.parse(r.details) as Record<string, unknown>) : null,
      })),
      nextCursor: rows.length > q.limit ? String(page[page.length - 1]!.id) : null,
    };
  }
}
