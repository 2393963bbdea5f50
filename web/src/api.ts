import type { UserView } from '../../src/protocol/identity.ts';

/** An error answer of the API: `{error:{code, message, details:{field}}}` and its status. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field: string | undefined,
  ) {
    super(message);
  }

  /** The message without its `field: ` prefix, for showing next to that field. */
  get fieldMessage(): string {
    return this.field && this.message.startsWith(`${this.field}: `) ? this.message.slice(this.field.length + 2) : this.message;
  }
}

const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
let onUnauthorized: (() => void) | undefined;

/** Called when any request answers 401 (the sign-in expired or was revoked). */
export function setUnauthorizedHandler(fn: () => void): void {
  onUnauthorized = fn;
}

function csrfToken(): string {
  const m = /(?:^|;\s*)vigil_csrf=([^;]*)/.exec(document.cookie);
  return m ? decodeURIComponent(m[1]!) : '';
}

/**
 * Same-origin JSON calls under /api/v1 with the session cookie. State-changing methods echo the
 * `vigil_csrf` cookie in `X-Vigil-CSRF`, as the API requires of cookie sessions.
 */
export async function api<T>(method: string, path: string, body?: unknown, opts: { signal?: AbortSignal } = {}): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (UNSAFE.has(method)) headers['x-vigil-csrf'] = csrfToken();
  const res = await fetch(`/api/v1${path}`, {
    method,
    headers,
    credentials: 'same-origin',
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    ...(opts.signal ? { signal: opts.signal } : {}),
  });
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  if (!res.ok) {
    const err = (parsed as { error?: { code?: string; message?: string; details?: { field?: unknown } } } | undefined)?.error;
    if (res.status === 401 && path !== '/auth/login') onUnauthorized?.();
    const field = typeof err?.details?.field === 'string' ? err.details.field : undefined;
    throw new ApiError(res.status, err?.code ?? 'error', err?.message ?? `${res.status} ${res.statusText}`, field);
  }
  return parsed as T;
}

export const get = <T>(path: string, signal?: AbortSignal): Promise<T> => api<T>('GET', path, undefined, signal ? { signal } : {});
export const post = <T>(path: string, body: unknown = {}): Promise<T> => api<T>('POST', path, body);
export const put = <T>(path: string, body: unknown): Promise<T> => api<T>('PUT', path, body);
export const patch = <T>(path: string, body: unknown): Promise<T> => api<T>('PATCH', path, body);
export const del = (path: string): Promise<void> => api<void>('DELETE', path);

export const login = (username: string, password: string) => post<{ user: UserView }>('/auth/login', { username, password });
export const logout = () => post<void>('/auth/logout');
export const me = () => get<UserView>('/auth/me');

/** A query string from the defined, non-empty values. */
export function qs(params: Record<string, string | number | undefined | null>): string {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') u.set(k, String(v));
  const s = u.toString();
  return s ? `?${s}` : '';
}

export const errorText = (err: unknown): string => (err instanceof Error ? err.message : String(err));
