import pino, { type Logger } from 'pino';

export type { Logger };

/**
 * Paths redacted from every log line: credentials, tokens, keys and keystroke text. Wildcards
 * cover one level of nesting, which is how request bodies and event payloads are logged.
 */
export const REDACT_PATHS = [
  'password', '*.password', 'newPassword', '*.newPassword',
  'privateKey', '*.privateKey', 'passphrase', '*.passphrase',
  'token', '*.token', 'csrfToken', '*.csrfToken', 'secret', '*.secret', 'masterKey', '*.masterKey',
  'keystrokes', '*.keystrokes', 'data', '*.data', 'text', '*.text',
  'req.headers.authorization', 'req.headers.cookie', 'req.headers["x-vigil-csrf"]',
  'headers.authorization', 'headers.cookie', 'res.headers["set-cookie"]',
];

export function createLogger(opts: { level: string; component?: string; destination?: NodeJS.WritableStream }): Logger {
  const logger = pino(
    { level: opts.level, redact: { paths: REDACT_PATHS, censor: '[redacted]' }, base: { pid: process.pid } },
    opts.destination ?? process.stdout,
  );
  return opts.component ? logger.child({ component: opts.component }) : logger;
}
