import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

/** The local account the test sshd logs in as (created when missing; tests run as root). */
export const TARGET_USER = 'vigiltarget';
export const TARGET_PASSWORD = 'Target-Pa55-word';

export interface TestSshd {
  port: number;
  user: string;
  password: string;
  /** `ssh-ed25519 AAAA…` of this sshd's host key. */
  hostKey: string;
  /** Home directory of the target user (files land here). */
  home: string;
  dir: string;
  /** Adds a public key line to the target user's authorized keys (for private-key secrets). */
  authorize(publicKeyLine: string): void;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

function ensureTargetUser(): string {
  try {
    execFileSync('id', [TARGET_USER], { stdio: 'ignore' });
  } catch {
    execFileSync('useradd', ['-m', '-s', '/bin/bash', TARGET_USER], { stdio: 'ignore' });
  }
  execFileSync('chpasswd', { input: `${TARGET_USER}:${TARGET_PASSWORD}\n` });
  return execFileSync('getent', ['passwd', TARGET_USER], { encoding: 'utf8' }).split(':')[5]!;
}

async function waitForPort(port: number, child: ChildProcess, stderr: () => string): Promise<void> {
  for (let i = 0; i < 100; i += 1) {
    if (child.exitCode !== null) throw new Error(`sshd exited (${child.exitCode}): ${stderr()}`);
    const open = await new Promise<boolean>((resolve) => {
      const s = net.connect({ port, host: '127.0.0.1' });
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`sshd did not listen on ${port}: ${stderr()}`);
}

/**
 * A real OpenSSH server on a loopback port, with its own host key and config in a temp dir,
 * password and public-key authentication for the `vigiltarget` user, and sftp. Needs root
 * (sshd's privilege separation) and `apt-get install openssh-server`.
 */
export async function startSshd(): Promise<TestSshd> {
  if (!fs.existsSync('/usr/sbin/sshd')) throw new Error('sshd is required for this test: apt-get install -y openssh-server');
  const home = ensureTargetUser();
  fs.mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-sshd-'));
  fs.chmodSync(dir, 0o755);
  const hostKeyFile = path.join(dir, 'host_ed25519');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'vigil-test-target', '-f', hostKeyFile]);
  const authorizedKeys = path.join(dir, 'authorized_keys');
  fs.writeFileSync(authorizedKeys, '', { mode: 0o644 });
  const port = await freePort();
  const config = path.join(dir, 'sshd_config');
  fs.writeFileSync(
    config,
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${hostKeyFile}`,
      `PidFile ${path.join(dir, 'sshd.pid')}`,
      `AuthorizedKeysFile ${authorizedKeys}`,
      'PasswordAuthentication yes',
      'KbdInteractiveAuthentication no',
      'PubkeyAuthentication yes',
      'UsePAM no',
      'StrictModes no',
      'PermitRootLogin no',
      `AllowUsers ${TARGET_USER}`,
      'AcceptEnv LANG LC_* VIGIL_*',
      'Subsystem sftp internal-sftp',
      'PrintMotd no',
      'PrintLastLog no',
      'LogLevel ERROR',
      '',
    ].join('\n'),
  );
  const child = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
  await waitForPort(port, child, () => err);
  return {
    port,
    user: TARGET_USER,
    password: TARGET_PASSWORD,
    hostKey: fs.readFileSync(`${hostKeyFile}.pub`, 'utf8').trim().split(' ').slice(0, 2).join(' '),
    home,
    dir,
    authorize: (line) => fs.appendFileSync(authorizedKeys, `${line.trim()}\n`),
    stop: async () => {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Options every OpenSSH client call in the tests passes: no known_hosts, quiet, no agent. */
export function clientOptions(port: number, flag: '-p' | '-P'): string[] {
  return [flag, String(port), '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR', '-o', 'IdentityAgent=none', '-o', 'ConnectTimeout=10'];
}

export interface ClientResult {
  code: number | null;
  stdout: Buffer;
  stderr: string;
}

/**
 * Runs an OpenSSH client program (ssh, scp, sftp) to completion. With `password`, it runs under
 * sshpass, which answers the password prompt; else the caller passes a key (`-i`) and BatchMode.
 */
export function runClient(program: 'ssh' | 'scp' | 'sftp', args: string[], opts: { password?: string; input?: string; timeoutMs?: number } = {}): Promise<ClientResult> {
  const [cmd, argv] = opts.password !== undefined ? ['sshpass', ['-e', program, ...args]] : [program, args];
  const child = spawn(cmd as string, argv as string[], { env: { ...process.env, SSHPASS: opts.password ?? '' }, stdio: ['pipe', 'pipe', 'pipe'] });
  const out: Buffer[] = [];
  let err = '';
  child.stdout!.on('data', (d: Buffer) => out.push(d));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  child.stdin!.end(opts.input ?? '');
  const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 30_000);
  return new Promise((resolve) => {
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: Buffer.concat(out), stderr: err });
    });
  });
}
