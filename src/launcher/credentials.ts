import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** Where `vigil login` keeps the server address and token: $XDG_CONFIG_HOME/vigil/credentials.json. */
export function credentialsPath(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CONFIG_HOME && path.isAbsolute(env.XDG_CONFIG_HOME) ? env.XDG_CONFIG_HOME : path.join(env.HOME ?? os.homedir(), '.config');
  return path.join(base, 'vigil', 'credentials.json');
}

export interface StoredCredentials {
  server: string;
  token: string;
  username: string;
}

export function readCredentials(file = credentialsPath()): StoredCredentials | null {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return null;
  }
  try {
    const v = JSON.parse(text) as Partial<StoredCredentials>;
    return typeof v.server === 'string' && typeof v.token === 'string' ? { server: v.server, token: v.token, username: v.username ?? '' } : null;
  } catch {
    return null;
  }
}

/** Written to a 0600 temporary file in a 0700 directory, then renamed: never readable by others. */
export function writeCredentials(c: StoredCredentials, file = credentialsPath()): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  const fd = fs.openSync(tmp, 'w', 0o600);
  try {
    fs.fchmodSync(fd, 0o600);
    fs.writeSync(fd, JSON.stringify(c, null, 2) + '\n');
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
}
