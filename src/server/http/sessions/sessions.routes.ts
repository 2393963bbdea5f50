import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Store } from '../../../adapters/store/store.ts';
import { actorOf, type AuditService } from '../../../core/audit/audit.service.ts';
import { AppError, ForbiddenError, NotFoundError, TooManyRequestsError } from '../../../core/errors.ts';
import { parseRange, type RecordingReader } from '../../../core/recording/recording-reader.ts';
import type { SecretsService } from '../../../core/secrets/secrets.service.ts';
import { canPlay, inScope, sessionScope } from '../../../core/sessions/session-access.ts';
import type { SessionsService } from '../../../core/sessions/sessions.service.ts';
import { toSessionView } from '../../../core/sessions/session-view.ts';
import { idParams } from '../../../protocol/common.ts';
import { RateLimiter } from '../rate-limit.ts';
import type { LaunchPolicy } from '../../../protocol/launch.ts';
import type { SessionRecordingSettings } from '../../../protocol/settings.ts';
import { route } from '../route.ts';
import { viewingAudit } from './viewing-audit.ts';

const recordingQuery = z.object({ format: z.enum(['cast', 'webm', 'mp4']).optional(), download: z.enum(['0', '1']).optional() }).strict();

export function registerSessionsRoutes(
  app: FastifyInstance,
  deps: { store: Store; sessions: SessionsService; secrets: SecretsService; reader: RecordingReader; audit: AuditService; settings: { get(): Promise<SessionRecordingSettings> }; redeemFailures?: RateLimiter },
): void {
  const redeemFailures = deps.redeemFailures ?? new RateLimiter(20, 60_000);
  route(app, {
    method: 'POST',
    url: '/api/v1/secrets/:id/launch',
    access: 'authenticated',
    params: idParams,
    status: 201,
    handler: async ({ params, principal, ip }) => {
      // Not being allowed to launch looks the same as the secret not existing.
      if (!(await deps.secrets.canLaunch(principal, params.id))) throw new NotFoundError('secret');
      const secret = await deps.secrets.get(principal, params.id);
      const session = await deps.sessions.open({
        kind: secret.kind === 'ssh' ? 'ssh' : 'desktop',
        component: 'launcher',
        user: { id: principal.userId, name: principal.username },
        secret: { id: secret.id, name: secret.name, recording: secret.recording },
        target: { host: secret.host, user: secret.username },
        clientAddress: ip,
        // The launcher holds this session (heartbeats over HTTP), not this node: a node that dies
        // must not take it down. Only sessions a node holds in-process carry its id.
        nodeId: null,
        media: 'webm',
      });
      const grant = await deps.sessions.createLaunchGrant(session.id);
      await deps.audit.record({ actor: actorOf(principal, ip), action: 'session.launch', target: { type: 'session', id: session.id }, details: { secret: secret.name, recording: session.record_video === 1 } });
      return { session: toSessionView(session), grant: grant.grant, expiresAt: grant.expiresAt };
    },
  });

  route(app, {
    method: 'POST',
    url: '/api/v1/launch-grants/redeem',
    access: 'public',
    body: z.object({ grant: z.string().min(10).max(200) }).strict(),
    handler: async ({ body, ip }) => {
      // The grant is the credential here: an address that keeps presenting wrong, used or expired
      // grants is stopped before it can guess (legitimate launchers redeem once and succeed).
      if (redeemFailures.exhausted(ip)) throw new TooManyRequestsError('too many failed grant redemptions from this address; wait a minute');
      let redeemed;
      try {
        redeemed = await deps.sessions.redeemLaunchGrant(body.grant);
      } catch (err) {
        redeemFailures.hit(ip);
        throw err;
      }
      const { session, uploadToken } = redeemed;
      const actor = { id: session.user_id, name: session.username, ip };
      await deps.audit.record({ actor, action: 'session.grant-redeem', target: { type: 'session', id: session.id } });
      const secretId = session.secret_id!;
      const secret = await deps.secrets.adminView(secretId);
      if (secret.kind === 'ssh') {
        // An SSH secret is opened through the SSH proxy, which logs in for the user: its password
        // or key never reaches the user's machine. (A desktop secret with an `ssh` launcher is an
        // administrator's explicit choice to hand the credential to the launcher.)
        const reason = "an SSH secret is opened through Vigil's SSH proxy (ssh -p <ssh port> <your user>:<secret>@<vigil host>); its credential is not handed to a launcher";
        await deps.audit.record({ actor, action: 'secret.credential-handout', outcome: 'failure', target: { type: 'secret', id: secretId }, details: { session: session.id, to: 'launcher', reason: 'ssh secret' } });
        await deps.sessions.end(session.id, { status: 'ended', reason: 'an SSH secret cannot be opened by a launcher', endedBy: null });
        throw new ForbiddenError(reason);
      }
      const credential = await deps.secrets.revealCredential(secretId);
      await deps.audit.record({ actor, action: 'secret.credential-handout', target: { type: 'secret', id: secretId }, details: { session: session.id, to: 'launcher' } });
      // The launcher's upload credential cannot read the settings: it gets what it enforces here.
      const settings = await deps.settings.get();
      const policy: LaunchPolicy = { videoCodec: settings.videoCodec, inactivityTimeoutMinutes: settings.inactivityTimeoutMinutes, maxSessionMinutes: settings.maxSessionMinutes, failClosedSeconds: settings.failClosedSeconds };
      return {
        session: toSessionView(session),
        uploadToken,
        target: { host: secret.host, port: secret.port, username: secret.username, credential },
        launcher: secret.launcher,
        recording: { video: session.record_video === 1, keystrokes: session.record_keystrokes === 1 },
        policy,
      };
    },
  });

  route(app, {
    method: 'GET',
    url: '/api/v1/sessions/:id',
    access: 'authenticated',
    params: idParams,
    handler: async ({ params, principal }) => {
      const view = await deps.sessions.view(params.id);
      if (!inScope(await sessionScope(deps.store, principal), view.secret.id)) throw new NotFoundError('session');
      return view;
    },
  });

  route(app, {
    method: 'GET',
    url: '/api/v1/sessions/:id/recording',
    access: 'authenticated',
    params: idParams,
    query: recordingQuery,
    handler: async ({ params, query, principal, ip, req, reply }) => {
      const row = await deps.sessions.row(params.id);
      if (!(await canPlay(deps.store, principal, row.secret_id))) throw new NotFoundError('session');
      const format = query.format ?? (row.media === 'webm' ? 'webm' : 'cast');
      const media = await deps.reader.open(params.id, format);
      const range = parseRange(req.headers.range, media.size);
      if (range === 'invalid') {
        reply.header('content-range', `bytes */${media.size}`);
        throw new AppError(416, 'range-not-satisfiable', `range ${req.headers.range} is outside the recording's ${media.size} bytes`);
      }
      // Every request, whatever its Range: one entry per viewing (see ViewingAudit).
      await viewingAudit(deps.audit).record(actorOf(principal, ip), query.download === '1' ? 'recording.download' : 'recording.view', params.id, { format });
      reply.header('accept-ranges', 'bytes').header('content-type', media.contentType).header('cache-control', 'private, no-store');
      if (query.download === '1') reply.header('content-disposition', `attachment; filename="session-${params.id}.${format}"`);
      if (media.size === 0) return reply.code(200).header('content-length', '0').send('');
      const { start, end } = range ?? { start: 0, end: media.size - 1 };
      if (range) reply.code(206).header('content-range', `bytes ${start}-${end}/${media.size}`);
      reply.header('content-length', String(end - start + 1));
      return reply.send(Readable.from(media.read(start, end)));
    },
  });
}
