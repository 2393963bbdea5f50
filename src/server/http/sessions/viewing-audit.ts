import type { AuditActor, AuditService } from '../../../core/audit/audit.service.ts';

/** How long one audited viewing covers the same person's further requests for the same recording. */
export const VIEWING_WINDOW_MS = 10 * 60_000;

type ViewingAction = 'recording.view' | 'recording.download';

/**
 * One audit entry per viewing rather than per HTTP request: a player makes many Range requests
 * while it seeks, and the index, the keyframes and the media are separate URLs. Every request
 * passes through here — whatever its Range — and the first one of a viewing (below) within
 * VIEWING_WINDOW_MS writes the entry, so no way of reading a recording (a Range that skips its
 * first byte, the keyframes alone, an API token from another address) goes unaudited; a request
 * is served only once its entry is written. Per node: in a cluster each node that serves a
 * viewing writes its own entry.
 */
export class ViewingAudit {
  /** When each viewing was recorded, or the write still in flight (its requests wait for it). */
  private readonly last = new Map<string, { at: number; written: Promise<void> }>();

  constructor(
    private readonly audit: AuditService,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Resolves once the viewing this request belongs to is audited; rejects when that entry could
   * not be written, so the caller serves nothing unaudited. A viewing is one person (and the way
   * they signed in), from one address, reading one recording in one format for one action.
   */
  record(actor: AuditActor, action: ViewingAction, sessionId: string, details: { format: string } & Record<string, unknown>): Promise<void> {
    const key = JSON.stringify([actor.id ?? `name:${actor.name ?? ''}`, actor.via ?? null, actor.ip ?? null, sessionId, action, details.format]);
    const t = this.now();
    const prev = this.last.get(key);
    if (prev && t - prev.at < VIEWING_WINDOW_MS) return prev.written;
    const entry = { at: t, written: this.audit.record({ actor, action, target: { type: 'session', id: sessionId }, details }) };
    this.last.set(key, entry); // before the write: the concurrent requests of one player wait for it
    entry.written.catch(() => {
      if (this.last.get(key) === entry) this.last.delete(key); // not recorded: the next request writes it
    });
    if (this.last.size > 10_000) {
      for (const [k, v] of this.last) if (t - v.at >= VIEWING_WINDOW_MS) this.last.delete(k);
    }
    return entry.written;
  }
}

const perAudit = new WeakMap<AuditService, ViewingAudit>();

/** The ViewingAudit of this audit service: the routes that read a recording share one. */
export function viewingAudit(audit: AuditService): ViewingAudit {
  let v = perAudit.get(audit);
  if (!v) perAudit.set(audit, (v = new ViewingAudit(audit)));
  return v;
}
