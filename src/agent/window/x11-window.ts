import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface WindowChange {
  at: number;
  display: string;
  windowId: string;
  title: string;
  app: string | null;
  pid: number | null;
}

export interface WindowWatcher {
  start(onChange: (w: WindowChange) => void): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The active window of an X11 display: `xprop -spy -root _NET_ACTIVE_WINDOW` reports each change
 * (a PropertyNotify on the root window, no polling); the window's title, class and pid are read
 * once per change.
 */
export class X11WindowWatcher implements WindowWatcher {
  private child: ChildProcess | undefined;
  private last = '';

  constructor(private readonly display: string) {}

  start(onChange: (w: WindowChange) => void): Promise<void> {
    return new Promise((resolve, reject) => {
      const env = { ...process.env, DISPLAY: this.display };
      const child = spawn('xprop', ['-spy', '-root', '_NET_ACTIVE_WINDOW'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      this.child = child;
      let ok = false;
      let err = '';
      child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
      child.on('error', (e) => (ok ? undefined : reject(e)));
      child.on('exit', (code) => (ok ? undefined : reject(new Error(`xprop exited ${code}: ${err.trim().slice(0, 200)}`))));
      createInterface({ input: child.stdout! }).on('line', (line) => {
        if (!ok) {
          ok = true;
          resolve();
        }
        const id = /(?:window id # |= )(0x[0-9a-f]+)/i.exec(line)?.[1]; // type WINDOW (a WM) or CARDINAL
        if (!id || id === '0x0' || id === this.last) return;
        this.last = id;
        const at = Date.now();
        execFile('xprop', ['-id', id, '_NET_WM_NAME', 'WM_NAME', '_NET_WM_PID', 'WM_CLASS'], { env, timeout: 2000 }, (e, out) => {
          if (e) return;
          const prop = (name: string): string | undefined => new RegExp(`^${name}\\([^)]*\\) = (.*)$`, 'm').exec(out)?.[1];
          const str = (v: string | undefined): string | null => (v ? (/^"((?:[^"\\]|\\.)*)"/.exec(v)?.[1] ?? null) : null);
          const title = str(prop('_NET_WM_NAME')) ?? str(prop('WM_NAME')) ?? '';
          const cls = prop('WM_CLASS');
          const app = cls ? ([...cls.matchAll(/"([^"]*)"/g)].map((m) => m[1]!).pop() ?? null) : null;
          const pid = Number(prop('_NET_WM_PID'));
          onChange({ at, display: this.display, windowId: id, title, app, pid: Number.isFinite(pid) && pid > 0 ? pid : null });
        });
      });
      // xprop prints the current value at once; a root without the property still prints a line.
      setTimeout(() => {
        if (!ok) {
          ok = true;
          resolve();
        }
      }, 1000).unref();
    });
  }

  stop(): Promise<void> {
    this.child?.kill();
    return Promise.resolve();
  }
}
