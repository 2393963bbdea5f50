import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import path from 'node:path';
import { readProcess, type UserNames } from '../proc.ts';
import type { ProcessCapture, ProcessEvent } from './capture.ts';

/**
 * The kernel's process events (proc connector, netlink) through Debian's `forkstat`, which needs
 * root. Each exec is completed from /proc at once; a process already gone keeps forkstat's
 * command line and uid (`partial`). Fork lines give the parent for session attribution.
 */
export class ForkstatCapture implements ProcessCapture {
  readonly kind = 'proc-connector' as const;
  readonly tool = 'forkstat';
  readonly lost = 0;
  private child: ChildProcess | undefined;
  private stopping = false;

  constructor(private readonly users: UserNames, private readonly binary = 'forkstat') {}

  start(onEvent: (e: ProcessEvent) => void, onFailure: (err: Error) => void): Promise<void> {
    return new Promise((resolve, reject) => {
      const child = spawn(this.binary, ['-e', 'fork,exec,exit', '-x', '-l'], { stdio: ['ignore', 'pipe', 'pipe'] });
      this.child = child;
      let started = false;
      let stderr = '';
      let pendingParent: number | null = null;
      child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-500)));
      child.on('error', (err) => (started ? onFailure(err) : reject(err)));
      child.on('exit', (code) => {
        if (this.stopping) return;
        const err = new Error(`forkstat exited (${code}): ${stderr.trim().split('\n').pop() ?? ''}`);
        if (started) onFailure(err);
        else reject(err);
      });
      const rl = createInterface({ input: child.stdout! });
      rl.on('line', (line) => {
        if (!started) {
          // The header line says the netlink subscription is live.
          if (line.startsWith('Time')) {
            started = true;
            resolve();
          }
          return;
        }
        const f = line.trim().split(/\s+/);
        const event = f[1];
        const pid = Number(f[2]);
        if (!Number.isFinite(pid)) return;
        const at = Date.now();
        if (event === 'fork') {
          if (f[6] === 'parent') pendingParent = pid;
          else if (f[6] === 'child' && pendingParent !== null) {
            onEvent({ kind: 'fork', pid, ppid: pendingParent });
            pendingParent = null;
          }
        } else if (event === 'exec') {
          const info = readProcess(pid, this.users);
          if (info && info.path === null) {
            // A zombie already: /proc still has uid and ppid, forkstat's line has the command.
            const args = f.slice(6);
            if (args[0]?.startsWith('/')) info.path = args[0];
            if (info.args.length === 0) info.args = args;
          }
          if (info) onEvent({ kind: 'exec', pid, at, info, partial: info.path === null || info.cwd === null });
          else {
            const args = f.slice(6);
            const uidName = f[3] ?? null;
            onEvent({ kind: 'exec', pid, at, partial: true, info: { pid, ppid: 0, name: path.basename(args[0] ?? '?'), path: args[0]?.startsWith('/') ? args[0] : null, cwd: null, args, uid: null, user: uidName } });
          }
        } else if (event === 'exit') {
          const code = Number(f[6]);
          onEvent({ kind: 'exit', pid, at, exitCode: Number.isFinite(code) ? code : null });
        }
      });
    });
  }

  async stop(): Promise<void> {
    this.stopping = true;
    const c = this.child;
    if (!c || c.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      c.once('exit', () => resolve());
      c.kill('SIGTERM');
    });
  }
}
