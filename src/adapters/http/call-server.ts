import http from 'node:http';
import https from 'node:https';

/** What a Vigil server answered to a component's request (launcher, agent). */
export interface ServerAnswer {
  status: number;
  ok: boolean;
  /** The JSON body, or undefined when there is none or it is not JSON. */
  body: unknown;
  text: string;
  /** `{error:{code,message}}` of an error answer, when the body has one. */
  error: { code?: string; message?: string } | undefined;
}

/** The request never got an answer: connection refused, DNS, TLS, timeout. */
export class NoAnswerError extends Error {}

/**
 * Connections are kept open between requests (the agent posts events twice a second); an idle one
 * is let go after 4 s, before a server's usual 5 s keep-alive timeout closes it under a request.
 * node:http rather than fetch: undici's web streams, Headers and AbortSignal cost several times the
 * work of the request itself (measured in the agent benchmark, docs/PERFORMANCE.md).
 */
const agents = { 'http:': new http.Agent({ keepAlive: true, timeout: 4000 }), 'https:': new https.Agent({ keepAlive: true, timeout: 4000 }) };

/** `jsonText`: a JSON body serialised by the caller. */
type Request = { method: string; token?: string | undefined; json?: unknown; jsonText?: string; raw?: Buffer; timeoutMs: number };

/**
 * One HTTP request from a recording component to the server: a JSON body or raw bytes
 * (octet-stream), an optional bearer token, a timeout. Network failures become NoAnswerError; any
 * answer, error statuses included, comes back for the caller to map onto its own errors.
 */
export function callServer(url: URL | string, req: Request): Promise<ServerAnswer> {
  const u = typeof url === 'string' ? new URL(url) : url;
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return Promise.reject(new NoAnswerError(`unsupported protocol ${u.protocol}`));
  const json = req.jsonText ?? (req.json === undefined ? undefined : JSON.stringify(req.json));
  const body = req.raw ?? (json === undefined ? undefined : Buffer.from(json));
  const headers: http.OutgoingHttpHeaders = {
    ...(req.token ? { authorization: `Bearer ${req.token}` } : {}),
    ...(req.raw ? { 'content-type': 'application/octet-stream' } : json !== undefined ? { 'content-type': 'application/json' } : {}),
    ...(body ? { 'content-length': body.length } : {}),
  };
  return exchange(u, req.method, headers, body, Date.now() + req.timeoutMs, true);
}

function exchange(u: URL, method: string, headers: http.OutgoingHttpHeaders, body: Buffer | undefined, deadline: number, mayRetry: boolean): Promise<ServerAnswer> {
  const mod = u.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    let settled = false;
    let answered = false;
    const settle = (f: () => void): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      f();
    };
    const r = mod.request(u, { method, headers, agent: agents[u.protocol as 'http:' | 'https:'] }, (res) => {
      answered = true;
      const parts: Buffer[] = [];
      let broken = false;
      res.on('data', (d: Buffer) => parts.push(d));
      res.on('error', () => (broken = true));
      res.on('close', () => settle(() => {
        // A body cut short reads as empty, as fetch's res.text() failing did.
        const text = broken || !res.complete ? '' : Buffer.concat(parts).toString('utf8');
        let json: unknown;
        try {
          json = text ? JSON.parse(text) : undefined;
        } catch {
          json = undefined;
        }
        const status = res.statusCode ?? 0;
        resolve({ status, ok: status >= 200 && status < 300, body: json, text, error: (json as { error?: { code?: string; message?: string } } | undefined)?.error });
      }));
    });
    // The whole exchange within the time allowed, as fetch with AbortSignal.timeout.
    const timer = setTimeout(() => {
      if (!answered) settle(() => reject(new NoAnswerError('timed out')));
      r.destroy();
    }, Math.max(0, deadline - Date.now()));
    r.on('error', (err: Error & { code?: string }) => {
      if (answered) return; // the response's close settles it
      // A kept-alive connection the server closed just as this request went out: once more on a new one.
      if (mayRetry && r.reusedSocket && err.code === 'ECONNRESET') {
        settle(() => resolve(exchange(u, method, headers, body, deadline, false)));
        return;
      }
      settle(() => reject(new NoAnswerError(err.code ?? err.message)));
    });
    r.end(body);
  });
}
