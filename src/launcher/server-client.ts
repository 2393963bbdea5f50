import { callServer, NoAnswerError } from '../adapters/http/call-server.ts';
import { redeemAnswer, launchAnswer, type RedeemAnswer } from '../protocol/launch.ts';
import { ingestAck, type IngestAck } from '../protocol/sessions.ts';
import { EXIT, LauncherError } from './errors.ts';

/** The server could not be reached (connection refused, DNS, timeout, 5xx from a proxy). */
export class UnreachableError extends Error {}

/** The server answered with an error status. */
export class HttpError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

export interface SecretSummary {
  id: string;
  name: string;
  kind: string;
}

const TIMEOUT_MS = 5000;

/** The launcher's HTTP calls to one Vigil server. `token` is a sign-in/API token or an upload credential. */
export class ServerClient {
  constructor(readonly base: string, private readonly token?: string) {}

  withToken(token: string): ServerClient {
    return new ServerClient(this.base, token);
  }

  async request(method: string, path: string, body?: unknown, opts: { raw?: Buffer; timeoutMs?: number } = {}): Promise<unknown> {
    let res;
    try {
      res = await callServer(this.base + path, { method, token: this.token, json: body, ...(opts.raw ? { raw: opts.raw } : {}), timeoutMs: opts.timeoutMs ?? TIMEOUT_MS });
    } catch (err) {
      if (err instanceof NoAnswerError) throw new UnreachableError(`cannot reach the Vigil server at ${this.base}: ${err.message}`);
      throw err;
    }
    if (res.status === 502 || res.status === 503 || res.status === 504) throw new UnreachableError(`the Vigil server at ${this.base} is unavailable (HTTP ${res.status})`);
    if (!res.ok) throw new HttpError(res.status, res.error?.code ?? 'http', res.error?.message ?? `HTTP ${res.status}`);
    return res.body;
  }

  async login(username: string, password: string): Promise<{ token: string; expiresAt: number }> {
    return (await this.request('POST', '/api/v1/auth/login', { username, password })) as { token: string; expiresAt: number };
  }

  async me(): Promise<{ id: string; username: string }> {
    return (await this.request('GET', '/api/v1/auth/me')) as { id: string; username: string };
  }

  /** The secret by id or by name, among those the caller may launch. */
  async findSecret(nameOrId: string): Promise<SecretSummary> {
    const list = (await this.request('GET', '/api/v1/secrets')) as { items: SecretSummary[] };
    const hit = list.items.find((s) => s.id === nameOrId) ?? list.items.find((s) => s.name === nameOrId);
    if (!hit) throw new LauncherError(EXIT.noPermission, `no secret "${nameOrId}" that you may launch`);
    return hit;
  }

  async launch(secretId: string) {
    return launchAnswer.parse(await this.request('POST', `/api/v1/secrets/${encodeURIComponent(secretId)}/launch`, {}));
  }

  async redeem(grant: string): Promise<RedeemAnswer> {
    return redeemAnswer.parse(await this.request('POST', '/api/v1/launch-grants/redeem', { grant }));
  }

  // Ingestion, with the session's upload credential.
  async putChunk(sessionId: string, seq: number, data: Buffer): Promise<IngestAck> {
    return ingestAck.parse(await this.request('PUT', `/api/v1/ingest/sessions/${sessionId}/chunks/${seq}`, undefined, { raw: data, timeoutMs: 15_000 }));
  }

  async postEvents(sessionId: string, events: unknown[]): Promise<IngestAck> {
    return ingestAck.parse(await this.request('POST', `/api/v1/ingest/sessions/${sessionId}/events`, { source: 'launcher', events }, { timeoutMs: 15_000 }));
  }

  async heartbeat(sessionId: string): Promise<{ status: string }> {
    return (await this.request('POST', `/api/v1/ingest/sessions/${sessionId}/heartbeat`, {})) as { status: string };
  }

  async close(sessionId: string, status: 'ended' | 'terminated', reason?: string, at?: number): Promise<{ status: string }> {
    return (await this.request('POST', `/api/v1/ingest/sessions/${sessionId}/close`, { status, ...(reason ? { reason: reason.slice(0, 1000) } : {}), ...(at !== undefined ? { at: Math.max(0, Math.round(at)) } : {}) }, { timeoutMs: 30_000 })) as { status: string };
  }

  controlUrl(sessionId: string): string {
    return `${this.base.replace(/^http/, 'ws')}/api/v1/ingest/sessions/${sessionId}/control`;
  }

  get authorization(): string | undefined {
    return this.token ? `Bearer ${this.token}` : undefined;
  }
}
