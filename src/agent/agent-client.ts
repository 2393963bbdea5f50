import { callServer, NoAnswerError } from '../adapters/http/call-server.ts';
import type { AgentStatus, AgentSettings, LoginAnswer, LoginReport } from '../protocol/agents.ts';
import type { IngestAck } from '../protocol/sessions.ts';

/** An HTTP failure with the server's error code (`agent-deactivated`, `conflict`, …); `status` 0 = unreachable. */
export class ServerError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

/** The agent's HTTP client: its own credential for `agent` routes, a session's upload credential for ingestion. */
export class AgentClient {
  constructor(readonly server: string, private readonly credential: string, private readonly timeoutMs = 15_000) {}

  static async enroll(server: string, body: { token: string; hostName: string; version: string; addresses: string[] }): Promise<{ agentId: string; credential: string }> {
    return request(server, 'POST', '/api/v1/agents/enroll', undefined, body, 15_000) as Promise<{ agentId: string; credential: string }>;
  }

  heartbeat(body: { hostName: string; version: string; addresses: string[]; status: AgentStatus }): Promise<{ agentId: string; settings: AgentSettings }> {
    return request(this.server, 'POST', '/api/v1/agent/heartbeat', this.credential, body, this.timeoutMs) as Promise<{ agentId: string; settings: AgentSettings }>;
  }

  login(report: LoginReport): Promise<LoginAnswer> {
    return request(this.server, 'POST', '/api/v1/agent/logins', this.credential, report, this.timeoutMs) as Promise<LoginAnswer>;
  }

  /** Activity events, each already serialised as the spool wrote it (one event's JSON per line). */
  eventLines(sessionId: string, token: string, lines: string[]): Promise<IngestAck> {
    return request(this.server, 'POST', `/api/v1/ingest/sessions/${sessionId}/events`, token, new JsonText(`{"source":"agent","events":[${lines.join(',')}]}`), this.timeoutMs) as Promise<IngestAck>;
  }

  chunk(sessionId: string, token: string, seq: number, data: Buffer): Promise<IngestAck> {
    return request(this.server, 'PUT', `/api/v1/ingest/sessions/${sessionId}/chunks/${seq}`, token, data, this.timeoutMs) as Promise<IngestAck>;
  }

  sessionHeartbeat(sessionId: string, token: string): Promise<{ status: string }> {
    return request(this.server, 'POST', `/api/v1/ingest/sessions/${sessionId}/heartbeat`, token, {}, this.timeoutMs) as Promise<{ status: string }>;
  }

  close(sessionId: string, token: string, body: { status: 'ended' | 'terminated'; reason: string }): Promise<{ status: string }> {
    return request(this.server, 'POST', `/api/v1/ingest/sessions/${sessionId}/close`, token, body, this.timeoutMs) as Promise<{ status: string }>;
  }
}

/** A request body that is JSON text already. */
class JsonText {
  constructor(readonly jsonText: string) {}
}

async function request(server: string, method: string, p: string, token: string | undefined, body: unknown, timeoutMs: number): Promise<unknown> {
  const binary = Buffer.isBuffer(body);
  const text = body instanceof JsonText ? body.jsonText : undefined;
  let res;
  try {
    res = await callServer(new URL(p, server), { method, token, ...(binary ? { raw: body } : text !== undefined ? { jsonText: text } : { json: body }), timeoutMs });
  } catch (err) {
    if (err instanceof NoAnswerError) throw new ServerError(0, 'unreachable', `cannot reach ${server}: ${err.message}`);
    throw err;
  }
  if (!res.ok) throw new ServerError(res.status, res.error?.code ?? 'http-error', `${method} ${p}: ${res.status} ${res.error?.message ?? res.text.slice(0, 200)}`);
  return res.body;
}
