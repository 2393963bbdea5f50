import type { Bus, Json, Subscription } from '../../adapters/bus/bus.ts';
import type { Store } from '../../adapters/store/store.ts';
import type { AuditActor, AuditService } from '../audit/audit.service.ts';
import type { Clock } from '../clock.ts';
import { ConflictError } from '../errors.ts';
import { appendSessionText } from '../search/session-text.ts';
import type { SessionsService } from './sessions.service.ts';

/** Bus topics of one session: control goes to whichever component holds it; live goes to viewers. */
export const controlTopic = (sessionId: string): string => `session.${sessionId}.control`;
export const liveTopic = (sessionId: string): string => `session.${sessionId}.live`;

/**
 * Control messages on `session.<id>.control`:
 *   {type:'message', text, by}            show `text` to the user; the session continues
 *   {type:'terminate', reason, by, at}    (at: ms from the session's start, when it ended) tell the user, end the session's programs, finalise
 *   {type:'snapshot-request'}             a viewer joined: publish the current screen on the live topic
 * Live messages on `session.<id>.live`: {type:'output', data (base64), at} · {type:'snapshot', …}
 * · {type:'media', seq, data} · {type:'end', status}. Holders may add fields; viewers ignore unknown types.
 */
export type ControlMessage =
  | { type: 'message'; text: string; by: string }
  | { type: 'terminate'; reason: string | null; by: string; at?: number }
  | { type: 'snapshot-request' };

export class SessionControl {
  constructor(
    private readonly store: Store,
    private readonly bus: Bus,
    private readonly sessions: SessionsService,
    private readonly audit: AuditService,
    private readonly clock: Clock,
  ) {}

  async message(sessionId: string, text: string, actor: AuditActor): Promise<void> {
    const s = await this.sessions.row(sessionId);
    if (s.status !== 'active') throw new ConflictError(`the session is ${s.status}; messages reach active sessions only`);
    await this.bus.publish(controlTopic(sessionId), { type: 'message', text, by: actor.name ?? 'administrator' });
    await this.serverEvent(sessionId, 'message', text, { by: actor.name });
    await this.audit.record({ actor, action: 'session.message', target: { type: 'session', id: sessionId }, details: { length: text.length } });
  }

  async terminate(sessionId: string, reason: string | null, actor: AuditActor): Promise<void> {
    const s = await this.sessions.row(sessionId);
    if (s.status !== 'active') throw new ConflictError(`the session is already ${s.status}`);
    // The session ends now: its holder hears of it a moment later (a loaded bus or a slow
    // WebSocket), so the message carries the end time and the recording stops there too.
    const endedAt = this.clock.now();
    const at = Math.max(0, endedAt - Number(s.started_at));
    await this.bus.publish(controlTopic(sessionId), { type: 'terminate', reason, by: actor.name ?? 'administrator', at });
    await this.serverEvent(sessionId, 'terminate', reason ?? '', { by: actor.name }, at);
    await this.sessions.end(sessionId, { status: 'terminated', reason: reason ?? 'terminated by an administrator', endedBy: actor.name, at: endedAt });
    await this.bus.publish(liveTopic(sessionId), { type: 'end', status: 'terminated' });
    await this.audit.record({ actor, action: 'session.terminate', target: { type: 'session', id: sessionId }, details: { reason } });
  }

  /** Forwards a session's live stream to `onMessage`, asking its holder for the current screen first. */
  async watch(sessionId: string, onMessage: (m: Json) => void): Promise<Subscription> {
    const sub = await this.bus.subscribe(liveTopic(sessionId), (m) => onMessage(m));
    await this.bus.publish(controlTopic(sessionId), { type: 'snapshot-request' });
    return sub;
  }

  /** Delivers control messages to the component holding the session. */
  subscribeControl(sessionId: string, onMessage: (m: ControlMessage) => void): Promise<Subscription> {
    return this.bus.subscribe(controlTopic(sessionId), (m) => onMessage(m as ControlMessage));
  }

  publishLive(sessionId: string, message: Json): Promise<void> {
    return this.bus.publish(liveTopic(sessionId), message);
  }

  /** Messages and terminations appear in the activity grid (source `server`). */
  private async serverEvent(sessionId: string, type: 'message' | 'terminate', text: string, details: Record<string, unknown>, atMs?: number): Promise<void> {
    const s = await this.sessions.row(sessionId);
    const at = atMs ?? Math.max(0, this.clock.now() - Number(s.started_at));
    await this.store.db.transaction().execute(async (tx) => {
      const last = await tx.selectFrom('activity_events').select((eb) => eb.fn.max('seq').as('max')).where('session_id', '=', sessionId).where('source', '=', 'server').executeTakeFirst();
      const seq = last?.max === null || last?.max === undefined ? 0 : Number(last.max) + 1;
      await tx.insertInto('activity_events').values({ session_id: sessionId, source: 'server', seq, at_ms: at, type, text, details: JSON.stringify(details) }).execute();
      await appendSessionText(tx, this.store.dialect, [{ session_id: sessionId, source: 'server', seq, type, text }]);
    });
  }
}
