import { SEARCH_SOURCES, type SearchHit, type SearchSource, type SessionView } from '../../src/protocol/sessions.ts';
import { get, post, qs } from './api.ts';

export type SessionItem = SessionView & { hits: SearchHit[] };
export interface SessionPage {
  items: SessionItem[];
  nextCursor: string | null;
}

export interface SearchFilters {
  q: string;
  in: SearchSource[];
  user: string;
  secret: string;
  host: string;
  kind: '' | SessionView['kind'];
  from: number | undefined;
  to: number | undefined;
}

export const searchSessions = (status: 'active' | 'ended', f: SearchFilters, cursor: string | null, signal?: AbortSignal) =>
  get<SessionPage>(
    `/sessions${qs({
      status,
      q: f.q.trim(),
      // Every box ticked (or none) searches everything, including file transfers and messages.
      in: f.in.length > 0 && f.in.length < SEARCH_SOURCES.length && f.q.trim() ? f.in.join(',') : undefined,
      user: f.user.trim(),
      secret: f.secret.trim(),
      host: f.host.trim(),
      kind: f.kind,
      from: f.from,
      to: f.to,
      cursor,
      limit: 50,
    })}`,
    signal,
  );

export const getSession = (id: string, signal?: AbortSignal) => get<SessionView>(`/sessions/${encodeURIComponent(id)}`, signal);
export const sendMessage = (id: string, text: string) => post<unknown>(`/sessions/${encodeURIComponent(id)}/message`, { text });
export const terminateSession = (id: string, message: string) =>
  post<unknown>(`/sessions/${encodeURIComponent(id)}/terminate`, message.trim() ? { message: message.trim() } : {});

/** A row of the activity grid (GET /sessions/{id}/activity). */
export interface ActivityItem {
  id: number;
  at: number;
  type: string;
  source: string;
  text: string;
  details: Record<string, unknown> | null;
  minute?: number;
  parts?: Array<{ id: number; at: number; text: string }>;
  hitAt?: number;
}

export const getActivity = (id: string, p: { q?: string; type?: string; cursor?: string | null; limit?: number }, signal?: AbortSignal) =>
  get<{ items: ActivityItem[]; nextCursor: string | null }>(`/sessions/${encodeURIComponent(id)}/activity${qs({ q: p.q, type: p.type, cursor: p.cursor, limit: p.limit ?? 200 })}`, signal);

export interface ActivityMap {
  bucketMs: number;
  durationMs: number;
  series: Record<string, number[]>;
}
export const getActivityMap = (id: string, buckets: number, signal?: AbortSignal) => get<ActivityMap>(`/sessions/${encodeURIComponent(id)}/activity-map?buckets=${buckets}`, signal);

export const requestProcessing = (id: string) => post<{ state: string; progress: number | null }>(`/sessions/${encodeURIComponent(id)}/processing`, {});

export const recordingUrl = (id: string, format: 'cast' | 'webm' | 'mp4', download = false) =>
  `/api/v1/sessions/${encodeURIComponent(id)}/recording?format=${format}${download ? '&download=1' : ''}`;
