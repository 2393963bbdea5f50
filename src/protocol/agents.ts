import { z } from 'zod';

/**
 * The host agent's wire: enrollment, heartbeat (status out, settings back), login reports.
 * Events and media travel through the ingestion routes with the session's upload credential.
 */

export const createEnrollmentTokenBody = z.object({ expiresInMinutes: z.number().int().min(1).max(7 * 24 * 60).default(60) }).strict();
export const enrollmentTokenView = z.object({ id: z.string(), token: z.string(), expiresAt: z.number() });

export const hostName = z.string().trim().min(1).max(255).regex(/^[A-Za-z0-9._-]+$/, 'letters, digits, dot, dash, underscore');

export const enrollBody = z
  .object({ token: z.string().min(10).max(200), hostName, version: z.string().max(64), addresses: z.array(z.string().max(64)).max(64).default([]) })
  .strict();
export const enrollAnswer = z.object({ agentId: z.string(), credential: z.string() });

/** Which kernel interface feeds process events; `proc-polling` misses short-lived processes. */
export const PROCESS_CAPTURE = ['proc-connector', 'proc-polling', 'off'] as const;
export const LOGIN_SOURCES = ['logind', 'proc', 'off'] as const;

export const agentStatus = z
  .object({
    processCapture: z.enum(PROCESS_CAPTURE),
    processCaptureTool: z.string().max(64).nullable().default(null),
    /** Process events the kernel dropped before the capture tool read them. */
    processEventsLost: z.number().int().min(0).default(0),
    processCaptureError: z.string().max(500).nullable().default(null),
    logins: z.enum(LOGIN_SOURCES),
    window: z.enum(['x11', 'off']),
    /** How session data reaches the server: HTTP, or the Bus (RabbitMQ). */
    transport: z.enum(['http', 'bus']).default('http'),
    activeLogins: z.number().int().min(0),
    heldSessions: z.number().int().min(0),
    spool: z.object({ events: z.number().int().min(0), bytes: z.number().int().min(0), dropped: z.number().int().min(0) }).strict(),
    counters: z.object({ processStarts: z.number().int().min(0), processStops: z.number().int().min(0), delivered: z.number().int().min(0) }).strict(),
  })
  .strict();
export type AgentStatus = z.infer<typeof agentStatus>;

export const heartbeatBody = z.object({ hostName, version: z.string().max(64), addresses: z.array(z.string().max(64)).max(64).default([]), status: agentStatus }).strict();

/** The settings an agent applies; sent back on every heartbeat so changes arrive without a restart. */
export const agentSettings = z.object({
  enabled: z.boolean(),
  recordAllSessions: z.boolean(),
  recordKeystrokes: z.boolean(),
  inactivityTimeoutMinutes: z.number(),
  maxSessionMinutes: z.number(),
});
export type AgentSettings = z.infer<typeof agentSettings>;
export const heartbeatAnswer = z.object({ agentId: z.string(), settings: agentSettings });

export const loginReport = z
  .object({
    /** Stable per login across agent restarts. */
    key: z.string().min(1).max(200),
    user: z.string().min(1).max(128),
    tty: z.string().max(64).nullable(),
    display: z.string().max(64).nullable().default(null),
    remoteAddress: z.string().max(64).nullable(),
    remotePort: z.number().int().min(0).max(65535).nullable().default(null),
    startedAt: z.number().int().min(0),
    leaderPid: z.number().int().min(1),
  })
  .strict();
export type LoginReport = z.infer<typeof loginReport>;

export const loginAnswer = z.object({
  session: z
    .object({
      id: z.string(),
      /** The agent opened it (a `host` session): it uploads the terminal recording, heartbeats, enforces limits and closes it. */
      held: z.boolean(),
      uploadToken: z.string(),
      startedAt: z.number(),
      recordKeystrokes: z.boolean(),
      media: z.enum(['cast', 'webm']).nullable(),
    })
    .nullable(),
  /** Why no session: `record-all-off` (nothing launched matched and record-all is off) or `recording-off`. */
  reason: z.string().nullable(),
});
export type LoginAnswer = z.infer<typeof loginAnswer>;

export const agentView = z.object({
  id: z.string(),
  hostName: z.string(),
  version: z.string(),
  state: z.enum(['active', 'deactivated']),
  /** online: heartbeat within 90 s. */
  online: z.boolean(),
  status: agentStatus.nullable(),
  addresses: z.array(z.string()),
  enrolledAt: z.number(),
  lastSeenAt: z.number(),
  deactivatedAt: z.number().nullable(),
  deactivatedBy: z.string().nullable(),
});
export type AgentView = z.infer<typeof agentView>;
