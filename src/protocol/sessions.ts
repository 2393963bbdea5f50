import { z } from 'zod';

export const SESSION_KINDS = ['ssh', 'desktop', 'host'] as const;
export const SESSION_STATUSES = ['active', 'ended', 'terminated', 'interrupted'] as const;
export const STORAGE_LOCATIONS = ['database', 'share', 'archive', 'deleted'] as const;

/** Activity event types (DESIGN.md). */
export const ACTIVITY_TYPES = [
  'keystrokes', 'command', 'output', 'process-start', 'process-stop', 'window', 'screen-change',
  'login', 'logout', 'file-transfer', 'message', 'terminate', 'port-forward',
] as const;
export type ActivityType = (typeof ACTIVITY_TYPES)[number];

/** Who sent an event; keystrokes from the proxy and from agents are searched as separate sources. */
export const EVENT_SOURCES = ['proxy', 'launcher', 'agent', 'server'] as const;
export type EventSource = (typeof EVENT_SOURCES)[number];

/** Data sources of `GET /sessions?in=`. */
export const SEARCH_SOURCES = ['proxy-keystrokes', 'agent-keystrokes', 'applications', 'output', 'metadata'] as const;
export type SearchSource = (typeof SEARCH_SOURCES)[number];

export const MAX_EVENT_TEXT = 64 * 1024;
export const MAX_EVENTS_PER_BATCH = 5000;
export const MAX_CHUNK_BYTES = 8 * 1024 * 1024;

export const activityEventInput = z
  .object({
    /** Sequence number per session and source, from 0, without gaps. */
    seq: z.number().int().min(0).max(2 ** 31 - 1),
    /** Milliseconds from the session start. */
    at: z.number().int().min(0).max(10 * 365 * 86_400_000),
    type: z.enum(ACTIVITY_TYPES),
    text: z.string().max(MAX_EVENT_TEXT).default(''),
    details: z.record(z.unknown()).optional(),
  })
  .strict();
export type ActivityEventInput = z.output<typeof activityEventInput>;

export const eventBatch = z
  .object({ source: z.enum(['proxy', 'launcher', 'agent']), events: z.array(activityEventInput).min(1).max(MAX_EVENTS_PER_BATCH) })
  .strict();

/** Answer to an event batch or a chunk: what is stored and what the sender must re-send. */
export const ingestAck = z.object({
  accepted: z.number().int(),
  duplicates: z.number().int(),
  /** The next sequence number the server expects (everything below is stored). */
  next: z.number().int(),
  /** Gaps below the highest received sequence number: [from, to] inclusive. */
  missing: z.array(z.tuple([z.number().int(), z.number().int()])),
});
export type IngestAck = z.infer<typeof ingestAck>;

export const sessionView = z.object({
  id: z.string(),
  kind: z.enum(SESSION_KINDS),
  status: z.enum(SESSION_STATUSES),
  user: z.object({ id: z.string().nullable(), name: z.string() }),
  secret: z.object({ id: z.string().nullable(), name: z.string().nullable() }),
  target: z.object({ host: z.string(), user: z.string() }),
  clientAddress: z.string().nullable(),
  component: z.string(),
  startedAt: z.number(),
  endedAt: z.number().nullable(),
  lastActivityAt: z.number(),
  durationMs: z.number().nullable(),
  endReason: z.string().nullable(),
  endedBy: z.string().nullable(),
  recording: z.object({
    video: z.boolean(),
    keystrokes: z.boolean(),
    media: z.enum(['cast', 'webm']).nullable(),
    state: z.string(),
    storage: z.enum(STORAGE_LOCATIONS),
    chunks: z.number(),
    bytes: z.number(),
    integrity: z.string().nullable(),
    mp4: z.boolean(),
    processing: z.object({ state: z.string().nullable(), progress: z.number().nullable(), error: z.string().nullable() }),
  }),
});
export type SessionView = z.infer<typeof sessionView>;

export const searchHit = z.object({ type: z.string(), source: z.string(), snippet: z.string(), at: z.number(), eventId: z.number().nullable() });
export type SearchHit = z.infer<typeof searchHit>;
