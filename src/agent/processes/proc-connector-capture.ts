import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { UserNames } from '../proc.ts';
import type { ProcessCapture, ProcessEvent } from './capture.ts';
import { monoToWallMs, RecordReader } from './proc-connector-records.ts';

const SOURCE = path.join(path.dirname(fileURLToPath(import.meta.url)), 'proc-connector.c');
const run = promisify(execFile);

/**
 * Builds the proc-connector helper once per source version and `defines` (`cc -O2`, at install or
 * first start) into `<dir>/vigil-proc-connector-<hash>`; returns its path. Throws when no C
 * compiler is present. `defines` are for tests (`VIGIL_SID_FROM_STAT`: a kernel without NSsid).
 */
export async function buildProcConnector(dir: string, { cc = process.env.CC ?? 'cc', defines = [] as string[] } = {}): Promise<string> {
  const src = readFileSync(SOURCE);
  const flags = defines.map((d) => `-D${d}`);
  const bin = path.join(dir, `vigil-proc-connector-${createHash('sha256').update(src).update(flags.join(' ')).digest('hex').slice(0, 12)}`);
  if (existsSync(bin)) return bin;
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const tmp = `${bin}.${process.pid}.tmp`;
  await run(cc, ['-O2', '-Wall', ...flags, '-o', tmp, SOURCE], { timeout: 60_000 });
  renameSync(tmp, bin);
  return bin;
}

/**
 * The kernel's process events through Vigil's own proc-connector helper: each exec arrives with
 * pid, ppid, uid, full path, cwd and arguments read from /proc by the helper in the same instant,
 * and the netlink receive buffer is raised (32 MiB) so bursts are not dropped; overruns are counted.
 */
export class ProcConnectorCapture implements ProcessCapture {
  readonly kind = 'proc-connector' as const;
  readonly tool = 'vigil-proc-connector';
  private child: ChildProcess | undefined;
  private stopping = false;
  lost = 0;

  constructor(private readonly users: UserNames, private readonly binary: () => Promise<string>) {}

  async start(onEvent: (e: ProcessEvent) => void, onFailure: (err: Error) => void): Promise<void> {
    const bin = await this.binary();
    return new Promise((resolve, reject) => {
      const child = spawn(bin, [], { stdio: ['ignore', 'pipe', 'pipe'] });
      this.child = child;
      let started = false;
      let stderr = '';
      child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-500)));
      child.on('error', (err) => (started ? onFailure(err) : reject(err)));
      child.on('exit', (code) => {
        if (this.stopping) return;
        const err = new Error(`vigil-proc-connector exited (${code}): ${stderr.trim().split('\n').pop() ?? ''}`);
        if (started) onFailure(err);
        else reject(err);
      });
      const reader = new RecordReader();
      child.stdout!.on('data', (chunk: Buffer) => {
        // The helper writes a batch about every 250 ms; each event carries the kernel's time.
        // Kernel monotonic µs to wall-clock ms: one offset per batch (monoToWallMs of 0).
        const offsetMs = monoToWallMs(0);
        for (const r of reader.push(chunk)) {
          switch (r.kind) {
            case 'ready':
              if (!started) {
                started = true;
                resolve();
              }
              break;
            case 'fork':
              onEvent(r);
              break;
            case 'exec':
              onEvent({
                kind: 'exec', pid: r.pid, at: Math.round(offsetMs + r.monoUs / 1000), partial: r.exe === null, sid: r.sid,
                info: { pid: r.pid, ppid: r.ppid, name: r.name, path: r.exe, cwd: r.cwd, args: r.args, uid: r.uid, user: r.uid === null ? null : this.users.name(r.uid) },
              });
              break;
            case 'exit':
              onEvent({ kind: 'exit', pid: r.pid, at: Math.round(offsetMs + r.monoUs / 1000), exitCode: r.exitCode });
              break;
            case 'lost':
              this.lost += r.count;
              break;
          }
        }
      });
    });
  }

  async stop(): Promise<void> {
    this.stopping = true;
    const c = this.child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    // 'close': the helper wrote out what it held on SIGTERM and the agent has read all of it.
    await new Promise<void>((resolve) => {
      c.once('close', () => resolve());
      c.kill('SIGTERM');
    });
  }
}
