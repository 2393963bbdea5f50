import { randomBytes } from 'node:crypto';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/adapters/log/logger.ts';
import { startServer, type RunningServer, type ServerOptions } from '../../src/server/server.ts';
import { freshPostgresDatabase, tempDir, TEST_BUS_URL } from './stores.ts';

export const ADMIN_PASSWORD = 'admin-password-for-tests';
/** One key for every test server, so a server restarted on the same database can read its secrets. */
export const TEST_MASTER_KEY = randomBytes(32).toString('hex');

export interface Stack {
  name: string;
  start(env?: Record<string, string>): Promise<TestServer>;
}

export interface TestServer {
  server: RunningServer;
  base: string;
  stop(): Promise<void>;
}

/** The two deployments the API suite runs against: embedded, and PostgreSQL + RabbitMQ. */
export const STACKS: Stack[] = [
  { name: 'sqlite+memory', start: (env) => startTestServer({ ...env }) },
  {
    name: 'postgres+rabbitmq',
    start: async (env) => {
      const db = await freshPostgresDatabase();
      const s = await startTestServer({ VIGIL_DATABASE_URL: db.url, VIGIL_BUS_URL: TEST_BUS_URL, ...env });
      return { ...s, stop: async () => { await s.stop(); await db.drop(); } };
    },
  },
];

export async function startTestServer(env: Record<string, string> = {}, opts: ServerOptions = {}): Promise<TestServer> {
  const tmp = tempDir();
  const config = loadConfig({
    VIGIL_DATA_DIR: tmp.dir,
    VIGIL_HTTP_PORT: '0',
    VIGIL_SSH_PORT: '0',
    VIGIL_ADMIN_PASSWORD: ADMIN_PASSWORD,
    VIGIL_MASTER_KEY: TEST_MASTER_KEY,
    VIGIL_LOG_LEVEL: process.env.VIGIL_TEST_LOG_LEVEL ?? 'silent',
    ...env,
  });
  const server = await startServer(config, { logger: createLogger({ level: config.logLevel }), loginAttemptsPerMinute: 10_000, ...opts });
  return {
    server,
    base: server.url,
    stop: async () => {
      await server.close();
      tmp.remove();
    },
  };
}

/** A tiny JSON client that keeps a bearer token. */
export class Api {
  constructor(readonly base: string, public token?: string) {}

  async req(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: any; headers: Headers }> { // eslint-disable-line @typescript-eslint/no-explicit-any
    const res = await fetch(this.base + path, {
      method,
      headers: {
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...(this.token ? { authorization: `Bearer ${this.token}` } : {}),
        ...headers,
      },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      /* not JSON: keep text */
    }
    return { status: res.status, body: parsed, headers: res.headers };
  }

  get = (p: string) => this.req('GET', p);
  post = (p: string, b?: unknown) => this.req('POST', p, b ?? {});
  put = (p: string, b?: unknown) => this.req('PUT', p, b ?? {});
  patch = (p: string, b?: unknown) => this.req('PATCH', p, b ?? {});
  del = (p: string) => this.req('DELETE', p);

  static async login(base: string, username: string, password: string): Promise<Api> {
    const api = new Api(base);
    const res = await api.post('/api/v1/auth/login', { username, password });
    if (res.status !== 200) throw new Error(`login as ${username} failed: ${res.status} ${JSON.stringify(res.body)}`);
    api.token = res.body.token;
    return api;
  }
}

export const uniqueName = (prefix: string) => `${prefix}-${randomBytes(4).toString('hex')}`;
