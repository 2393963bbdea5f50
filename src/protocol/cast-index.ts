import { z } from 'zod';

/**
 * The seek index of a terminal recording (`GET /sessions/{id}/recording/index`): keyframes, each a
 * serialized screen (escape sequences that redraw it) with the byte offset in the asciicast where
 * the events after it begin. A player lands on time T by restoring the last keyframe at or before
 * T and replaying the events from its offset up to T — one keyframe and one Range request of the
 * cast, whatever the recording's length (the approach of Warpgate's recordings, FIELD-NOTES).
 */
export const castKeyframe = z.object({
  /** Time (ms from the start) of the last event the keyframe includes. */
  at: z.number().int().nonnegative(),
  /** Byte offset in the cast of the first event after the keyframe. */
  offset: z.number().int().nonnegative(),
  cols: z.number().int().positive(),
  rows: z.number().int().positive(),
  /** Byte range [start, length] of the serialized screen in `GET …/recording/keyframes`. */
  snapshot: z.tuple([z.number().int().nonnegative(), z.number().int().nonnegative()]),
});
export type CastKeyframe = z.infer<typeof castKeyframe>;

export const castIndex = z.object({
  version: z.literal(1),
  /** asciicast version of the recording: 2 (absolute times) or 3 (intervals). */
  castVersion: z.union([z.literal(2), z.literal(3)]),
  cols: z.number().int().positive(),
  rows: z.number().int().positive(),
  /** Bytes of the cast the index covers (complete lines); a growing recording may have more. */
  size: z.number().int().nonnegative(),
  /** Bytes of the cast read when the index was built (≥ size: a half-written last line is not covered). */
  scanned: z.number().int().nonnegative(),
  durationMs: z.number().int().nonnegative(),
  keyframes: z.array(castKeyframe).min(1),
});
export type CastIndex = z.infer<typeof castIndex>;

/** Output (characters) replayed at most between two keyframes, and the longest time between them. */
export const KEYFRAME_OUTPUT = 64 * 1024;
export const KEYFRAME_INTERVAL_MS = 60_000;

/** What `terminalSnapshot` needs of an xterm.js Terminal and its SerializeAddon (browser or headless). */
interface SnapshotTerminal {
  rows: number;
  buffer: { active: { cursorX: number; cursorY: number } };
}
interface Serializer {
  serialize(opts?: { scrollback?: number }): string;
}

/**
 * The screen as escape sequences that redraw it. The serialize addon leaves out the scroll region
 * (DECSTBM), which full-screen programs rely on, so it is appended from the emulator's state,
 * followed by the cursor position that DECSTBM resets.
 */
export function terminalSnapshot(term: SnapshotTerminal, serializer: Serializer): string {
  let out = serializer.serialize({ scrollback: 0 });
  const core = (term as unknown as { _core?: { buffer?: { scrollTop?: unknown; scrollBottom?: unknown } } })._core?.buffer;
  const top = core?.scrollTop;
  const bottom = core?.scrollBottom;
  if (typeof top === 'number' && typeof bottom === 'number' && (top !== 0 || bottom !== term.rows - 1)) {
    const buf = term.buffer.active;
    out += `\x1b[${top + 1};${bottom + 1}r\x1b[${buf.cursorY + 1};${buf.cursorX + 1}H`;
  }
  return out;
}

export type CastEvent = { at: number; kind: 'o'; data: string } | { at: number; kind: 'r'; cols: number; rows: number };

/**
 * Parses asciicast event lines (no header) into output and resize events with times in ms.
 * `castVersion` 3 has intervals: `baseMs` is the time of the event before the first line.
 * Lines that are not events are skipped (a growing recording may end in half a line).
 */
export function parseCastEvents(text: string, castVersion: number, baseMs = 0): { events: CastEvent[]; lastMs: number } {
  const events: CastEvent[] = [];
  let t = baseMs;
  let last = baseMs;
  for (const line of text.split('\n')) {
    const ev = castLine(line);
    if (!ev) continue;
    t = castVersion >= 3 ? t + ev[0] * 1000 : ev[0] * 1000;
    const at = Math.max(last, Math.round(t));
    last = at;
    if (ev[1] === 'o' && typeof ev[2] === 'string') events.push({ at, kind: 'o', data: ev[2] });
    else if (ev[1] === 'r' && typeof ev[2] === 'string') {
      const m = /^(\d+)x(\d+)$/.exec(ev[2]);
      if (m) events.push({ at, kind: 'r', cols: Number(m[1]), rows: Number(m[2]) });
    }
  }
  return { events, lastMs: last };
}

/** An asciicast event line `[time, code, data]`, or null for anything else (blank, half-written, header). */
export function castLine(line: string): [number, unknown, unknown] | null {
  if (line === '' || line[0] !== '[') return null;
  let ev: unknown;
  try {
    ev = JSON.parse(line);
  } catch {
    return null;
  }
  return Array.isArray(ev) && ev.length >= 3 && typeof ev[0] === 'number' ? [ev[0], ev[1], ev[2]] : null;
}

/** The asciicast header: version and size (v2 `width`/`height`, v3 `term.cols`/`term.rows`). */
export function parseCastHeader(line: string): { castVersion: 2 | 3; cols: number; rows: number } {
  let h: unknown;
  try {
    h = JSON.parse(line);
  } catch {
    h = null;
  }
  if (h === null || typeof h !== 'object' || Array.isArray(h)) throw new Error('not an asciicast recording (bad header line)');
  const header = h as Record<string, unknown>;
  const term = (header.term ?? {}) as { cols?: unknown; rows?: unknown };
  const castVersion = Number(header.version ?? 2) >= 3 ? 3 : 2;
  const cols = Math.min(1000, Number(header.width ?? term.cols ?? 80) || 80);
  const rows = Math.min(500, Number(header.height ?? term.rows ?? 24) || 24);
  return { castVersion, cols, rows };
}
