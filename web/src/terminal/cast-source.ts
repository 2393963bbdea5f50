import { castIndex, parseCastEvents, type CastEvent, type CastIndex } from '../../../src/protocol/cast-index.ts';
import { recordingUrl } from '../sessions-api.ts';

/** Segments kept in memory (each at most ~64 KiB of output): enough to seek back and forth nearby. */
const CACHE = 24;

/**
 * A terminal recording read through its seek index: the index once, then per keyframe its
 * serialized screen and the cast's events up to the next keyframe, each with one Range request.
 * Opening at any point of an 8-hour recording costs the same as opening at its start.
 */
export class CastSource {
  private readonly segments = new Map<number, Promise<CastEvent[]>>();
  private readonly snapshots = new Map<number, Promise<string>>();
  private lastEventMs: number;

  private constructor(private readonly sessionId: string, readonly index: CastIndex, private readonly signal: AbortSignal | undefined) {
    this.lastEventMs = index.durationMs;
  }

  static async open(sessionId: string, signal?: AbortSignal): Promise<CastSource> {
    const res = await fetch(`/api/v1/sessions/${encodeURIComponent(sessionId)}/recording/index`, { credentials: 'same-origin', ...(signal ? { signal } : {}) });
    if (!res.ok) throw new Error(await errorOf(res, 'the recording could not be loaded'));
    return new CastSource(sessionId, castIndex.parse(await res.json()), signal);
  }

  get keyframeCount(): number {
    return this.index.keyframes.length;
  }

  /** The recording's length: the index's, or further when the last segment (still growing) says so. */
  get durationMs(): number {
    return this.lastEventMs;
  }

  /** The last keyframe at or before `ms`. */
  keyframeFor(ms: number): number {
    const k = this.index.keyframes;
    let lo = 0;
    let hi = k.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (k[mid]!.at <= ms) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  keyframeAt(k: number) {
    return this.index.keyframes[k]!;
  }

  /** The screen at keyframe `k`, as escape sequences. */
  snapshot(k: number): Promise<string> {
    const kf = this.keyframeAt(k);
    if (kf.snapshot[1] === 0) return Promise.resolve('');
    return this.cached(this.snapshots, k, () => this.range(`/api/v1/sessions/${encodeURIComponent(this.sessionId)}/recording/keyframes`, kf.snapshot[0], kf.snapshot[0] + kf.snapshot[1] - 1));
  }

  /** The events after keyframe `k` up to the next one (the last segment runs to the recording's end). */
  segment(k: number): Promise<CastEvent[]> {
    return this.cached(this.segments, k, async () => {
      const kf = this.keyframeAt(k);
      const next = this.index.keyframes[k + 1];
      const text = await this.range(recordingUrl(this.sessionId, 'cast'), kf.offset, next ? next.offset - 1 : null);
      const { events, lastMs } = parseCastEvents(text, this.index.castVersion, kf.at);
      if (!next) this.lastEventMs = Math.max(this.lastEventMs, lastMs);
      return events;
    });
  }

  private cached<T>(map: Map<number, Promise<T>>, k: number, load: () => Promise<T>): Promise<T> {
    let p = map.get(k);
    if (!p) {
      p = load();
      p.catch(() => map.delete(k));
      map.set(k, p);
      if (map.size > CACHE) map.delete(map.keys().next().value!);
    }
    return p;
  }

  private async range(url: string, start: number, end: number | null): Promise<string> {
    if (end !== null && end < start) return '';
    const res = await fetch(url, { credentials: 'same-origin', headers: { range: `bytes=${start}-${end ?? ''}` }, ...(this.signal ? { signal: this.signal } : {}) });
    if (res.status === 416) return ''; // nothing after the last keyframe yet
    if (!res.ok) throw new Error(await errorOf(res, 'a part of the recording could not be loaded'));
    const text = await res.text();
    // A server that ignored the Range sent everything: keep the asked part.
    return res.status === 200 && start > 0 ? new TextDecoder().decode(new TextEncoder().encode(text).subarray(start, end === null ? undefined : end + 1)) : text;
  }
}

async function errorOf(res: Response, fallback: string): Promise<string> {
  const body = (await res.json().catch(() => null)) as { error?: { message?: string } } | null;
  return body?.error?.message ?? `${fallback} (${res.status})`;
}
