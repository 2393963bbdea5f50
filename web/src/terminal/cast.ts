/** An asciicast recording: header size and events with absolute times in milliseconds. */
export interface Cast {
  cols: number;
  rows: number;
  /** Output (`o`) and resize (`r`) events in time order; input and markers are not replayed. */
  events: CastEvent[];
  durationMs: number;
}

export type CastEvent = { at: number; kind: 'o'; data: string } | { at: number; kind: 'r'; cols: number; rows: number };

/**
 * Parses asciicast v2 (absolute times) and v3 (intervals). Lines that are not valid JSON events are
 * skipped: a recording still being written may end in half a line.
 */
export function parseCast(text: string): Cast {
  const lines = text.split('\n');
  const header = parseHeader(lines[0] ?? '');
  const version = Number(header.version ?? 2);
  const term = (header.term ?? {}) as { cols?: unknown; rows?: unknown };
  const cols = Number(header.width ?? term.cols ?? 80) || 80;
  const rows = Number(header.height ?? term.rows ?? 24) || 24;
  const events: CastEvent[] = [];
  let t = 0;
  let last = 0;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (line === '' || line[0] !== '[') continue;
    let ev: unknown;
    try {
      ev = JSON.parse(line);
    } catch {
      continue;
    }
    if (!Array.isArray(ev) || ev.length < 3 || typeof ev[0] !== 'number') continue;
    t = version >= 3 ? t + ev[0] * 1000 : ev[0] * 1000;
    const at = Math.max(last, Math.round(t));
    last = at;
    if (ev[1] === 'o' && typeof ev[2] === 'string') events.push({ at, kind: 'o', data: ev[2] });
    else if (ev[1] === 'r' && typeof ev[2] === 'string') {
      const m = /^(\d+)x(\d+)$/.exec(ev[2]);
      if (m) events.push({ at, kind: 'r', cols: Number(m[1]), rows: Number(m[2]) });
    }
  }
  return { cols, rows, events, durationMs: last };
}

function parseHeader(line: string): Record<string, unknown> {
  try {
    const h: unknown = JSON.parse(line);
    if (h !== null && typeof h === 'object' && !Array.isArray(h)) return h as Record<string, unknown>;
  } catch {
    /* reported below */
  }
  throw new Error('not an asciicast recording (bad header line)');
}
