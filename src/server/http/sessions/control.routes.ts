import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { WebSocket } from 'ws';
import { z } from 'zod';
import type { Json, Subscription } from '../../../adapters/bus/bus.ts';
import type { Store } from '../../../adapters/store/store.ts';
import { actorOf, type AuditService } from '../../../core/audit/audit.service.ts';
import { ForbiddenError, NotFoundError } from '../../../core/errors.ts';
import { inScope, sessionScope } from '../../../core/sessions/session-access.ts';
import type { SessionControl } from '../../../core/sessions/session-control.ts';
import type { SessionsService } from '../../../core/sessions/sessions.service.ts';
import { idParams } from '../../../protocol/common.ts';
import { parseWith } from '../validate.ts';
import { route } from '../route.ts';

const messageBody = z.object({ text: z.string().trim().min(1).max(2000) }).strict();
const terminateBody = z.object({ message: z.string().trim().max(2000).optional() }).strict();
const componentFrame = z.object({ type: z.literal('live'), message: z.record(z.unknown()) }).strict();

/** Browsers send Origin on WebSocket upgrades; refuse other sites (cross-site WebSocket hijacking). */
function assertSameOrigin(req: FastifyRequest): void {
  const origin = req.headers.origin;
  if (origin && new URL(origin).host !== req.headers.host) throw new ForbiddenError('WebSocket from another origin');
}

/** Forwards bus messages to a socket until either side closes. */
function pipeToSocket(socket: WebSocket, subscribe: (send: (m: Json) => void) => Promise<Subscription>, log: FastifyRequest['log']): void {
  let sub: Subscription | undefined;
  let closed = false;
  socket.on('close', () => {
    closed = true;
    void sub?.unsubscribe();
  });
  subscribe((m) => {
    if (socket.readyState === socket.OPEN) socket.send(JSON.stringify(m));
  }).then(
    (s) => {
      sub = s;
      if (closed) void s.unsubscribe();
    },
    (err: unknown) => {
      log.error({ err }, 'live subscription failed');
      socket.close(1011, 'live stream unavailable');
    },
  );
}

export function registerControlRoutes(app: FastifyInstance, deps: { store: Store; sessions: SessionsService; control: SessionControl; audit: AuditService }): void {
  const visible = async (req: FastifyRequest, id: string) => {
    const row = await deps.sessions.row(id);
    if (!inScope(await sessionScope(deps.store, req.principal!), row.secret_id)) throw new NotFoundError('session');
    return row;
  };

  route(app, {
    method: 'POST',
    url: '/api/v1/sessions/:id/message',
    access: 'session-monitoring.administer',
    params: idParams,
    body: messageBody,
    status: 202,
    handler: async ({ params, body, principal, ip }) => {
      await deps.control.message(params.id, body.text, actorOf(principal, ip));
      return { delivered: true };
    },
  });

  route(app, {
    method: 'POST',
    url: '/api/v1/sessions/:id/terminate',
    access: 'session-monitoring.administer',
    params: idParams,
    body: terminateBody,
    status: 202,
    handler: async ({ params, body, principal, ip }) => {
      await deps.control.terminate(params.id, body.message ?? null, actorOf(principal, ip));
      return { status: 'terminated' };
    },
  });

  app.get('/api/v1/sessions/:id/live', { websocket: true, config: { access: 'session-monitoring.view' } }, (socket, req) => {
    void (async () => {
      try {
        assertSameOrigin(req);
        const { id } = parseWith(idParams, req.params, 'path');
        const row = await visible(req, id);
        await deps.audit.record({ actor: actorOf(req.principal!, req.ip), action: 'session.watch', target: { type: 'session', id } });
        socket.send(JSON.stringify({ type: 'hello', session: id, status: row.status, kind: row.kind, media: row.media }));
        if (row.status !== 'active') {
          socket.close(1000, 'session is not active');
          return;
        }
        pipeToSocket(socket, (send) => deps.control.watch(id, send), req.log);
      } catch (err) {
        socket.close(1008, err instanceof Error ? err.message.slice(0, 100) : 'refused');
      }
    })();
  });

  // The holder's side: control messages down, live frames up (launchers and agents over HTTP).
  app.get('/api/v1/ingest/sessions/:id/control', { websocket: true, config: { access: 'component' } }, (socket, req) => {
    const { id } = req.params as { id: string };
    pipeToSocket(socket, (send) => deps.control.subscribeControl(id, (m) => send(m)), req.log);
    socket.on('message', (raw: Buffer) => {
      try {
        const frame = parseWith(componentFrame, JSON.parse(raw.toString()), 'frame');
        void deps.control.publishLive(id, frame.message as Json);
      } catch {
        socket.send(JSON.stringify({ type: 'error', message: 'frames are {"type":"live","message":{…}}' }));
      }
    });
  });
}
