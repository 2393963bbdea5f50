import { execFile, spawn, type ChildProcess } from 'node:child_process';
import readline from 'node:readline';

/** Runs a small X11 tool and returns its output. */
export function runText(bin: string, args: string[], env: Record<string, string> = {}, timeoutMs = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(bin, args, { timeout: timeoutMs, maxBuffer: 4 << 20, env: { ...process.env, ...env } }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${bin}: ${String(stderr || err.message).trim()}`));
      else resolve(stdout);
    });
  });
}

export interface WindowInfo {
  window: string;
  title: string;
  app: string;
  instance: string;
  pid: number | null;
}

/** Reads title, WM_CLASS and pid of a window (xprop; its strings are C-escaped). */
export async function windowInfo(display: string, window: string): Promise<WindowInfo> {
  const text = await runText('xprop', ['-id', window, '_NET_WM_NAME', 'WM_NAME', 'WM_CLASS', '_NET_WM_PID'], { DISPLAY: display }, 5000);
  const str = (name: string): string[] => {
    const line = text.split('\n').find((l) => l.startsWith(name + '('));
    if (!line || !line.includes('=')) return [];
    return [...line.slice(line.indexOf('=') + 1).matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => unescapeC(m[1]!));
  };
  const title = str('_NET_WM_NAME')[0] ?? str('WM_NAME')[0] ?? '';
  const cls = str('WM_CLASS');
  const pid = /_NET_WM_PID\(CARDINAL\) = (\d+)/.exec(text)?.[1];
  return { window, title, instance: cls[0] ?? '', app: cls[1] ?? cls[0] ?? '', pid: pid ? Number(pid) : null };
}

function unescapeC(s: string): string {
  return s.replace(/\\(["\\])/g, '$1');
}

/**
 * Follows the active window without polling: `xprop -spy` on the root window's
 * `_NET_ACTIVE_WINDOW` (set by EWMH window managers), and on the active window's title, each
 * printing a line per PropertyNotify. `onChange` gets every new active window or title.
 */
export class ActiveWindowWatcher {
  private root: ChildProcess | null = null;
  private titleSpy: ChildProcess | null = null;
  private current: string | null = null;
  private stopped = false;
  private last = '';

  constructor(private readonly display: string, private readonly onChange: (w: WindowInfo) => void, private readonly onError: (msg: string) => void = () => undefined) {}

  start(): void {
    const p = spawn('xprop', ['-root', '-spy', '_NET_ACTIVE_WINDOW'], { env: { ...process.env, DISPLAY: this.display }, stdio: ['ignore', 'pipe', 'pipe'] });
    this.root = p;
    p.on('error', (err) => this.onError(`window tracking is off: ${err.message}`));
    readline.createInterface({ input: p.stdout! }).on('line', (line) => {
      // Lines already read from the pipe still arrive after stop(): following one would start a
      // title spy nobody stops, and that child would keep the launcher from exiting.
      if (this.stopped) return;
      const id = /window id # (0x[0-9a-f]+)/i.exec(line)?.[1];
      if (!id || id === '0x0') return;
      if (id !== this.current) {
        this.current = id;
        this.follow(id);
      }
      void this.report(id);
    });
  }

  private follow(id: string): void {
    this.titleSpy?.kill();
    if (this.stopped) return;
    const t = spawn('xprop', ['-id', id, '-spy', '_NET_WM_NAME', 'WM_NAME'], { env: { ...process.env, DISPLAY: this.display }, stdio: ['ignore', 'pipe', 'ignore'] });
    t.on('error', () => undefined);
    this.titleSpy = t;
    readline.createInterface({ input: t.stdout! }).on('line', () => {
      if (this.current === id) void this.report(id);
    });
  }

  private async report(id: string): Promise<void> {
    try {
      const info = await windowInfo(this.display, id);
      const key = `${info.window}\u0000${info.title}`;
      if (this.stopped || key === this.last || this.current !== id) return;
      this.last = key;
      this.onChange(info);
    } catch {
      // The window closed between the notification and the query.
    }
  }

  stop(): void {
    this.stopped = true;
    this.root?.kill();
    this.titleSpy?.kill();
  }
}

/** WM_CLASS instance of the launcher's own dialogs, so they are not taken for user activity. */
export const DIALOG_INSTANCE = 'vigil-dialog';

/**
 * An alert on the user's display (xmessage from x11-apps): the text goes in on stdin (so any
 * text works, even one starting with a dash); the title carries it too, so the window is
 * recognisable. Returns the process.
 */
export function showDialog(display: string, title: string, text: string, opts: { timeoutSeconds?: number } = {}): ChildProcess | null {
  try {
    const p = spawn('xmessage', ['-name', DIALOG_INSTANCE, '-center', '-title', title.replace(/\s+/g, ' ').slice(0, 200), '-buttons', 'OK:0', '-default', 'OK', '-timeout', String(opts.timeoutSeconds ?? 600), '-file', '-'], {
      env: { ...process.env, DISPLAY: display },
      stdio: ['pipe', 'ignore', 'ignore'],
      detached: true,
    });
    p.on('error', () => undefined);
    p.stdin!.on('error', () => undefined);
    p.stdin!.end(text + '\n');
    p.unref();
    return p;
  } catch {
    return null;
  }
}

/** A rectangle in screen pixels. */
export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

/**
 * The launcher's dialogs' windows, from `xwininfo -root -tree` (absolute position, WM_CLASS
 * instance `vigil-dialog`), widened by `margin` for a window manager's frame.
 */
export function parseDialogWindows(tree: string, margin = 0): Rect[] {
  const out: Rect[] = [];
  for (const line of tree.split('\n')) {
    if (!line.includes(`("${DIALOG_INSTANCE}" `)) continue;
    const m = /(\d+)x(\d+)\+-?\d+\+-?\d+\s+\+(-?\d+)\+(-?\d+)\s*$/.exec(line);
    if (!m) continue;
    const [w, h, x, y] = [Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4])];
    out.push({ x: x - margin, y: y - margin, width: w + 2 * margin, height: h + 2 * margin });
  }
  return out;
}

/**
 * The launcher's own dialogs on the user's display, and where they are: a dialog appearing or
 * going away changes the screen (and moves the focus) without the user doing anything, so those
 * changes must not count as the user's activity — else an inactivity warning would keep an idle
 * session alive. `quiet` is true until a new dialog's window has been found and for `settleMs`
 * after one appears, moves or goes; `mask()` gives the areas of the dialogs shown (and of those
 * gone within `settleMs`), whose screen changes are not the user's. While a dialog is shown its
 * window is read again every `followMs`: a window manager reparents a new window (it sits at
 * +0+0 for a moment) and places it, or the user drags it, and the mask has to follow.
 */
export class OwnDialogs {
  private live = 0;
  private visible: Rect[] = [];
  private recent: Array<{ rect: Rect; until: number }> = [];
  private quietUntil = 0;
  private lookingUntil = 0;
  private focusUntil = 0;
  /**
   * A window manager reports the active window (EWMH): a new dialog takes the focus, and the
   * window that loses it is repainted (its frame's title bar) — quiet until the focus has moved.
   */
  focusFollows = false;
  /** Counts what the dialogs did (shown, found or moved, focused, gone): frames after a change of it are suspect. */
  events = 0;
  private scanning = false;
  private again = false;
  private stopped = false;
  private wake: (() => void) | null = null;

  constructor(
    private readonly display: string,
    private readonly opts: { settleMs?: number; margin?: number; findWithinMs?: number; followMs?: number } = {},
  ) {}

  private get settleMs(): number {
    return this.opts.settleMs ?? 2500;
  }

  show(title: string, text: string, opts: { timeoutSeconds?: number } = {}): void {
    const p = showDialog(this.display, title, text, opts);
    if (!p) return;
    this.live += 1;
    this.events += 1;
    this.quietUntil = Date.now() + this.settleMs;
    this.lookingUntil = Date.now() + (this.opts.findWithinMs ?? 10_000);
    if (this.focusFollows) this.focusUntil = this.lookingUntil;
    let gone = false;
    const went = () => {
      if (gone) return;
      gone = true;
      this.live -= 1;
      this.events += 1;
      this.quietUntil = Date.now() + this.settleMs;
      void this.scan();
    };
    p.on('exit', went);
    p.on('error', went);
    void this.scan();
  }

  /**
   * A dialog took the focus: the window manager repaints around that time (the frames of the
   * window that lost the focus), which is not the user's doing either.
   */
  settle(): void {
    this.events += 1;
    this.focusUntil = 0;
    this.quietUntil = Math.max(this.quietUntil, Date.now() + this.settleMs);
  }

  /** Still waiting for a dialog's window or for it to take the focus, or one appeared or went a moment ago. */
  get quiet(): boolean {
    const now = Date.now();
    return now < this.quietUntil || now < this.focusUntil || (this.visible.length < this.live && now < this.lookingUntil);
  }

  mask(): Rect[] {
    const now = Date.now();
    this.recent = this.recent.filter((r) => r.until > now);
    return [...this.visible, ...this.recent.map((r) => r.rect)];
  }

  stop(): void {
    this.stopped = true;
    this.wake?.();
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wake = null;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wake = done;
    });
  }

  /**
   * Reads the dialogs' windows: again every 250 ms while a shown dialog's window is not found,
   * then every `followMs` while any is shown, and once more when one goes.
   */
  private async scan(): Promise<void> {
    if (this.stopped) return;
    if (this.scanning) {
      this.again = true;
      this.wake?.();
      return;
    }
    this.scanning = true;
    let failures = 0;
    try {
      for (;;) {
        this.again = false;
        const tree = await runText('xwininfo', ['-root', '-tree'], { DISPLAY: this.display }, 5000).catch(() => null);
        // xwininfo fails when a window goes away while it walks the tree — as a closing dialog
        // does: read again rather than keep the old answer (a few times quickly, then at the next turn).
        if (tree === null && !this.stopped && ++failures < 8) {
          await this.pause(100);
          continue;
        }
        if (tree !== null) {
          failures = 0;
          const now = Date.now();
          const found = parseDialogWindows(tree, this.opts.margin ?? 40);
          const key = (r: Rect) => `${r.x},${r.y},${r.width},${r.height}`;
          const still = new Set(found.map(key));
          for (const r of this.visible) if (!still.has(key(r))) this.recent.push({ rect: r, until: now + this.settleMs });
          if (found.some((r) => !this.visible.some((v) => key(v) === key(r)))) {
            this.quietUntil = now + this.settleMs;
            this.events += 1;
          }
          this.visible = found;
        }
        if (this.stopped) break;
        if (!this.again && this.live <= 0) break;
        const looking = this.visible.length < this.live && Date.now() < this.lookingUntil;
        if (!this.again) await this.pause(looking ? 250 : (this.opts.followMs ?? 1000));
      }
    } finally {
      this.scanning = false;
    }
  }
}
