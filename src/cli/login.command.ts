import { parseArgs } from 'node:util';
import { credentialsPath, writeCredentials } from '../launcher/credentials.ts';
import { EXIT, LauncherError } from '../launcher/errors.ts';
import { HttpError, ServerClient, UnreachableError } from '../launcher/server-client.ts';

const USAGE = 'usage: vigil login --server URL [--username NAME] [--password-stdin | --token TOKEN]\n';

/** Reads one line from stdin, without echo when it is a terminal. */
async function readSecretLine(prompt: string): Promise<string> {
  const stdin = process.stdin;
  if (stdin.isTTY) process.stderr.write(prompt);
  if (stdin.isTTY) stdin.setRawMode(true);
  return new Promise((resolve) => {
    let text = '';
    const onData = (d: Buffer): void => {
      for (const ch of d.toString('utf8')) {
        if (ch === '\n' || ch === '\r' || ch === '\u0004') {
          stdin.off('data', onData);
          if (stdin.isTTY) {
            stdin.setRawMode(false);
            process.stderr.write('\n');
          }
          stdin.pause();
          resolve(text);
          return;
        }
        if (ch === '\u0003') process.exit(130);
        text = ch === '\u007f' ? text.slice(0, -1) : text + ch;
      }
    };
    stdin.on('data', onData);
    stdin.once('end', () => resolve(text));
    stdin.resume();
  });
}

/**
 * `vigil login`: signs in (or checks a given API token) and keeps the server address and token in
 * the user's config directory with mode 0600, for `vigil launch`.
 */
export async function runLoginCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { server: { type: 'string' }, username: { type: 'string' }, token: { type: 'string' }, 'password-stdin': { type: 'boolean' } }, strict: true });
  if (!values.server) {
    process.stderr.write(USAGE);
    return EXIT.usage;
  }
  const server = values.server.replace(/\/+$/, '');
  try {
    let token = values.token ?? process.env.VIGIL_TOKEN;
    if (!token) {
      const username = values.username ?? process.env.USER ?? '';
      if (!username) throw new LauncherError(EXIT.usage, 'give --username');
      const password = values['password-stdin'] || !process.stdin.isTTY ? await readSecretLine('') : await readSecretLine(`Vigil password for ${username}: `);
      token = (await new ServerClient(server).login(username, password)).token;
    }
    const me = await new ServerClient(server, token).me();
    writeCredentials({ server, token, username: me.username });
    process.stderr.write(`vigil: signed in to ${server} as ${me.username}; token kept in ${credentialsPath()}\n`);
    return EXIT.ok;
  } catch (err) {
    const line =
      err instanceof UnreachableError ? [EXIT.serverUnreachable, err.message] as const
      : err instanceof HttpError ? [EXIT.noPermission, `sign-in refused: ${err.message}`] as const
      : err instanceof LauncherError ? [err.exitCode, err.message] as const
      : ([EXIT.failure, err instanceof Error ? err.message : String(err)] as const);
    process.stderr.write(`vigil: ${line[1]}\n`);
    return line[0];
  }
}
