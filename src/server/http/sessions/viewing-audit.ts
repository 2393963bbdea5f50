import type { AuditActor, AuditService } from '../../../core/audit/audit.service.ts';

/** How long one audited viewing covers the same person's further requests for the same recording. */
export const VIEWING_WINDOW_MS = 10 * 60_000;

type ViewingAction = 'recording.view' | 'recording.download';

/**
 * One audit entry per viewing rather than per HTTP request: a player makes many Range requests
 * while it seeks, and the index, the keyframes and the media are separate URLs. Every request
 * passes through here — whatever its Range — and the first one of a person, a recording and an
 * action within VIEWING_WINDOW_MS writes the entry, so no way of reading a recording (a Range that
 * skips its first byte, the keyframes alone) goes unaudited. Per node: in a cluster each node that
 * serves a viewing writes its own entry.
 */
export class ViewingAudit {
  private readonly last = new Map<string, number>();

  constructor(
    private readonly audit: AuditService,
    private readonly now: () => number = Date.now,
  ) {}

  async record(actor: AuditActor, action: ViewingAction, sessionId: string, details: Record<string, unknown>): Promise<void> {
    const key = `${actor.id ?? `name:${actor.name ?? ''}`}\n${sessionId}\n${action}`;
    const t = this.now();
    const prev = this.last.get(key);
    if (prev !== undefined && t - prev < VIEWING_WINDOW_MS) return;
    this.last.set(key, t); // before the write: concurrent requests of one player make one entry
    try {
      await this.audit.record({ actor, action, target: { type: 'session', id: sessionId }, details });
    } catch (err) {
      if (this.last.get(key) === t) this.last.delete(key); // not recorded: the next request tries again
      throw err;
    }
    if (this.last.size > 10_000) {
      for (const [k, at] of this.last) if (t - at >= VIEWING_WINDOW_MS) this.last.delete(k);
    }
  }
}

const perAudit = new WeakMap<AuditService, ViewingAudit>();

/** The ViewingAudit of this audit service: the routes that read a recording share one. */
export function viewingAudit(audit: AuditService): ViewingAudit {
  let v = perAudit.get(audit);
  if (!v) perAudit.set(audit, (v = new ViewingAudit(audit)));
  return v;
}
