import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_SHELL_SOCKET } from '../agent/agent-state.ts';

const RELAY = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'agent', 'session-shell', 'pty-relay.py');

/**
 * `vigil session-shell`: a login shell or sshd ForceCommand. Runs the user's real shell
 * (VIGIL_REAL_SHELL, else bash, else sh) in a pty through the Python relay, which copies the
 * terminal's input and output to the local agent. `-c CMD` and SSH_ORIGINAL_COMMAND are honoured.
 */
export async function runSessionShellCommand(args: string[]): Promise<number> {
  const shell = process.env.VIGIL_REAL_SHELL ?? (existsSync('/bin/bash') ? '/bin/bash' : '/bin/sh');
  const python = process.env.VIGIL_PYTHON ?? (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3');
  const socket = process.env.VIGIL_AGENT_SOCKET ?? DEFAULT_SHELL_SOCKET;
  let shellArgs: string[];
  const c = args.indexOf('-c');
  if (c >= 0) shellArgs = ['-c', args.slice(c + 1).join(' ')];
  else if (process.env.SSH_ORIGINAL_COMMAND) shellArgs = ['-c', process.env.SSH_ORIGINAL_COMMAND];
  else shellArgs = ['-l'];
  const child = spawn(python, [RELAY, socket, shell, ...shellArgs], { stdio: 'inherit' });
  return new Promise((resolve) => {
    child.on('error', (err) => {
      process.stderr.write(`vigil session-shell: cannot start the pty relay (${err.message})\n`);
      resolve(1);
    });
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 + 1 : 1)));
  });
}
