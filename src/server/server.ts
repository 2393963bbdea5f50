import type { FastifyInstance } from 'fastify';
import { openBus } from '../adapters/bus/open-bus.ts';
import type { Bus } from '../adapters/bus/bus.ts';
import { createLogger, type Logger } from '../adapters/log/logger.ts';
import { parsePublicKey } from '../adapters/ssh/public-key.ts';
import { openStore } from '../adapters/store/open-store.ts';
import type { Store } from '../adapters/store/store.ts';
import { SERVER_ROLES, type Config, type ServerRole } from '../config.ts';
import { AuditService } from '../core/audit/audit.service.ts';
import { systemClock, type Clock } from '../core/clock.ts';
import { AuthService } from '../core/identity/auth.service.ts';
import { RolesService } from '../core/identity/roles.service.ts';
import { BusIngest } from '../core/recording/bus-ingest.ts';
import { SshKeysService } from '../core/identity/ssh-keys.service.ts';
import { UsersService } from '../core/identity/users.service.ts';
import { buildApp } from './http/app.ts';
import { loadMasterKey } from '../adapters/crypto/master-key.ts';
import { checkWritableDir } from '../adapters/fs/writable-dir.ts';
import { validatePrivateKey } from '../adapters/ssh/private-key.ts';
import { SecretsService } from '../core/secrets/secrets.service.ts';
import { SettingsService } from '../core/settings/settings.service.ts';
import { registerSecretsRoutes } from './http/secrets/secrets.routes.ts';
import { registerSettingsRoutes } from './http/settings/settings.routes.ts';
import { SettingsBlobStores } from '../adapters/blobs/blob-stores.ts';
import { IngestService } from '../core/recording/ingest.service.ts';
import { RecordingReader } from '../core/recording/recording-reader.ts';
import { SessionsService } from '../core/sessions/sessions.service.ts';
import { RetentionService } from '../core/recording/retention.ts';
import { registerIngestRoutes } from './http/ingest/ingest.routes.ts';
import { registerSessionsRoutes } from './http/sessions/sessions.routes.ts';
import { registerRecordingIndexRoutes } from './http/sessions/recording-index.routes.ts';
import { CastIndexService } from '../core/recording/cast-index.service.ts';
import { CastIndexWorker } from '../core/recording/cast-index-worker.ts';
import { RecordingFiles } from '../core/recording/recording-files.ts';
import { registerControlRoutes } from './http/sessions/control.routes.ts';
import { registerSearchRoutes } from './http/sessions/search.routes.ts';
import { registerWebRoutes, WEB_DIST_DIR } from './http/web/web.routes.ts';
import { registerSshRoutes } from './http/ssh/ssh.routes.ts';
import { SshProxy } from '../ssh-proxy/ssh-proxy.ts';
import { FfmpegTranscoder } from '../adapters/media/ffmpeg-transcoder.ts';
import { VideoProcessing } from '../core/recording/video-processing.ts';
import { registerProcessingRoutes } from './http/sessions/processing.routes.ts';
import path from 'node:path';
import { syncClusterHostKey } from '../core/cluster/shared-host-key.ts';
import { SessionSearch } from '../core/search/session-search.ts';
import { ActivityService } from '../core/search/activity.ts';
import { SessionControl } from '../core/sessions/session-control.ts';
import os from 'node:os';
import { randomBytes } from 'node:crypto';
import { registerAuditRoutes } from './http/audit/audit.routes.ts';
import { registerAuthRoutes } from './http/auth/auth.routes.ts';
import { HttpMetrics } from './http/metrics.ts';
import { RateLimiter } from './http/rate-limit.ts';
import { registerSystemRoutes } from './http/system/system.routes.ts';
import { registerUsersRoutes } from './http/users/users.routes.ts';
import { ShutdownRegistry } from './shutdown.ts';
import { VERSION } from '../version.ts';
import { ClusterNodes } from '../core/cluster/cluster-nodes.ts';
import { checkMasterKey } from '../core/secrets/master-key-check.ts';
import { registerClusterRoutes } from './http/cluster/cluster.routes.ts';
import { AgentsService } from '../core/agents/agents.service.ts';
import { registerAgentsRoutes } from './http/agents/agents.routes.ts';

export interface RunningServer {
  services: { sessions: SessionsService; ingest: IngestService; secrets: SecretsService; settings: SettingsService; audit: AuditService; control: SessionControl; agents: AgentsService };
  app: FastifyInstance;
  store: Store;
  bus: Bus;
  logger: Logger;
  url: string;
  /** The SSH proxy's port when this node runs the `ssh` role and listens. */
  sshPort: number | undefined;
  sshHostKeyFingerprint: string;
  /** Set when the bootstrap admin's password was generated (printed once by the CLI). */
  generatedAdminPassword: string | undefined;
  routes: Array<{ method: string; url: string; access: string }>;
  shutdown: ShutdownRegistry;
  close(): Promise<void>;
}

export interface ServerOptions {
  roles?: readonly ServerRole[];
  clock?: Clock;
  logger?: Logger;
  /** Listen on the configured port (false in tests that only inject). */
  listen?: boolean;
  /** Sign-in attempts per client address per minute (default 20). */
  loginAttemptsPerMinute?: number;
  /** This node's id in the cluster (default host-pid-random). */
  nodeId?: string;
  /** A session whose component is silent this long is marked interrupted (default 60 s). */
  heartbeatTimeoutMs?: number;
  /** How often every node looks for interrupted sessions (default 5 s). */
  sweepIntervalMs?: number;
  /** Cluster beat of this node (default 5 s) and the silence after which a node is taken for dead (default 15 s). */
  nodeBeatIntervalMs?: number;
  nodeSilentAfterMs?: number;
  retentionIntervalMs?: number;
  /** Retries of the agents' Bus messages that cannot be stored yet (default 60 × 1 s). */
  agentBusRetry?: { maxAttempts: number; retryDelayMs: number };
}

/** The composition root of `vigil server`: opens adapters, builds services and the HTTP edge. */
export async function startServer(config: Config, opts: ServerOptions = {}): Promise<RunningServer> {
  const clock = opts.clock ?? systemClock;
  const logger = opts.logger ?? createLogger({ level: config.logLevel, component: 'server' });
  const shutdown = new ShutdownRegistry();
  const nodeRoles = opts.roles ?? SERVER_ROLES;
  try {
    const store = await openStore(config);
    shutdown.add('store', () => store.close());
    const bus = await openBus({ busUrl: config.busUrl, logger: logger.child({ component: 'bus' }) });
    shutdown.add('bus', () => bus.close());

    const audit = new AuditService(store, clock);
    const roles = new RolesService(store, clock);
    const users = new UsersService(store, clock);
    const auth = new AuthService(store, users, audit, clock);
    const sshKeys = new SshKeysService(store, clock, parsePublicKey);
    const masterKey = loadMasterKey({ masterKey: config.masterKey, dataDir: config.dataDir });
    const secrets = new SecretsService(store, clock, masterKey, validatePrivateKey);
    const settings = new SettingsService(store, clock, checkWritableDir);
    const nodeId = opts.nodeId ?? `${os.hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
    const blobs = new SettingsBlobStores(store, () => settings.get());
    await checkMasterKey(store, masterKey, clock);
    const clusterNodes = new ClusterNodes(store, clock, { beatIntervalMs: opts.nodeBeatIntervalMs ?? 5_000, silentAfterMs: opts.nodeSilentAfterMs ?? 15_000 });
    await clusterNodes.register({ id: nodeId, roles: nodeRoles, version: VERSION });
    const beating = clusterNodes.startBeating(nodeId, (err) => logger.warn({ err }, 'cluster beat failed (database unreachable?)'));
    // Registered first, so it runs last: the node is marked stopped after its sessions ended.
    shutdown.add('cluster-membership', async () => {
      beating.stop();
      await clusterNodes.markStopped(nodeId);
    });
    const heartbeatTimeoutMs = opts.heartbeatTimeoutMs ?? 60_000;
    const sessions = new SessionsService(store, clock, settings, { heartbeatTimeoutMs, nodeSilentAfterMs: clusterNodes.opts.silentAfterMs });
    const ingest = new IngestService(store, blobs, clock);
    const reader = new RecordingReader(store, blobs);
    const control = new SessionControl(store, bus, sessions, audit, clock);
    const agents = new AgentsService(store, sessions, settings, audit, clock);
    const transcoder = await FfmpegTranscoder.create(config.ffmpeg);
    shutdown.add('ffmpeg', () => transcoder.close());
    const processing = new VideoProcessing({ store, blobs, bus, transcoder, settings, clock, tmpDir: path.join(config.dataDir, 'tmp', 'video'), logger: logger.child({ component: 'video' }) });
    // Desktop recordings are remuxed into a seekable WebM when their session ends for any reason;
    // a failure shows on the session (processing state) and never blocks the end itself.
    sessions.onEnded(async (s) => {
      if (s.media !== 'webm' || s.chunk_count === 0) return;
      processing.finalize(s.id).catch((err: unknown) => logger.warn({ err, session: s.id }, 'finalising the desktop recording failed'));
    });
    // Before the proxy reads it: every node serves the cluster's one host key.
    const proxyHostKey = await syncClusterHostKey(store, masterKey, config.dataDir, clock, (msg) => logger.warn(msg));
    // Terminal recordings get their seek index when the session ends (later on demand if missing).
    const castIndexWorker = new CastIndexWorker((err) => logger.warn({ err }, 'the seek index worker failed; building on the server thread'));
    shutdown.add('cast-index', () => castIndexWorker.close());
    const castIndex = new CastIndexService(store, reader, new RecordingFiles(store, blobs, clock), (read, previous) => castIndexWorker.build(read, previous));
    sessions.onEnded(async (s) => {
      if (s.media !== 'cast' || s.chunk_count === 0) return;
      castIndex.index(s.id).catch((err: unknown) => logger.warn({ err, session: s.id }, 'indexing the terminal recording failed'));
    });
    const sshProxy = nodeRoles.includes('ssh')
      ? new SshProxy({ auth, users, sshKeys, secrets, sessions, ingest, audit, bus, settings, logger: logger.child({ component: 'ssh-proxy' }), clock, nodeId, dataDir: config.dataDir })
      : undefined;
    // Every end (closed, terminated, interrupted) is audited with the chain head, which anchors the
    // recording's hash chain outside the sessions table.
    sessions.onEnded(async (s) => {
      await audit.record({ actor: { id: null, name: 'system' }, action: 'session.end', target: { type: 'session', id: s.id }, details: { status: s.status, reason: s.end_reason, endedBy: s.ended_by, chunks: Number(s.chunk_count), integrity: s.chain_head } });
    });

    await roles.ensureBuiltins();
    const adminRole = await roles.byName('Administrator');
    const generatedAdminPassword = await auth.bootstrapAdmin(config.adminPassword, adminRole!.id);

    const metrics = new HttpMetrics();
    const { app, routes } = await buildApp({
      logger: logger.child({ component: 'http' }),
      auth,
      secureCookies: config.secureCookies,
      trustProxy: config.trustProxy,
      metrics,
      componentAuth: (token, sessionId) => sessions.checkUploadCredential(token, sessionId),
      agentAuth: (token) => agents.authenticate(token),
      routes: [
        (a) => registerSystemRoutes(a, { metrics, version: VERSION }),
        (a) => registerAuthRoutes(a, { auth, users, secureCookies: config.secureCookies, metrics, loginLimiter: new RateLimiter(opts.loginAttemptsPerMinute ?? 20, 60_000) }),
        (a) => registerUsersRoutes(a, { users, roles, sshKeys, audit }),
        (a) => registerAuditRoutes(a, { audit }),
        (a) => registerSecretsRoutes(a, { secrets, audit }),
        (a) => registerSettingsRoutes(a, { settings, audit }),
        (a) => registerSessionsRoutes(a, { store, sessions, secrets, reader, audit, settings }),
        (a) => registerClusterRoutes(a, { nodes: clusterNodes }),
        (a) => registerRecordingIndexRoutes(a, { store, sessions, castIndex, audit }),
        (a) => registerIngestRoutes(a, { ingest, sessions, refinalize: (id) => processing.refinalize(id) }),
        (a) => registerControlRoutes(a, { store, sessions, control, audit }),
        (a) => registerProcessingRoutes(a, { store, processing, audit }),
        (a) => registerWebRoutes(a, { distDir: WEB_DIST_DIR }),
        (a) => registerSshRoutes(a, { hostKey: proxyHostKey, port: config.sshPort }),
        (a) => registerAgentsRoutes(a, { agents, audit, enrollLimiter: new RateLimiter(opts.loginAttemptsPerMinute ?? 20, 60_000) }),
        (a) => registerSearchRoutes(a, { store, search: new SessionSearch(store), activity: new ActivityService(store, clock) }),
      ],
    });
    shutdown.add('http', () => app.close());
    // Registered after http, so it closes first: sessions end and recordings are stored before
    // HTTP, the bus and the store go away.
    if (sshProxy) shutdown.add('ssh-proxy', () => sshProxy.close());
    // Host agents configured for the Bus transport publish their session data to RabbitMQ; the
    // api nodes store it (a memory bus reaches no agent).
    if (bus.kind === 'rabbitmq' && nodeRoles.includes('api')) {
      const busIngest = new BusIngest({ bus, store, ingest, sessions, logger: logger.child({ component: 'agent-bus' }) }, opts.agentBusRetry ?? {});
      await busIngest.start();
      shutdown.add('agent-bus-ingest', () => busIngest.stop());
    }

    // Every node sweeps (cheap, idempotent): sessions of a dead node are interrupted by whichever
    // node survives, whatever its roles.
    const sweep = setInterval(() => {
      // Only a node that is itself in steady contact with the database judges others: after an
      // outage, everyone's beats and heartbeats are late and must be given time to resume.
      const byNode = clusterNodes.steadyFor(clusterNodes.opts.silentAfterMs);
      const byHeartbeat = clusterNodes.steadyFor(heartbeatTimeoutMs);
      if (!byNode && !byHeartbeat) return;
      sessions.sweepInterrupted({ byNode, byHeartbeat }).catch((err: unknown) => logger.error({ err }, 'interrupted-session sweep failed'));
    }, opts.sweepIntervalMs ?? 5_000);
    shutdown.add('interrupted-sweep', () => clearInterval(sweep));
    if (nodeRoles.includes('worker')) {
      const videoWorker = await processing.startWorker();
      shutdown.add('video-worker', () => videoWorker.unsubscribe());
      const retention = new RetentionService({ store, blobs, settings, clock, audit, nodeId, logger: logger.child({ component: 'retention' }) });
      const retentionTimer = retention.start(opts.retentionIntervalMs ?? 3600_000);
      shutdown.add('retention', () => retentionTimer.stop());
    }

    let url = '';
    let sshPort: number | undefined;
    if (opts.listen !== false) {
      url = await app.listen({ host: config.httpHost, port: config.httpPort });
      if (sshProxy) sshPort = await sshProxy.listen(config.sshPort, config.httpHost);
      await clusterNodes.setEndpoints(nodeId, { httpUrl: url, sshPort: sshPort ?? null });
    }
    return {
      app, store, bus, logger, url, sshPort, sshHostKeyFingerprint: proxyHostKey.fingerprint, services: { sessions, ingest, secrets, settings, audit, control, agents }, generatedAdminPassword, routes, shutdown,
      close: () => shutdown.run((name, err) => logger.error({ err, step: name }, 'shutdown step failed')),
    };
  } catch (err) {
    await shutdown.run();
    throw err;
  }
}
