import { spawn, type ChildProcess } from 'node:child_process';
import { until } from './xvfb.ts';

/** A terminal login for tests: `argv` runs as a session leader on a fresh pty (like sshd or getty would start it). */
export const PTY_DRIVER = `
import os, pty, sys, select
pid, fd = pty.fork()
if pid == 0:
    os.execvp(sys.argv[1], sys.argv[1:])
sys.stderr.write('PID %d\\n' % pid); sys.stderr.flush()
while True:
    r, _, _ = select.select([fd, 0], [], [])
    if fd in r:
        try: d = os.read(fd, 65536)
        except OSError: break
        if not d: break
        os.write(1, d)
    if 0 in r:
        d = os.read(0, 65536)
        if not d: break
        os.write(fd, d)
_, st = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(st))
`;

/** `until` (helpers/xvfb.ts) with the 15 s the agent's tests allow by default. */
export const waitFor = <T>(what: string, f: () => Promise<T | undefined | null | false> | T | undefined | null | false, ms = 15_000): Promise<T> => until(what, f, ms);

/** A terminal login (PTY_DRIVER): its leader's pid, what it printed, input and kill. */
export class Terminal {
  out = '';
  pid = 0;
  exited: Promise<number | null>;
  constructor(readonly child: ChildProcess) {
    child.stdout!.on('data', (d: Buffer) => (this.out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => {
      const m = /PID (\d+)/.exec(d.toString());
      if (m) this.pid = Number(m[1]);
    });
    this.exited = new Promise((r) => child.on('exit', (code) => r(code)));
  }
  static async open(argv: string[], env: Record<string, string> = {}): Promise<Terminal> {
    const t = new Terminal(spawn('python3', ['-c', PTY_DRIVER, ...argv], { env: { ...process.env, TERM: 'xterm', PS1: '$ ', ...env }, stdio: ['pipe', 'pipe', 'pipe'] }));
    await waitFor('the terminal', () => t.pid > 0);
    return t;
  }
  write(s: string): void {
    this.child.stdin!.write(s);
  }
  async expect(re: RegExp, ms = 20_000): Promise<void> {
    await waitFor(`terminal output ${re}`, () => re.test(this.out), ms);
  }
  kill(): void {
    try {
      process.kill(this.pid, 'SIGKILL');
    } catch { /* gone */ }
    this.child.kill('SIGKILL');
  }
}
