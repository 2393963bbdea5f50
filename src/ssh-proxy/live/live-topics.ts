import { z } from 'zod';

/**
 * Control requests for a session held by the proxy, on `session.<id>.control` (topic names and
 * the sender side: core/sessions/session-control.ts). Unknown fields are ignored.
 */
export const controlMessage = z.discriminatedUnion('type', [
  /** Shown highlighted in the user's terminal; the session goes on. */
  z.object({ type: z.literal('message'), text: z.string().min(1).max(2000), by: z.string().max(200).nullish() }),
  /** Shows the reason, closes every channel and the target connection, ends the session `terminated`. */
  z.object({ type: z.literal('terminate'), reason: z.string().max(2000).nullish(), by: z.string().max(200).nullish() }),
  /** A viewer joined: publish the current screen on the live topic. */
  z.object({ type: z.literal('snapshot-request') }),
]);
export type ControlMessage = z.infer<typeof controlMessage>;

/**
 * What the proxy publishes on `session.<id>.live` for Watch Live. `seq` counts the proxy's
 * messages so a viewer can spot a gap; `at` is ms from the session start.
 */
export type LiveMessage =
  | { type: 'output'; seq: number; at: number; data: string; skipped?: number }
  | { type: 'snapshot'; seq: number; at: number; cols: number; rows: number; data: string }
  | { type: 'end'; seq: number; at: number; status: string; reason: string | null };
