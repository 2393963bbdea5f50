import { z } from 'zod';

/**
 * The session-recording settings tab. `PUT /settings/session-recording` takes the whole object
 * (what `GET` returns, edited): every field is required, unknown fields are refused. A partial
 * body is a 400 naming the first missing field, so a script can never reset a setting by omission.
 */

/** Absolute (POSIX `/…`, Windows `C:\…` or UNC `\\server\share`), no `..` segment, no NUL. */
export const absolutePath = z
  .string()
  .trim()
  .min(1)
  .max(4096)
  .superRefine((v, ctx) => {
    const fail = (message: string): void => ctx.addIssue({ code: z.ZodIssueCode.custom, message });
    if (v.includes('\0')) return fail('must not contain NUL');
    if (!/^(\/|[A-Za-z]:[\\/]|\\\\[^\\])/.test(v)) return fail('must be an absolute path');
    if (v.split(/[\\/]/).includes('..')) return fail('must not contain ".." segments');
  });

// An empty form field means "no path".
const optionalPath = z.preprocess((v) => (typeof v === 'string' && v.trim() === '' ? null : v), absolutePath.nullable());

export const sessionRecordingFields = {
  /** Record sessions at all (SSH proxy, launcher, agents). */
  enabled: z.boolean(),
  deleteEnabled: z.boolean(),
  deleteAfterDays: z.number().int().min(1).max(36500),
  /** Move recordings from the database/share to the archive directory after N days. */
  archiveEnabled: z.boolean(),
  archiveAfterDays: z.number().int().min(1).max(36500),
  archivePath: optionalPath,
  /** Where new recordings' media goes ("Save videos to"). */
  storage: z.enum(['database', 'directory']),
  storagePath: optionalPath,
  /** The desktop launcher's screen codec (AV1: libaom realtime with screen-content tools). */
  videoCodec: z.enum(['vp8', 'vp9', 'av1']),
  /** Make H.264/MP4 only when someone asks for it (else after every desktop session). */
  onDemandProcessing: z.boolean(),
  processingConcurrency: z.number().int().min(1).max(64),
  /** Minutes without input before a session is ended; 0 = never. */
  inactivityTimeoutMinutes: z.number().int().min(0).max(1440),
  /** Longest a session may last, in minutes; 0 = unlimited. */
  maxSessionMinutes: z.number().int().min(0).max(10080),
  /**
   * Seconds a desktop launcher may go without reaching the server before it stops the launched
   * program (fail closed); the recording keeps spooling and is uploaded when the server returns.
   * 0 = keep the program running. A numeric string is accepted, as HTML forms send one.
   */
  failClosedSeconds: z.preprocess((v) => (typeof v === 'string' && /^\s*\d+\s*$/.test(v) ? Number(v) : v), z.number().int().min(0).max(3600)),
  /** Agents record every login on their host, not only sessions launched through Vigil. */
  recordAllSessions: z.boolean(),
  recordKeystrokes: z.boolean(),
  /**
   * SSH proxy: relay local port forwarding (`ssh -L`, `-W`: direct-tcpip channels) through the
   * target connection. Off by default; each forward, relayed or refused, is a `port-forward` event.
   */
  allowLocalForwarding: z.boolean(),
};

const samePath = (a: string, b: string): boolean => a.replace(/[\\/]+$/, '') === b.replace(/[\\/]+$/, '');

export const sessionRecordingSettings = z
  .object(sessionRecordingFields)
  .strict()
  .superRefine((s, ctx) => {
    const issue = (path: string, message: string): void => ctx.addIssue({ code: z.ZodIssueCode.custom, path: [path], message });
    if (s.archiveEnabled && s.archivePath === null) issue('archivePath', 'is required when moving recordings to disk is enabled');
    if (s.storage === 'directory' && s.storagePath === null) issue('storagePath', 'is required when videos are saved to a directory');
    if (s.deleteEnabled && s.archiveEnabled && s.deleteAfterDays <= s.archiveAfterDays) {
      issue('deleteAfterDays', 'must be greater than archiveAfterDays (recordings are archived before they are deleted)');
    }
    if (s.archiveEnabled && s.storage === 'directory' && s.archivePath !== null && s.storagePath !== null && samePath(s.archivePath, s.storagePath)) {
      issue('archivePath', 'must differ from storagePath');
    }
  });
export type SessionRecordingSettings = z.infer<typeof sessionRecordingSettings>;

/** processingConcurrency here is a floor; the server fills in half its CPU cores. */
export const DEFAULT_SESSION_RECORDING_SETTINGS: Readonly<SessionRecordingSettings> = Object.freeze({
  enabled: true,
  deleteEnabled: false,
  deleteAfterDays: 365,
  archiveEnabled: false,
  archiveAfterDays: 30,
  archivePath: null,
  storage: 'database',
  storagePath: null,
  videoCodec: 'av1',
  onDemandProcessing: true,
  processingConcurrency: 1,
  inactivityTimeoutMinutes: 0,
  maxSessionMinutes: 0,
  failClosedSeconds: 10,
  recordAllSessions: false,
  recordKeystrokes: true,
  allowLocalForwarding: false,
});
