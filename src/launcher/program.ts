import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Launcher } from '../protocol/secrets.ts';
import type { TargetCredential } from '../protocol/launch.ts';
import { EXIT, LauncherError } from './errors.ts';

export interface Target {
  host: string;
  port: number;
  username: string;
  credential: TargetCredential | null;
}

export interface LaunchedProgram {
  child: ChildProcess;
  /** Environment marker every process of the program inherits (see killTree). */
  marker: { name: string; value: string };
  exited: Promise<{ code: number | null; signal: string | null }>;
  /** Removes the private files made for the program (askpass helper, key file). */
  cleanup(): void;
}

export const MARKER = 'VIGIL_SESSION';

const fill = (s: string, t: Target): string => s.replace(/\{(host|port|username)\}/g, (_m, k: 'host' | 'port' | 'username') => String(t[k]));

function onPath(bin: string): boolean {
  if (bin.includes('/')) return fs.existsSync(bin);
  return (process.env.PATH ?? '').split(':').some((d) => d && fs.existsSync(path.join(d, bin)));
}

/**
 * Starts the secret's launcher. The target's password or key never goes on a command line:
 * `process` programs get it in the environment (VIGIL_PASSWORD, or VIGIL_PRIVATE_KEY_FILE naming a
 * 0600 file), `rdp` (xfreerdp /from-stdin) reads it on stdin, `ssh` gets it from an SSH_ASKPASS
 * helper that prints it from the environment.
 */
export function startProgram(launcher: Launcher, target: Target, opts: { display: string; sessionId: string }): LaunchedProgram {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-launch-'));
  fs.chmodSync(dir, 0o700);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DISPLAY: opts.display,
    [MARKER]: opts.sessionId,
    VIGIL_HOST: target.host,
    VIGIL_PORT: String(target.port),
    VIGIL_USERNAME: target.username,
  };
  delete env.VIGIL_TOKEN;
  let stdinText: string | null = null;
  const cred = target.credential;
  if (cred?.type === 'password') env.VIGIL_PASSWORD = cred.value;
  let keyFile: string | null = null;
  if (cred?.type === 'private-key') {
    keyFile = path.join(dir, 'id');
    fs.writeFileSync(keyFile, cred.value.endsWith('\n') ? cred.value : cred.value + '\n', { mode: 0o600 });
    env.VIGIL_PRIVATE_KEY_FILE = keyFile;
    if (cred.passphrase) env.VIGIL_PASSWORD = cred.passphrase;
  }

  let command: string;
  let args: string[];
  switch (launcher.type) {
    case 'process':
      command = fill(launcher.command!, target);
      args = (launcher.args ?? []).map((a) => fill(a, target));
      break;
    case 'rdp': {
      command = launcher.command ? fill(launcher.command, target) : 'xfreerdp';
      args = launcher.args ? launcher.args.map((a) => fill(a, target)) : [`/v:${target.host}:${target.port}`, `/u:${target.username}`, '/cert:tofu', '/from-stdin:force'];
      if (cred?.type === 'password') stdinText = cred.value + '\n';
      break;
    }
    case 'ssh': {
      const terminal = launcher.command ? fill(launcher.command, target) : ['x-terminal-emulator', 'xterm'].find(onPath) ?? 'xterm';
      const askpass = path.join(dir, 'askpass');
      fs.writeFileSync(askpass, '#!/bin/sh\nprintf \'%s\\n\' "$VIGIL_PASSWORD"\n', { mode: 0o700 });
      env.SSH_ASKPASS = askpass;
      env.SSH_ASKPASS_REQUIRE = 'force';
      const ssh = ['ssh', '-p', String(target.port), '-o', 'StrictHostKeyChecking=accept-new', ...(keyFile ? ['-i', keyFile, '-o', 'IdentitiesOnly=yes'] : []), ...(launcher.args ?? []).map((a) => fill(a, target)), `${target.username}@${target.host}`];
      command = terminal;
      args = ['-e', ...ssh];
      break;
    }
  }
  if (!onPath(command)) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw new LauncherError(EXIT.programFailed, `cannot start the ${launcher.type} launcher: "${command}" is not installed or not on PATH`);
  }
  // Its own process group, so the whole program can be signalled at once.
  const child = spawn(command, args, { env, detached: true, stdio: [stdinText === null ? 'ignore' : 'pipe', 'ignore', 'ignore'] });
  if (stdinText !== null) {
    child.stdin!.on('error', () => undefined);
    child.stdin!.end(stdinText);
  }
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => {
    child.on('exit', (code, signal) => resolve({ code, signal }));
    child.on('error', () => resolve({ code: 127, signal: null }));
  });
  return { child, marker: { name: MARKER, value: opts.sessionId }, exited, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}
