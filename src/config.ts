import path from 'node:path';
import { z } from 'zod';

/** Server roles a node can take (`vigil server --roles api,ssh,worker`). */
export const SERVER_ROLES = ['api', 'ssh', 'worker'] as const;
export type ServerRole = (typeof SERVER_ROLES)[number];

const port = z.coerce.number().int().min(0).max(65535);
const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v));

const schema = z.object({
  VIGIL_DATA_DIR: z.string().min(1).default('./data'),
  VIGIL_HTTP_HOST: z.string().min(1).default('127.0.0.1'),
  VIGIL_HTTP_PORT: port.default(8080),
  VIGIL_SSH_PORT: port.default(2222),
  VIGIL_DATABASE_URL: optionalString.refine((v) => v === undefined || /^postgres(ql)?:\/\//.test(v), {
    message: 'must be a postgres:// URL (leave unset for the embedded SQLite database)',
  }),
  VIGIL_BUS_URL: optionalString.refine((v) => v === undefined || /^amqps?:\/\//.test(v), {
    message: 'must be an amqp:// URL (leave unset for the in-memory bus)',
  }),
  VIGIL_ADMIN_PASSWORD: optionalString.refine((v) => v === undefined || v.length >= 8, {
    message: 'must be at least 8 characters',
  }),
  VIGIL_MASTER_KEY: optionalString.refine((v) => v === undefined || /^[0-9a-fA-F]{64}$/.test(v) || Buffer.from(v, 'base64').length === 32, {
    message: 'must be 32 bytes, as 64 hex digits or base64',
  }),
  VIGIL_FFMPEG: optionalString,
  VIGIL_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  VIGIL_SECURE_COOKIES: z.enum(['true', 'false', '1', '0']).default('false').transform((v) => v === 'true' || v === '1'),
  VIGIL_TRUST_PROXY: z.enum(['true', 'false', '1', '0']).default('false').transform((v) => v === 'true' || v === '1'),
});

export type Config = Readonly<{
  dataDir: string;
  httpHost: string;
  httpPort: number;
  sshPort: number;
  databaseUrl: string | undefined;
  busUrl: string | undefined;
  adminPassword: string | undefined;
  masterKey: string | undefined;
  ffmpeg: string | undefined;
  logLevel: string;
  secureCookies: boolean;
  trustProxy: boolean;
}>;

export class ConfigError extends Error {
  constructor(readonly variable: string, message: string) {
    super(`invalid configuration: ${variable} ${message}`);
  }
}

/** Parses the environment once into a frozen config; throws ConfigError naming the first bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const result = schema.safeParse(env);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new ConfigError(String(issue.path[0]), issue.message.replace(/^Invalid enum value\. /, ''));
  }
  const v = result.data;
  return Object.freeze({
    dataDir: path.resolve(v.VIGIL_DATA_DIR),
    httpHost: v.VIGIL_HTTP_HOST,
    httpPort: v.VIGIL_HTTP_PORT,
    sshPort: v.VIGIL_SSH_PORT,
    databaseUrl: v.VIGIL_DATABASE_URL,
    busUrl: v.VIGIL_BUS_URL,
    adminPassword: v.VIGIL_ADMIN_PASSWORD,
    masterKey: v.VIGIL_MASTER_KEY,
    ffmpeg: v.VIGIL_FFMPEG,
    logLevel: v.VIGIL_LOG_LEVEL,
    secureCookies: v.VIGIL_SECURE_COOKIES,
    trustProxy: v.VIGIL_TRUST_PROXY,
  });
}
