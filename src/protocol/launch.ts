import { z } from 'zod';
import { launcher } from './secrets.ts';
import { sessionRecordingFields } from './settings.ts';
import { sessionView } from './sessions.ts';

/**
 * What the desktop launcher needs from the session-recording settings, handed out with the
 * launch grant (the launcher's upload credential cannot read the settings): codec, limits,
 * fail-closed delay. Read once at redeem; a change applies to the next launch.
 */
export const launchPolicy = z.object({
  videoCodec: sessionRecordingFields.videoCodec,
  inactivityTimeoutMinutes: sessionRecordingFields.inactivityTimeoutMinutes,
  maxSessionMinutes: sessionRecordingFields.maxSessionMinutes,
  failClosedSeconds: z.number().int().min(0),
});
export type LaunchPolicy = z.infer<typeof launchPolicy>;

export const launchAnswer = z.object({ session: sessionView, grant: z.string(), expiresAt: z.number() });

export const targetCredential = z.object({ type: z.enum(['password', 'private-key']), value: z.string(), passphrase: z.string().optional() });
export type TargetCredential = z.infer<typeof targetCredential>;

/** `POST /launch-grants/redeem`. */
export const redeemAnswer = z.object({
  session: sessionView,
  uploadToken: z.string(),
  target: z.object({ host: z.string(), port: z.number(), username: z.string(), credential: targetCredential.nullable() }),
  launcher: launcher.nullable(),
  recording: z.object({ video: z.boolean(), keystrokes: z.boolean() }),
  policy: launchPolicy,
});
export type RedeemAnswer = z.infer<typeof redeemAnswer>;
